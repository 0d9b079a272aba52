"""The build's gate: experiments start the longest work first and never use more cores than there are."""
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from hw4.core import config, schedule

fork = multiprocessing.get_context("fork")


def task(name, deps=(), targets=(), estimate=None, cores=1, timing="/nonexistent/timing.json"):
    return {"name": name, "file_dep": list(deps), "targets": list(targets),
            "actions": [(None, [], {"timing": timing, "cores": cores})],
            "meta": {"estimate": estimate} if estimate else None}


def test_work_ahead_is_the_critical_path_through_a_task():
    tasks = {"classifier": task("classifier", targets=["c.pt"], estimate=10),
             "exp1": task("exp1", deps=["c.pt"], targets=["e1.json"], estimate=300),
             "exp3": task("exp3", deps=["c.pt"], targets=["e3.json"], estimate=600),
             "figure": task("figure", deps=["e1.json", "e3.json"], targets=["f.pdf"], cores=0),
             "calibrate": task("calibrate", targets=["lr.json"], estimate=4),
             "sweep": task("sweep", deps=["lr.json"], estimate=80)}
    ahead = schedule.priorities(tasks, lambda t: (t["meta"] or {}).get("estimate", 1.0))
    assert ahead == {"classifier": 10 + 600 + 1, "exp1": 301, "exp3": 601, "figure": 1,
                     "calibrate": 84, "sweep": 80}
    assert schedule.plan(tasks) == 5  # the figure computes nothing: it passes no gate
    assert tasks["classifier"]["actions"][0][2]["priority"] == 611
    assert "priority" not in tasks["figure"]["actions"][0][2]


def test_the_previous_builds_time_is_the_expected_time(tmp_path):
    timing = tmp_path / "t.json"
    timing.write_text('{"function": "f", "seconds": 42.5}')
    tasks = {"a": task("a", estimate=7, timing=timing), "b": task("b", estimate=7)}
    schedule.plan(tasks)
    assert tasks["a"]["actions"][0][2]["priority"] == 42.5 and tasks["b"]["actions"][0][2]["priority"] == 7


def test_a_task_uses_the_cores_of_its_config_section():
    cfg = config.load(config.CONFIG_FILE, "full")
    assert schedule.cores_of([cfg.classifier, "results/classifier"]) == cfg.classifier.cpu_threads == 2
    assert schedule.cores_of([cfg.minimax, "results/q5_1_minimax"]) == 1  # a section without cpu_threads
    assert schedule.cores_of(["results.json", "figure.pdf"]) == 0  # a figure: no gate


def _enter(gate, priority, cores, delay, hold, log, running, most):
    time.sleep(delay)
    granted = min(cores, gate.total)  # a task asking for more cores than there are gets them all
    with gate.enter(cores, priority):
        with running.get_lock():
            running.value += granted
            most.value = max(most.value, running.value)
        log.put(priority)
        time.sleep(hold)
        with running.get_lock():
            running.value -= granted


def run_at_gate(total, jobs):
    """Start (priority, cores, delay, hold) jobs at a gate of `total` cores; the priorities in the
    order they entered, and the most cores in use at once."""
    gate = schedule.Gate(total, places=len(jobs))
    log, running, most = fork.Queue(), fork.Value("i", 0), fork.Value("i", 0)
    procs = [fork.Process(target=_enter, args=(gate, *job, log, running, most)) for job in jobs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return [log.get() for _ in jobs], most.value


needs_fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="doit's workers are forked")


@needs_fork
def test_tasks_released_together_enter_the_longest_first():
    """Tasks that arrive at a free gate within its settling time enter by priority, not arrival."""
    order, _ = run_at_gate(1, [(1.0, 1, 0.0, 0.1), (600.0, 1, 0.05, 0.1)])
    assert order == [600.0, 1.0]


@needs_fork
def test_waiting_tasks_enter_by_priority():
    blocker = (1000.0, 2, 0.0, 1.5)  # holds both cores while the others arrive
    order, _ = run_at_gate(2, [blocker, *((p, 2, 0.5, 0.1) for p in (1.0, 4.0, 2.0, 5.0, 3.0))])
    assert order == [1000.0, 5.0, 4.0, 3.0, 2.0, 1.0]


@needs_fork
def test_the_gate_never_hands_out_more_cores_than_it_has():
    order, most = run_at_gate(2, [(1.0, 9, 0.0, 0.2), (4.0, 1, 0.0, 0.2), (2.0, 2, 0.0, 0.2),
                                  (5.0, 2, 0.0, 0.2), (3.0, 1, 0.0, 0.2)])
    assert sorted(order) == [1.0, 2.0, 3.0, 4.0, 5.0] and most == 2  # 9 cores asked: both, no more


def _build_with_a_worker(pids):
    """A stand-in for doit: makes the gate, forks a worker that idles, reports both pids."""
    schedule.Gate(1, places=1)
    worker = fork.Process(target=time.sleep, args=(60,))
    worker.start()
    pids.put((os.getpid(), worker.pid))
    time.sleep(60)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_killed_build_takes_its_workers_with_it():
    pids = fork.Queue()
    build = fork.Process(target=_build_with_a_worker, args=(pids,))
    build.start()
    build_pid, worker_pid = pids.get(timeout=30)
    assert _alive(worker_pid)
    os.kill(build_pid, signal.SIGKILL)
    build.join()
    deadline = time.time() + 10
    while _alive(worker_pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(worker_pid)


@needs_fork
def test_tasks_released_when_cores_free_up_go_before_those_already_waiting():
    """A finishing task releases the tasks that read its results: they must get its cores, not a
    task of lower priority that was already waiting when the cores came free."""
    order, _ = run_at_gate(1, [(1000.0, 1, 0.0, 1.0), (1.0, 1, 0.3, 0.1), (600.0, 1, 1.05, 0.1)])
    assert order == [1000.0, 600.0, 1.0]


@needs_fork
def test_a_free_core_is_taken_while_another_task_runs():
    order, most = run_at_gate(2, [(5.0, 1, 0.0, 1.0), (3.0, 1, 0.0, 0.2), (1.0, 1, 0.0, 0.2)])
    assert set(order[:2]) == {5.0, 3.0} and order[2] == 1.0 and most == 2  # 3, then 1, beside 5
