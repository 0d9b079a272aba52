"""`make watch` against `doit` by hand: from a template save to the updated PDF.

Issue 15 asks that after a template edit the loop update the PDF within the time a hand-run
`doit` takes for the same edit, plus at most 1 s. In a copy of this checkout (which must be
built for the profile: the copy takes its results and dependency file), the two are timed
alternately, `--repeat` times each, on the same kind of edit (a line appended to a template):
  doit:  the edit, then `doit profile=<p>` until it exits;
  watch: the loop running and idle, the edit, then the wait until the PDF file changes.

    HW4_DATA_DIR=... .venv/bin/python bench/bench_watch.py [--profile full] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path("templates") / "q4_batchnorm.tex.j2"


def copy_checkout(dest: Path) -> Path:
    shutil.copytree(ROOT, dest, symlinks=True, ignore=shutil.ignore_patterns(".git", ".venv", "data", "*.lock"))
    return dest


def env(copy: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(copy / "src"), "PYTHONUNBUFFERED": "1"}


def doit(copy: Path, profile: str) -> subprocess.CompletedProcess:
    """A build by hand. In its own session, as the loop starts its builds: on Linux a session is
    a scheduling group (autogroup) with its own share of a busy machine, so a build started
    inside this process's session would get less CPU than the loop's and lose for that alone."""
    return subprocess.run([sys.executable, "-m", "doit", f"profile={profile}"], cwd=copy, env=env(copy),
                          capture_output=True, text=True, start_new_session=True)


def edit(copy: Path, n: int) -> float:
    """Append a line to the template, as an editor's save would; return the time of the save."""
    path = copy / TEMPLATE
    path.write_text(path.read_text() + f"% bench edit {n}\n")
    return time.perf_counter()


def by_hand(copy: Path, profile: str, n: int) -> float:
    start = edit(copy, n)
    proc = doit(copy, profile)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0 and set(re.findall(r"^\.  (\S+)", proc.stdout, flags=re.M)) == {"render", "pdf"}, \
        proc.stdout[-2000:]
    return seconds


def watched(copy: Path, profile: str, n: int, pdf: Path) -> float:
    loop = subprocess.Popen([sys.executable, "-m", "hw4.core.watch", "--profile", profile], cwd=copy, env=env(copy),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(loop.stdout.readline, "")), daemon=True).start()
    try:
        while not any("up to date after" in line for line in lines):  # the loop's first build
            assert loop.poll() is None, "".join(lines)
            time.sleep(0.01)
        time.sleep(0.5)
        before = pdf.stat().st_mtime_ns
        start = edit(copy, n)
        while pdf.stat().st_mtime_ns == before:
            assert loop.poll() is None, "".join(lines)
            time.sleep(0.005)
        return time.perf_counter() - start
    finally:
        loop.send_signal(signal.SIGINT)
        loop.wait(timeout=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick", choices=("quick", "full"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from hw4.core import paths

    with tempfile.TemporaryDirectory() as tmp:
        copy = copy_checkout(Path(tmp) / "hw4")
        reran = re.findall(r"^\.  (\S+)", doit(copy, args.profile).stdout, flags=re.M)
        if any(":" in task for task in reran):
            sys.exit(f"the {args.profile} profile is not built in {ROOT}: build it first "
                     f"(the copy reran {', '.join(reran)})")
        pdf = copy / paths.pdf(args.profile)
        hand, loop = [], []
        for n in range(args.repeat):
            hand.append(by_hand(copy, args.profile, 2 * n))
            loop.append(watched(copy, args.profile, 2 * n + 1, pdf))
            print(f"round {n + 1}: doit by hand {hand[-1]:.2f} s, make watch save to PDF {loop[-1]:.2f} s", flush=True)
    print(f"profile {args.profile}: doit by hand median {statistics.median(hand):.2f} s; make watch median "
          f"{statistics.median(loop):.2f} s; difference of medians {statistics.median(loop) - statistics.median(hand):+.2f} s "
          f"(allowed: +1 s)")


if __name__ == "__main__":
    main()
