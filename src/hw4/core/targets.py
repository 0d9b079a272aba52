"""Targets as their task wrote them: doit checks only that a target exists, so a results file
edited, cut short or half-copied afterwards would pass as up to date and break a later step.

`unchanged` is a doit `uptodate` check on every task. When the task succeeds, the size, mtime
and SHA-256 of each of its targets are saved among its doit values; before a later run a target
that no longer matches makes the task rerun, with a one-line note naming the file. A file is
hashed again only when its size or mtime differ from the record, so a no-op build stays fast.
"""
from __future__ import annotations

import hashlib
import os

VALUE = "targets"  # the key in the task's doit values


def stamp(path: str) -> list:
    """[size, mtime_ns, sha256] of a file."""
    stat = os.stat(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return [stat.st_size, stat.st_mtime_ns, digest.hexdigest()]


def differs(path: str, recorded: list) -> bool:
    stat = os.stat(path)
    if [stat.st_size, stat.st_mtime_ns] == recorded[:2]:
        return False
    return stat.st_size != recorded[0] or stamp(path)[2] != recorded[2]


class Unchanged:
    """doit `uptodate`: False when a target differs from what the task last wrote."""

    def configure_task(self, task):
        task.value_savers.append(lambda: {VALUE: {t: stamp(t) for t in task.targets if os.path.isfile(t)}})

    def __call__(self, task, values):
        recorded = values.get(VALUE)
        if recorded is None:
            return None  # never recorded (run before this check existed, or forgotten): no opinion
        for target in task.targets:
            if target in recorded and os.path.isfile(target) and differs(target, recorded[target]):
                print(f"note: {target} changed since {task.name} wrote it; running {task.name} again",
                      flush=True)
                return False
        return True


unchanged = Unchanged()
