"""The build's gate: experiments start the longest work first and never use more cores than there are."""
import multiprocessing
import time

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
    gan = config.load(config.CONFIG_FILE, "full").gan
    assert schedule.cores_of([gan, "exp1", "weights.pt"]) == gan.cpu_threads
    assert schedule.cores_of(["results.json", "figure.pdf"]) == 0


def _enter(gate, priority, cores, delay, log, running, most):
    time.sleep(delay)
    granted = min(cores, gate.total)  # a task asking for more cores than there are gets them all
    with gate.enter(cores, priority):
        with running.get_lock():
            running.value += granted
            most.value = max(most.value, running.value)
        log.put(priority)
        time.sleep(0.2)
        with running.get_lock():
            running.value -= granted


def run_at_gate(total, jobs):
    """Start (priority, cores, delay) jobs at a gate of `total` cores; the priorities in the order they entered."""
    gate = schedule.Gate(total, places=len(jobs))
    log, running, most = fork.Queue(), fork.Value("i", 0), fork.Value("i", 0)
    procs = [fork.Process(target=_enter, args=(gate, p, c, d, log, running, most)) for p, c, d in jobs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return [log.get() for _ in jobs], most.value


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="doit's workers are forked")
def test_tasks_released_together_enter_the_longest_first():
    order, most = run_at_gate(1, [(1.0, 1, 0.0), (300.0, 1, 0.05), (600.0, 1, 0.1), (2.0, 1, 0.0)])
    assert order == [600.0, 300.0, 2.0, 1.0] and most == 1


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="doit's workers are forked")
def test_the_gate_never_hands_out_more_cores_than_it_has():
    order, most = run_at_gate(2, [(5.0, 2, 0.0), (4.0, 1, 0.0), (3.0, 1, 0.0), (2.0, 2, 0.0), (1.0, 9, 0.0)])
    assert order == [5.0, 4.0, 3.0, 2.0, 1.0] and most == 2
