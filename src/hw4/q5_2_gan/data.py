"""MNIST as two tensors in memory: images in [-1, 1] (the GAN's tanh range) and labels.

Loading once and indexing a tensor replaces a DataLoader with per-item transforms, which
at batch 100 costs more than the networks themselves on a CPU. Every file is checked against
its known size and MD5 first, so a damaged copy is named as such, not reported as missing.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from hw4.core.errors import DataError

ENV_VAR = "HW4_DATA_DIR"
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# (bytes, MD5) of each file. The archives' MD5s are torchvision's (MNIST.resources). The other
# values were measured on a copy whose archives match those MD5s: the uncompressed files are
# what the archives decompress to (train-images was checked against the MD5 widely published
# for it, its archive being absent from that copy). An IDX file's size also follows from its
# header: 16 + 784 N bytes for N images, 8 + N for N labels.
KNOWN = {
    "train-images-idx3-ubyte": (47040016, "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte": (60008, "a25bea736e30d166cdddb491f175f624"),
    "t10k-images-idx3-ubyte": (7840016, "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels-idx1-ubyte": (10008, "27ae3e4e09519cfbb04c329615203637"),
    "train-images-idx3-ubyte.gz": (9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train-labels-idx1-ubyte.gz": (28881, "d53e105ee54ea40749a09fcbcd1e9432"),
    "t10k-images-idx3-ubyte.gz": (1648877, "9fb629c4189551a2d022fa330f9573f3"),
    "t10k-labels-idx1-ubyte.gz": (4542, "ec29112dd5afa0611ce80d1b7f02629c"),
}


def data_dir() -> Path:
    """Where MNIST lives: $HW4_DATA_DIR, else data/ in the repository (doit runs at its root)."""
    return Path(os.environ.get(ENV_VAR) or "data")


def raw_dir(root: Path | str | None = None) -> Path:
    return (Path(root) if root is not None else data_dir()) / "MNIST" / "raw"


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check(path: Path) -> dict:
    """{file, bytes, md5} of one MNIST file, after checking both against the known values;
    a damaged file stops with a message naming it, what was expected and what was found."""
    size, expected = KNOWN[path.name]
    found_size = path.stat().st_size
    found = md5(path) if found_size == size else None
    if found_size != size or found != expected:
        what = (f"{found_size} bytes instead of {size}" if found_size != size
                else f"MD5 {found} instead of {expected}")
        raise DataError(f"{path} is damaged: {what} (cut short, or not the MNIST file of that "
                        f"name). Delete it and copy a good one in its place (from a verified copy, "
                        f"or let torchvision download MNIST again when online), then build again")
    return {"file": path.name, "bytes": size, "md5": expected}


def check_files(root: Path | str | None = None, train: bool | None = None) -> list[dict]:
    """Check every MNIST file present in raw/ (those of one split if `train` is given); for the
    provenance record, the checked files' names, sizes and MD5s."""
    split = {True: "train-", False: "t10k-", None: ""}[train]
    names = [n for n in FILES if n.startswith(split)]
    candidates = [raw_dir(root) / n for n in names] + [raw_dir(root) / f"{n}.gz" for n in names]
    return [check(path) for path in candidates if path.is_file()]


def load_mnist(train: bool, root: Path | str | None = None, download: bool = True):
    """(images, labels): float32 (N, 784) scaled to [-1, 1], int64 (N,). Same values as
    ToTensor() then Normalize(0.5, 0.5), computed once for the whole set."""
    from torchvision.datasets import MNIST

    root = Path(root) if root is not None else data_dir()
    check_files(root, train)
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
        check_files(root, train)  # what torchvision extracted or downloaded, before use
    images = dataset.data.reshape(len(dataset.data), -1).float().div_(255).sub_(0.5).div_(0.5)
    return images, dataset.targets.long()


def _missing(root: Path, why: str) -> str:
    raw = raw_dir(root)
    return (f"MNIST not found in {raw}/ ({why}). Put the four files {', '.join(FILES)} "
            f"(or their .gz archives) in {raw}/, or set {ENV_VAR} to a folder that holds "
            f"MNIST/raw/ with them (e.g. {ENV_VAR}=../shared/data/mnist).")
