"""This machine's float32 matrix-multiply peak: the yardstick of every benchmark's GFLOP/s."""
from __future__ import annotations

import time

import torch


def matmul_peak(n: int = 2048, reps: int = 10) -> float:
    """GFLOP/s of an n x n float32 product at the current torch thread count: the best of `reps`
    after a warm-up, which filters out the other tenants' noise."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9
