"""Where the experiments run: the GPU when there is one, else the CPU with a chosen thread count."""
from __future__ import annotations

from contextlib import contextmanager

import torch


def pick() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def cpu_threads(n: int):
    """Run with n torch CPU threads, then restore (doit runs tasks in one process).

    Each experiment sets its own count in hw4.toml: the GAN's matrix products split well over
    two cores, while Q1.2's tensors are small (a step is well under a millisecond), so extra
    threads mostly wait on each other and, on a busy machine, make it several times slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
