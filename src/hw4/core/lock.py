"""One build per checkout and profile at a time.

A build holds an exclusive `flock` on `.doit-<profile>.lock` from the moment doit loads dodo.py
until its process ends. The kernel drops the lock when the process dies, however it dies, so a
killed build never blocks the next one; a lock file left behind is only a file. A second build
waits, saying whose build it waits for: it then finds the first one's outputs and reruns only
what is still out of date, so waiting costs the second build nothing, while stopping it would
make the user run it again. The lock is passed on to the programs the build starts (LaTeX), so
a build killed while they run is not followed by a second writer until they end.
"""
from __future__ import annotations

import fcntl
import os
import shlex
import sys
import time
from pathlib import Path

READ_ONLY = {"list", "info", "help", "dumpdb", "tabcompletion", "--help", "-h", "--version"}  # change nothing
_held: list[int] = []  # the lock's file descriptor, while this process holds it


def needed(args: list[str]) -> bool:
    """Whether the doit command in `args` (doit's own argv) runs, cleans or forgets tasks."""
    return not (args and args[0] in READ_ONLY)


def acquire(lock_file: Path | str) -> None:
    """Hold the lock for the rest of this process, waiting for whoever holds it."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(Path(lock_file))
        print(f"waiting for the build running in this checkout to finish ({holder}, holding "
              f"{lock_file}); press Ctrl-C to stop waiting", file=sys.stderr, flush=True)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except KeyboardInterrupt:
            os.close(fd)
            sys.exit("stopped waiting; this build did nothing")
    os.ftruncate(fd, 0)
    command = shlex.join(["doit", *sys.argv[1:]])
    os.pwrite(fd, f"PID {os.getpid()}, `{command}`, started {time.strftime('%H:%M:%S')}\n".encode(), 0)
    _held[:] = [fd]


def _holder(lock_file: Path, patience: float = 2.0) -> str:
    """Who holds the lock, as its holder wrote it. A build that has just taken the lock writes
    that line a moment later, so an empty file is read again for up to `patience` seconds."""
    deadline = time.monotonic() + patience
    while True:
        text = lock_file.read_text().strip()
        if text or time.monotonic() > deadline:
            return text or "another build"
        time.sleep(0.02)


def held() -> tuple[int, ...]:
    """The lock's file descriptor while this process holds it: `pass_fds` for subprocesses."""
    return tuple(_held)
