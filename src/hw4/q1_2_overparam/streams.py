"""Named random streams: every draw of Q1.2 comes from a generator seeded by (base seed, width or
cell, purpose), so streams are independent, reproducible, and unchanged when others are added."""
from __future__ import annotations

import hashlib

import torch

# Purposes: calibration draws its weights from 2 and samples from 3; the settings and the sweep
# draw weights from their tag and SGD samples from tag + 1 (independent replications); curvature
# checks use tag + 5; Safran & Shamir's cells draw from SAFRAN (weights) and SAFRAN + 1 (Lanczos).
CALIBRATION, SETTINGS, SWEEP, SAFRAN = 2, 10, 20, 30
CURVATURE = 5


def derive_seed(*parts: int) -> int:
    """A seed from integers (base seed, width, purpose), so every stream is independent and named."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:7], "big")


def generator(*parts: int) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(*parts))
