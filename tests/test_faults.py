"""Fault injection, end to end: a build killed (SIGKILL) at any moment resumes to the results of
an uninterrupted build, leaves no temporary file behind, and still makes the PDF; two builds
started together never write at once; a results file edited behind the build's back is remade."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import torch

from conftest import copy_of, doit, doit_env, fresh_copy, ran

# Where the build is killed, in the order it gets there: HW4_KILL_AT (core.store) kills it as it
# moves the n-th write of a file whose path holds this part into place (new content complete in
# its temporary file, old file not yet replaced).
KILL_POINTS = [
    "q1_2_overparam/lr.json",                    # the first task's results write
    "q1_2_overparam/sweep_weights.pt",           # a task killed between two of its targets
    "figures/quick/overparam_curves.pdf",        # the figure step
    "timings/q5_1_minimax.derive.json",          # a task's work done, not yet recorded by doit
    "q5_2_gan/classifier/classifier.pt",         # the judge's weights, before its metrics
    "q5_2_gan/exp1/checkpoint.pt#2",             # during training: the second epoch's checkpoint
    "q5_2_gan/exp2/weights.pt",                  # after training, between results writes
    "q5_2_gan/exp3/checkpoint.pt#3",             # during training: resumes from epoch 2 of 4
    "figures/quick/gan_quality.pdf",             # the figure step, after the GAN
    "provenance.json",
    "report/build/quick/q5_2_gan.tex",           # rendering, half the templates written
    "report/hw4-quick.pdf",                      # LaTeX done, the PDF not yet moved into place
]


def comparable(results: Path) -> dict:
    """Every results file (wall times dropped), keyed by path; timings and provenance hold the
    build's own times and are left out."""
    out = {}
    for path in sorted(results.rglob("*")):
        rel = path.relative_to(results).as_posix()
        if not path.is_file() or rel.startswith("timings/") or rel == "provenance.json":
            continue
        if path.suffix == ".json":
            out[rel] = _drop_times(json.loads(path.read_text()))
        elif path.suffix == ".pt":
            out[rel] = torch.load(path, weights_only=False)
        else:
            out[rel] = path.read_bytes()
    return out


def _drop_times(obj):
    if isinstance(obj, dict):
        return {k: _drop_times(v) for k, v in obj.items() if not k.endswith("seconds")}
    if isinstance(obj, list):
        return [_drop_times(v) for v in obj]
    return obj


def assert_same(a, b, where=""):
    if isinstance(a, torch.Tensor):
        # bit-equal, NaN padding included (torch.equal counts NaN as unequal to itself)
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0)), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def temporaries(copy: Path) -> list[Path]:
    return [p for p in copy.rglob("*.tmp")]


