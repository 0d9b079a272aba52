"""MNIST as two tensors in memory: images in [-1, 1] (the GAN's tanh range) and labels.

Loading once and indexing a tensor replaces a DataLoader with per-item transforms, which
at batch 100 costs more than the networks themselves on a CPU.
"""
from __future__ import annotations

import os
from pathlib import Path

from hw4.core.errors import DataError

ENV_VAR = "HW4_DATA_DIR"
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def data_dir() -> Path:
    """Where MNIST lives: $HW4_DATA_DIR, else data/ in the repository (doit runs at its root)."""
    return Path(os.environ.get(ENV_VAR) or "data")


def load_mnist(train: bool, root: Path | str | None = None, download: bool = True):
    """(images, labels): float32 (N, 784) scaled to [-1, 1], int64 (N,). Same values as
    ToTensor() then Normalize(0.5, 0.5), computed once for the whole set."""
    from torchvision.datasets import MNIST

    root = Path(root) if root is not None else data_dir()
    try:
        dataset = MNIST(str(root), train=train, download=False)
    except RuntimeError:
        if not download:
            raise DataError(_missing(root, "download disabled")) from None
        try:
            dataset = MNIST(str(root), train=train, download=True)
        except Exception as err:  # offline: urllib errors arrive wrapped in RuntimeError
            reason = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            raise DataError(_missing(root, f"download failed: {reason}")) from None
    images = dataset.data.reshape(len(dataset.data), -1).float().div_(255).sub_(0.5).div_(0.5)
    return images, dataset.targets.long()


def _missing(root: Path, why: str) -> str:
    raw = root / "MNIST" / "raw"
    return (f"MNIST not found in {raw}/ ({why}). Put the four files {', '.join(FILES)} "
            f"(or their .gz archives) in {raw}/, or set {ENV_VAR} to a folder that holds "
            f"MNIST/raw/ with them (e.g. {ENV_VAR}=../shared/data/mnist).")
