"""Targets as their task wrote them: a changed one reruns its task, a touched one does not."""
import os
from types import SimpleNamespace

from hw4.core.targets import VALUE, Unchanged


def recorded(task) -> dict:
    """What doit saves after the task succeeds: its value savers' output."""
    values = {}
    for saver in task.value_savers:
        values.update(saver())
    return values


def test_a_target_changed_after_its_task_wrote_it_reruns_the_task(tmp_path, capsys):
    out = tmp_path / "r.json"
    out.write_text('{"x": 1}\n')
    task = SimpleNamespace(name="q:derive", targets=[str(out)], value_savers=[])
    check = Unchanged()
    check.configure_task(task)
    values = recorded(task)
    assert set(values[VALUE]) == {str(out)}
    assert check(task, values) is True

    stat = out.stat()
    os.utime(out, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: same bytes
    assert check(task, values) is True

    out.write_text('{"x": 2}\n')  # same size, other content
    assert check(task, values) is False
    assert capsys.readouterr().out == f"note: {out} changed since q:derive wrote it; running q:derive again\n"

    out.write_text('{"x"')  # cut short
    assert check(task, values) is False


def test_no_record_no_opinion_and_missing_targets_are_left_to_doit(tmp_path):
    task = SimpleNamespace(name="t", targets=[str(tmp_path / "gone.json")], value_savers=[])
    check = Unchanged()
    assert check(task, {}) is None  # built before targets were recorded, or forgotten
    assert check(task, {VALUE: {str(tmp_path / "gone.json"): [1, 2, "x"]}}) is True
