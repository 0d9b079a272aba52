"""How doit runs our functions: imported late, timed, and failing with a short message.

dodo.py names each function as 'module:function' so that loading the task graph imports
neither torch nor matplotlib nor sympy, which keeps a no-op `doit` fast.
"""
from __future__ import annotations

import importlib
import resource
import time
from contextlib import nullcontext
from pathlib import Path

from doit.exceptions import TaskFailed

from hw4.core.errors import Hw4Error


def call(target: str, *args, timing: Path | None = None, cores: int = 0, priority: float = 0.0, **kwargs):
    """Run `target` with the given arguments; record its wall time in `timing` (JSON) if given.
    A task that computes (`cores` > 0) first waits at the build's gate for that many cores."""
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
        end = time.time()
    if timing is not None:
        from hw4.core.store import save_json

        save_json(timing, {"function": target, "seconds": round(end - start, 3), "start": round(start, 3),
                           "end": round(end, 3), "waited": round(start - asked, 3),
                           "cpu_seconds": round(_cpu_seconds() - cpu, 3), "cores": cores})
    return None


def _cpu_seconds() -> float:
    """CPU time of this process, its threads and the programs it ran so far (latexmk): a doit
    worker runs one task at a time."""
    own, ran = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ran.ru_utime + ran.ru_stime
