"""Every core busy until the build is done, the longest work first.

doit runs tasks in parallel processes (`num_process` in dodo.py), but it starts the tasks that
become ready together (the three GAN experiments, once the classifier is trained) in an order
of its own, and it knows nothing of threads: left to itself it can start the longest
experiment last, or run a two-thread task beside another on two cores. So every task that
computes with a config section passes a gate before it runs: it waits until as many cores as
it uses are free (the section's `cpu_threads`; tasks run on one thread unless their section
says otherwise) and no waiting task has more work ahead of it. A task's work ahead is its own
expected seconds plus the most work ahead of any task that reads its results: the critical
path through it, so the classifier, which every GAN experiment waits for, starts first.
Expected seconds are the task's time in the previous build (its timing file), else its
declared estimate, else a second. Figures, which read results files only, pass no gate.

The order changes only when tasks start, never what they compute: each task's thread count
comes from its config, so its numbers are the same however the build was scheduled.
"""
from __future__ import annotations

import ctypes
import dataclasses
import json
import multiprocessing
import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

SETTLE = 0.3  # seconds for the tasks doit releases together to reach the gate, one by one
GATE: Gate | None = None  # set by dodo.py before doit starts its worker processes, which inherit it


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Gate:
    """Cores shared by doit's worker processes (forked from the process that made the gate):
    a task enters once its cores are free and no waiting task has a higher priority."""

    def __init__(self, total: int, places: int):
        _die_with_parent_after_fork()
        self.total = total
        self._cond = multiprocessing.Condition()
        self._free = multiprocessing.RawValue("i", total)
        self._waiting = multiprocessing.RawArray("d", places)  # priorities of waiting tasks; 0 = a free place
        self._settled = multiprocessing.RawValue("d", 0.0)  # no task enters before this time

    @contextmanager
    def enter(self, threads: int, priority: float):
        threads, priority = min(max(threads, 1), self.total), max(priority, 1e-6)
        with self._cond:
            place = list(self._waiting).index(0.0)
            self._waiting[place] = priority
            self._settled.value = max(self._settled.value, time.time() + SETTLE)
            self._cond.notify_all()  # the others check again: this one may outrank them
            while not (self._free.value >= threads and priority >= max(self._waiting)
                       and time.time() >= self._settled.value):
                settling = self._settled.value - time.time()
                self._cond.wait(settling if settling > 0 else None)  # woken when a task leaves or arrives
            self._waiting[place] = 0.0
            self._free.value -= threads
            self._cond.notify_all()  # the next in line may fit on the cores left
        try:
            yield
        finally:
            with self._cond:
                self._free.value += threads
                self._settled.value = time.time() + SETTLE  # for the tasks doit now releases to arrive
                self._cond.notify_all()


def cores_of(args) -> int:
    """The cores a task computes on: the `cpu_threads` of the config section among its arguments
    (1 if the section does not say); 0 for a task without one (a figure), which passes no gate."""
    return max((getattr(a, "cpu_threads", 1) for a in args if dataclasses.is_dataclass(a)), default=0)


def one_thread_by_default() -> None:
    """Every task computes on one thread unless its config says otherwise (torch.set_num_threads):
    so tasks side by side do not fight over cores, and no number depends on the machine's core
    count. Called before any task imports torch or numpy, whose thread pools read these."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"


def plan(tasks: dict[str, dict]) -> int:
    """Give each computing task (doit task dicts by full name, made by `Build.task`) its priority,
    the work ahead of it; returns how many tasks compute."""
    def expected(task) -> float:
        return previous_seconds(task["actions"][0][2]["timing"]) or (task.get("meta") or {}).get("estimate", 1.0)
    ahead = priorities(tasks, expected)
    computing = [name for name, task in tasks.items() if task["actions"][0][2].get("cores")]
    for name in computing:
        tasks[name]["actions"][0][2]["priority"] = round(ahead[name], 1)
    return len(computing)


def priorities(tasks: dict[str, dict], expected) -> dict[str, float]:
    """Work ahead of each task (task dicts by full name): `expected(task)` seconds plus the most
    work ahead of any task with a file_dep on one of its targets."""
    readers: dict[str, list[str]] = {}
    for name, task in tasks.items():
        for dep in task.get("file_dep", ()):
            readers.setdefault(str(dep), []).append(name)
    ahead: dict[str, float] = {}

    def work(name: str) -> float:
        if name not in ahead:
            after = [work(r) for t in tasks[name].get("targets", ()) for r in readers.get(str(t), ())]
            ahead[name] = expected(tasks[name]) + max(after, default=0.0)
        return ahead[name]
    return {name: work(name) for name in tasks}


def previous_seconds(timing: Path | str) -> float | None:
    """A task's time in the previous build, from its timing file, if there is one."""
    try:
        return float(json.loads(Path(timing).read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


_forking = {"pid": 0}


def _die_with_parent_after_fork() -> None:
    """Every process forked from here on (doit's workers) ends with its parent (Linux): a killed
    build leaves no orphan training on, or waiting forever for work."""
    if sys.platform.startswith("linux") and not _forking["pid"]:
        _forking["pid"] = -1
        os.register_at_fork(before=lambda: _forking.update(pid=os.getpid()), after_in_child=_die_with_parent)


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != _forking["pid"]:
        os._exit(1)  # the parent ended before the signal was set up
