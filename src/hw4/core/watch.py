"""`make watch`: rebuild the PDF on every save, for the hours spent writing the answers.

Watches the templates and the bibliography, hw4.toml and the code, and after each save runs
`doit profile=<profile>` as a subprocess, so the build is exactly what `make` would do and the
build lock applies (a `make` in another terminal and the loop wait for each other). Saves that
arrive during a build are gathered by the watcher and make one rebuild after it. Editors'
temporary and swap files are ignored. Each build prints one line; a failed one adds doit's short
report (for LaTeX, the `file:line: message` summary) and the loop goes on. Ctrl-C interrupts a
running build the way it interrupts `make` (doit stops, and no file is left half-written), then
stops the loop.

    python -m hw4.core.watch [--profile quick|full]      (run from the repository root)
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import watchfiles

from hw4.core import config, paths

SOURCES = ("templates/", "src/")  # watched below the repository root, with the files at its top:
TOP = ("hw4.toml", "dodo.py")
SUFFIXES = (".j2", ".bib", ".py", ".toml")


class Sources(watchfiles.DefaultFilter):
    """What the build reads: templates/*.j2 and refs.bib, src/**/*.py, hw4.toml, dodo.py.
    DefaultFilter already drops swap and backup files (.swp, ~, .#name) and __pycache__."""

    ignore_dirs = (*watchfiles.DefaultFilter.ignore_dirs, "results", "figures", "report", "data", "build")

    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def __call__(self, change, path: str) -> bool:
        rel = Path(path).relative_to(self.root).as_posix()
        wanted = rel in TOP or (rel.startswith(SOURCES) and rel.endswith(SUFFIXES))
        return wanted and super().__call__(change, path)


def build(profile: str) -> subprocess.CompletedProcess:
    """One `doit` run. On Ctrl-C the build is interrupted as in a terminal (SIGINT to doit and
    what it started) and allowed to finish stopping before KeyboardInterrupt goes on."""
    proc = subprocess.Popen([sys.executable, "-m", "doit", f"profile={profile}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def reran(stdout: str) -> list[str]:
    """The tasks doit ran (`.  name`), in order."""
    return re.findall(r"^\.  (\S+)", stdout, flags=re.M)


def failure(proc: subprocess.CompletedProcess) -> str:
    """doit's report of what failed (`TaskFailed - taskid:pdf` and the message: for LaTeX, the
    `file:line: message` summary), or what it said on stderr when it stopped before running any
    task (a bad hw4.toml)."""
    lines = proc.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"\w+ - taskid:", line)), None)
    report = lines[start:] if start is not None else proc.stderr.strip().splitlines()[-20:]
    return "\n".join(line for line in report if line.strip() and not line.startswith("####"))


def describe(changes, root: Path) -> str:
    files = sorted({Path(path).relative_to(root).as_posix() for _, path in changes})
    return files[0] if len(files) == 1 else f"{files[0]} and {len(files) - 1} more"


def rebuild(profile: str, why: str) -> bool:
    """Build, and say in one line what happened (plus doit's report when it failed)."""
    print(f"{time.strftime('%H:%M:%S')} {why}: building ... ", end="", flush=True)
    start = time.perf_counter()
    try:
        proc = build(profile)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        raise
    seconds = time.perf_counter() - start
    tasks = reran(proc.stdout)
    if proc.returncode != 0:
        print(f"failed after {seconds:.1f} s\n{failure(proc)}", flush=True)
        return False
    if "pdf" in tasks:
        print(f"{paths.pdf(profile)} updated in {seconds:.1f} s ({', '.join(tasks)})", flush=True)
    else:
        print(f"up to date after {seconds:.1f} s ({', '.join(tasks) or 'nothing reran'})", flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make watch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=config.PROFILES, default="quick")
    profile = parser.parse_args(argv).profile
    root = Path.cwd()
    print(f"watching templates/, src/, hw4.toml and dodo.py; each save rebuilds {paths.pdf(profile)} "
          f"(profile {profile}). Ctrl-C stops.", flush=True)
    try:
        # the first batch comes at once (empty, on the short timeout) and starts the first build:
        # the watcher is on by then, so saves during that build count too
        first = True
        for changes in watchfiles.watch(root, watch_filter=Sources(root), rust_timeout=200,
                                        yield_on_timeout=True):
            if changes or first:
                rebuild(profile, f"{describe(changes, root)} changed" if changes else "start")
            first = False
    except KeyboardInterrupt:
        print("stopped watching", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
