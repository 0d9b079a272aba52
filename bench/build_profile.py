"""How well a build used the machine, from the timings it recorded (results/<profile>/timings/).

Every task records when it started and ended, how long it waited for cores and the CPU time
it used. Printed: the tasks on a timeline; the build's span from the first task's start to the
last one's end, the CPU utilisation over that span (CPU seconds / (span x cores)), the core-
seconds left idle while tasks were still to come; and the critical path, the longest chain of
tasks each reading the previous one's results, with its length against the span. A span close
to max(critical path, CPU time / cores) means the schedule lost little.

Run it after a build (a cold one for the figures that matter), in the repository root:

    .venv/bin/python bench/build_profile.py [--profile full]
"""
from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def task_graph(profile: str) -> dict[str, dict]:
    """The build's task dicts by full name, as dodo.py makes them for `profile`."""
    from doit import doit_cmd

    doit_cmd.reset_vars()
    doit_cmd.set_var("profile", profile)
    dodo = runpy.run_path(str(ROOT / "dodo.py"))
    tasks = {f"{q}:{t['name']}": t for q, ts in dodo["QUESTIONS"].items() for t in ts}
    for name in ("provenance", "render", "pdf"):
        tasks[name] = dodo[f"task_{name}"]()
    return tasks


def critical_path(tasks: dict[str, dict], seconds: dict[str, float]) -> list[str]:
    """The chain of tasks, each with a file_dep on a target of the one before, whose recorded
    seconds add up to the most."""
    makers = {str(t): name for name, task in tasks.items() for t in task.get("targets", ())}
    best: dict[str, tuple[float, list[str]]] = {}

    def longest(name: str) -> tuple[float, list[str]]:
        if name not in best:
            before = {makers[str(d)] for d in tasks[name].get("file_dep", ()) if str(d) in makers}
            length, chain = max((longest(b) for b in before), default=(0.0, []))
            best[name] = (length + seconds.get(name, 0.0), [*chain, name])
        return best[name]
    return max((longest(n) for n in tasks), key=lambda x: x[0])[1]


def idle_core_seconds(spans: list[tuple[float, float, int]], cores: int, start: float, end: float) -> float:
    """Core-seconds with no task on them between `start` and `end` (tasks as (start, end, cores))."""
    edges = sorted({start, end, *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    idle = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        busy = sum(max(c, 1) for s, e, c in spans if s <= a and e >= b)
        idle += max(cores - busy, 0) * (b - a)
    return idle


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="full")
    ap.add_argument("--cores", type=int, default=0, help="cores of the build machine (0: this machine's)")
    args = ap.parse_args()
    from hw4.core import paths, schedule

    cores = args.cores or schedule.cores()
    timings = {}
    for path in sorted((paths.results(args.profile) / "timings").glob("*.json")):
        record = json.loads(path.read_text())
        if "start" in record:
            timings[path.stem.replace(".", ":")] = record
    if not timings:
        sys.exit(f"no timings with start and end times in {paths.results(args.profile) / 'timings'}; "
                 f"build first (doit profile={args.profile})")
    t0 = min(r["start"] for r in timings.values())
    t1 = max(r["end"] for r in timings.values())
    span = t1 - t0
    print(f"{'task':40s} {'start':>7s} {'end':>7s} {'seconds':>8s} {'waited':>7s} {'cpu s':>7s} cores")
    for name, r in sorted(timings.items(), key=lambda kv: kv[1]["start"]):
        print(f"{name:40s} {r['start'] - t0:7.1f} {r['end'] - t0:7.1f} {r['seconds']:8.1f} "
              f"{r.get('waited', 0):7.1f} {r.get('cpu_seconds', 0):7.1f} {r.get('cores', 0):5d}")
    cpu = sum(r.get("cpu_seconds", 0.0) for r in timings.values())
    spans = [(r["start"], r["end"], r.get("cores", 0)) for r in timings.values()]
    last_start = max(r["start"] for r in timings.values())
    print(f"\nspan (first task's start to last task's end): {span:.1f} s on {cores} cores")
    print(f"CPU time {cpu:.1f} s: utilisation {cpu / (span * cores):.0%} of {cores} cores over the span")
    print(f"core-seconds idle before the last task started: {idle_core_seconds(spans, cores, t0, last_start):.1f}; "
          f"over the whole span: {idle_core_seconds(spans, cores, t0, t1):.1f}")

    tasks = task_graph(args.profile)
    seconds = {name: r["seconds"] for name, r in timings.items()}
    path = critical_path(tasks, seconds)
    length = sum(seconds.get(n, 0.0) for n in path)
    print(f"critical path: {length:.1f} s = " + " -> ".join(f"{n} ({seconds.get(n, 0):.1f})" for n in path))
    bound = max(length, cpu / cores)
    print(f"lower bound max(critical path, CPU time / cores) = max({length:.1f}, {cpu / cores:.1f}) = "
          f"{bound:.1f} s; the span is {span / bound:.2f} times that")


if __name__ == "__main__":
    main()
