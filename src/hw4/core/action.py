"""How doit runs our functions: imported late, timed, and failing with a short message.

dodo.py names each function as 'module:function' so that loading the task graph imports
neither torch nor matplotlib nor sympy, which keeps a no-op `doit` fast.
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path

from doit.exceptions import TaskFailed

from hw4.core.errors import Hw4Error


def call(target: str, *args, timing: Path | None = None, **kwargs):
    """Run `target` with the given arguments; record its wall time in `timing` (JSON) if given."""
    module, name = target.split(":")
    start = time.perf_counter()
    try:
        function = getattr(importlib.import_module(module), name)
        function(*args, **kwargs)
    except Hw4Error as err:
        return TaskFailed(f"{type(err).__name__}: {err}")
    if timing is not None:
        from hw4.core.store import save_json

        save_json(timing, {"function": target, "seconds": round(time.perf_counter() - start, 3)})
    return None