def start(copy: Path, *args, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "doit", *args], cwd=copy, env=doit_env(copy, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for(condition, timeout=300.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_killed_anywhere_the_build_resumes_to_the_same_results(quick_build, tmp_path):
    copy = fresh_copy(tmp_path / "hw4")
    executed, killed_in, edited = Counter(), Counter(), Counter()

    def record(stdout: str):
        tasks = re.findall(r"^\.  (\S+)", stdout, flags=re.M)
        executed.update(tasks)
        return tasks

    for point in KILL_POINTS:  # one task at a time (-n 1), so that the kill points come in this order
        proc = doit(copy, "-n", "1", "profile=quick", HW4_KILL_AT=point)
        assert proc.returncode == -signal.SIGKILL, (point, proc.stdout[-2000:], proc.stderr[-2000:])
        assert "waiting" not in proc.stderr  # the killed build before it held no lock any more
        killed_in[record(proc.stdout)[-1]] += 1
        assert temporaries(copy), point  # the killed write's temporary file, for the next run to remove

    # LaTeX killed with the build (the whole process group, as a power cut would): its .aux and
    # .log are left cut short. Then only the build's own process: LaTeX goes on as an orphan,
    # and the next build waits for it rather than write beside it.
    log = copy / "report" / "build" / "quick" / "hw4.log"
    template = copy / "templates" / "q4_batchnorm.tex.j2"
    for whole_group in (True, False):
        template.write_text(template.read_text() + "\n% an edit, so that LaTeX has work to do\n")
        edited.update(["render", "pdf"])
        log.unlink(missing_ok=True)
        build = start(copy, "profile=quick")
        wait_for(lambda: log.exists() and log.stat().st_size > 0)
        os.killpg(build.pid, signal.SIGKILL) if whole_group else build.kill()
        out, _ = build.communicate()
        killed_in[record(out)[-1]] += 1
    proc = doit(copy, "profile=quick")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    record(proc.stdout)

    assert not temporaries(copy)
    assert (copy / "report" / "hw4-quick.pdf").read_bytes().startswith(b"%PDF")
    assert_same(comparable(quick_build / "results" / "quick"), comparable(copy / "results" / "quick"))
    # nothing finished was done again: each task ran once, plus once for each run killed inside it
    # (and render and pdf once for each template edit, which pdf's count already holds)
    for task, times in executed.items():
        assert times == 1 + killed_in[task] + (edited[task] if task == "render" else 0), task
    names = doit(copy, "list", "--all", "--quiet", "profile=quick").stdout.split()
    assert set(executed) == {n for n in names if ":" in n or n in ("provenance", "render", "pdf")}
    assert killed_in["pdf"] == 3
    assert ran(doit(copy, "profile=quick")) == set()


def test_a_parallel_build_killed_during_training_resumes_to_the_same_results(quick_build, tmp_path):
    """The default build runs tasks side by side; killed (SIGKILL to doit, whose workers die with
    it) while experiments train, it resumes from their checkpoints to the same results."""
    copy = fresh_copy(tmp_path / "hw4")
    build = start(copy, "profile=quick")
    checkpoints = copy / "results" / "quick" / "q5_2_gan"
    wait_for(lambda: any(checkpoints.glob("exp*/checkpoint.pt")))
    build.kill()
    build.communicate()
    proc = doit(copy, "profile=quick")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not temporaries(copy)
    assert_same(comparable(quick_build / "results" / "quick"), comparable(copy / "results" / "quick"))


def test_two_builds_started_together_never_write_at_once(quick_build, tmp_path):
    copy = copy_of(quick_build, tmp_path / "hw4")
    template = copy / "templates" / "q4_batchnorm.tex.j2"
    template.write_text(template.read_text() + "\n% an edit\n")
    first, second = start(copy, "profile=quick"), start(copy, "profile=quick")
    (out1, err1), (out2, err2) = first.communicate(timeout=600), second.communicate(timeout=600)
    assert first.returncode == second.returncode == 0, err1 + err2
    waited = [i for i, err in enumerate((err1, err2)) if "waiting for the build running in this checkout" in err]
    assert len(waited) == 1, (err1, err2)
    waiter, worker = ((out1, err1), (out2, err2))[::1 if waited[0] == 0 else -1]
    assert re.search(r"\(PID \d+, `doit profile=quick`, started \d\d:\d\d:\d\d", waiter[1])
    assert set(re.findall(r"^\.  (\S+)", worker[0], flags=re.M)) == {"render", "pdf"}
    assert set(re.findall(r"^\.  (\S+)", waiter[0], flags=re.M)) == set()  # it found the work done


def test_an_edited_results_file_is_remade_by_its_task(quick_build, tmp_path):
    copy = copy_of(quick_build, tmp_path / "hw4")
    results = copy / "results" / "quick" / "q4_batchnorm" / "derivation.json"
    good = results.read_bytes()
    results.write_bytes(good[:len(good) // 2])  # cut short, as by a half-finished copy
    proc = doit(copy, "profile=quick")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert ran(proc) == {"q4_batchnorm:derive"}  # remade identical: nothing downstream reruns
    assert ("note: results/quick/q4_batchnorm/derivation.json changed since q4_batchnorm:derive "
            "wrote it; running q4_batchnorm:derive again") in proc.stdout
    assert results.read_bytes() == good
    os.utime(results)  # touched, content unchanged: nothing to do
    assert ran(doit(copy, "profile=quick")) == set()
