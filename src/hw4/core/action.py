"""How doit runs our functions: imported late, timed, and failing with a short message.

dodo.py names each function as 'module:function' so that loading the task graph imports
neither torch nor matplotlib nor sympy, which keeps a no-op `doit` fast. A problem the user
can fix (an `Hw4Error`, a full disk) ends the task with its message alone; any other exception
keeps its traceback, to which the task, its function and its files are added.
"""
from __future__ import annotations

import errno
import importlib
import resource
import time
from contextlib import nullcontext
from pathlib import Path

from doit.exceptions import TaskFailed

from hw4.core.errors import Hw4Error


def call(target: str, *args, targets, timing: Path | None = None, cores: int = 0, priority: float = 0.0,
         **kwargs):
    """Run `target` with the given arguments; record its wall time in `timing` (JSON) if given.
    A task that computes (`cores` > 0) first waits at the build's gate for that many cores.
    doit passes `targets`, the files the task writes, for the note on an unexpected error."""
    from hw4.core import schedule

    module, name = target.split(":")
    gate = schedule.GATE.enter(cores, priority) if cores and schedule.GATE else nullcontext()
    asked = time.time()
    with gate:
        start, cpu = time.time(), _cpu_seconds()
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
        end = time.time()
    if timing is not None:
        from hw4.core.store import save_json

        save_json(timing, {"function": target, "seconds": round(end - start, 3), "start": round(start, 3),
                           "end": round(end, 3), "waited": round(start - asked, 3),
                           "cpu_seconds": round(_cpu_seconds() - cpu, 3), "cores": cores})
    return None


def where(target: str, files: list[str]) -> str:
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return f"in {target}, which writes {shown or 'no files'}"


def _cpu_seconds() -> float:
    """CPU time of this process, its threads and the programs it ran so far (latexmk): a doit
    worker runs one task at a time."""
    own, ran = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ran.ru_utime + ran.ru_stime
