"""Where the GAN tasks run: the GPU when there is one, else the CPU with a chosen thread count."""
from __future__ import annotations

from contextlib import contextmanager

import torch


def pick() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def cpu_threads(n: int):
    """Run with n torch CPU threads, then restore (doit runs tasks in one process). The GAN's
    matrix products are large enough to share between two cores on a quiet machine; on a
    busy one, a thread waiting for a descheduled partner can cost more than it brings."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
