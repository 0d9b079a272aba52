"""How doit runs our functions: imported late, timed, and failing with a short message.

dodo.py names each function as 'module:function' so that loading the task graph imports
neither torch nor matplotlib nor sympy, which keeps a no-op `doit` fast. A problem the user
can fix (an `Hw4Error`, a full disk) ends the task with its message alone; any other exception
keeps its traceback, to which the task, its function and its files are added.
"""
from __future__ import annotations

import errno
import importlib
import time
from pathlib import Path

from doit.exceptions import TaskFailed

from hw4.core.errors import Hw4Error


def call(target: str, *args, targets, timing: Path | None = None, **kwargs):
    """Run `target` with the given arguments; record its wall time in `timing` (JSON) if given.
    doit passes `targets`, the files the task writes, for the note on an unexpected error."""
    module, name = target.split(":")
    start = time.perf_counter()
    try:
        function = getattr(importlib.import_module(module), name)
        function(*args, **kwargs)
    except Hw4Error as err:
        return TaskFailed(f"{type(err).__name__}: {err}")
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            err.add_note(where(target, targets))
            raise
        return TaskFailed(f"the disk is full ({err.strerror}: {err.filename or ''}); "
                          f"free some space and build again: finished tasks are kept")
    except Exception as err:
        err.add_note(where(target, targets))
        raise
    if timing is not None:
        from hw4.core.store import save_json

        save_json(timing, {"function": target, "seconds": round(time.perf_counter() - start, 3)})
    return None


def where(target: str, files: list[str]) -> str:
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return f"in {target}, which writes {shown or 'no files'}"
