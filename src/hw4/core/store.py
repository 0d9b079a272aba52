"""Atomic writes, so an interrupted run never leaves a half-written result behind, and reads
that say which file is damaged and how to remake it instead of raising a parser's traceback."""
from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing
import os
import re
import signal
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from hw4.core.errors import DamagedFile

KILL_AT = "HW4_KILL_AT"  # fault injection, for tests: see _killed_here
TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # what atomic_path's mkstemp names look like
_moves: Counter = Counter()


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
        _killed_here(path)
        os.replace(tmp, path)
    except Exception as err:
        err.add_note(f"while writing {path}")
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _killed_here(path: Path) -> None:
    """Fault injection: with HW4_KILL_AT="<part of a path>[#n]" the build kills itself (SIGKILL: the
    process, and doit's main process when a parallel build's worker gets there)
    at the n-th (default first) write of a file whose path contains that part, with the new
    content complete in its temporary file and the old file not yet replaced: the worst moment."""
    spec = os.environ.get(KILL_AT)
    if not spec:
        return
    part, _, nth = spec.partition("#")
    if part in str(path):
        _moves[part] += 1
        if _moves[part] == int(nth or 1):
            if multiprocessing.parent_process() is not None:  # a worker of a parallel build: kill the build
                os.kill(os.getppid(), signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)


def remove_temporaries(folder: Path | str, of: str | None = None) -> list[Path]:
    """Delete the temporary files of writes that a killed process never finished (atomic_path's
    `.<name>.<random>.tmp`) under `folder`, or only those of the file named `of` in it.
    Only safe while no other process writes there: the build lock."""
    folder = Path(folder)
    found = folder.glob(f".{of}.*.tmp") if of else folder.rglob(".*.tmp")
    removed = [tmp for tmp in found if TEMPORARY.match(tmp.name) and tmp.is_file()]
    for tmp in removed:
        tmp.unlink(missing_ok=True)
    return removed


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
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DamagedFile(_damaged(path, f"not valid JSON: {err}")) from None


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

    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception as err:  # pickle, zip, torch's own errors, even EINVAL: a damaged file
        raise DamagedFile(_damaged(path, f"not a readable PyTorch file: {_first_line(err)}")) from None


def load_checkpoint(path: Path | str | None):
    """The state saved in a checkpoint, or None when there is none, or when it cannot be read:
    a damaged checkpoint is moved aside to `<name>.corrupt` (a one-line warning says so) and
    the run starts afresh, rather than every later build stopping on it."""
    if not path or not Path(path).exists():
        return None
    try:
        saved = load_torch(path)
        if not isinstance(saved, dict):
            raise DamagedFile(f"{path}: holds a {type(saved).__name__}, not a checkpoint")
        return saved
    except DamagedFile as err:
        aside = Path(path).with_name(Path(path).name + ".corrupt")
        os.replace(path, aside)
        print(f"warning: {str(err).split('; ')[0]}; moved it to {aside} and starting afresh",
              file=sys.stderr)
        return None


def _damaged(path, what: str) -> str:
    return (f"{path}: {what}; it was changed or cut short after the build wrote it. "
            f"Delete it and build again: the task that makes it reruns")


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


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
