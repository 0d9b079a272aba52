"""Atomic writes, so an interrupted run never leaves a half-written result behind."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path | str):
    """Yield a temporary path beside `path`; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are ordinary files
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_json(path: Path | str, obj) -> None:
    """Write JSON atomically; NaN and infinities are refused, since LaTeX cannot show them honestly."""
    text = json.dumps(_plain(obj), indent=2, sort_keys=True, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def save_result(path: Path | str, result: dict, settings) -> None:
    """A task's results file: its data, and under "settings" the settings it ran with (a config
    section, or a dict of them), in the same place in every results file of the build."""
    if dataclasses.is_dataclass(settings):
        settings = dataclasses.asdict(settings)
    if "settings" in result:
        raise ValueError("a result may not hold its own 'settings' key; it is the config it ran with")
    save_json(path, {"settings": settings, **result})


def load_json(path: Path | str):
    return json.loads(Path(path).read_text())


def save_torch(path: Path | str, obj) -> None:
    """Atomically, and the same bytes for the same tensors: saved to a file, torch names the
    archive's folder after the (random) temporary name, so an identical retrained model would
    look changed to everything that digests it (doit, the GAN's checkpoint keys)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def load_torch(path: Path | str):
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)


def _plain(obj):
    """numpy and torch scalars/arrays to plain Python, so results files stay readable JSON."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy / torch
        return _plain(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"refusing to store the non-finite number {obj}; store None and say why")
    return obj
