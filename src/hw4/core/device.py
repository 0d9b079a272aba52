"""Where the experiments run: the GPU when there is one, else the CPU with a chosen thread count."""
from __future__ import annotations

from contextlib import contextmanager

import torch


def pick() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def cpu_threads(n: int):
    """Run with n torch CPU threads, then restore (a doit worker runs task after task).

    Each experiment sets its own count in hw4.toml, and the build's gate (core.schedule) gives it
    that many cores: one per GAN experiment, since experiments side by side on one core each
    outrun one on all cores, and on a busy machine threads that wait on each other can make a
    step many times slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
