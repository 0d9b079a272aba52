"""Results are written whole or not at all."""
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hw4.core import store
from hw4.core.errors import DamagedFile


def test_json_round_trip_converts_numpy(tmp_path):
    path = tmp_path / "a" / "r.json"
    store.save_json(path, {"x": np.float64(1.5), "v": np.arange(3), "n": np.int64(2)})
    assert store.load_json(path) == {"x": 1.5, "v": [0, 1, 2], "n": 2}
    assert os.stat(path).st_mode & 0o644 == 0o644


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "r.json"
    store.save_json(path, {"ok": 1})
    with pytest.raises(RuntimeError):
        with store.atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert store.load_json(path) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_non_finite_numbers_are_refused(tmp_path):
    with pytest.raises(ValueError, match="non-finite"):
        store.save_json(tmp_path / "r.json", {"loss": [1.0, math.nan]})
    assert not (tmp_path / "r.json").exists()


def test_a_damaged_json_file_names_itself_and_the_fix(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"settings": {"d": 2')
    with pytest.raises(DamagedFile) as err:
        store.load_json(path)
    assert str(err.value).startswith(f"{path}: not valid JSON: ")
    assert "Delete it and build again: the task that makes it reruns" in str(err.value)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_checkpoint_is_set_aside(tmp_path, capsys, damage):
    path = tmp_path / "checkpoint.pt"
    store.save_torch(path, {"ident": "x", "weights": torch.arange(10000.0)})
    good = path.read_bytes()
    path.write_bytes(b"\x80\x04garbage" * 50 if damage == "garbage" else good[:len(good) // 2])
    bad = path.read_bytes()
    with pytest.raises(DamagedFile, match="not a readable PyTorch file"):
        store.load_torch(path)
    assert store.load_checkpoint(path) is None
    assert not path.exists() and (tmp_path / "checkpoint.pt.corrupt").read_bytes() == bad
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: {path}: not a readable PyTorch file")
    assert lines[0].endswith("checkpoint.pt.corrupt and starting afresh")
    assert store.load_checkpoint(path) is None and store.load_checkpoint(None) is None


def test_temporaries_of_interrupted_writes_are_removed(tmp_path):
    (tmp_path / "q" / "exp1").mkdir(parents=True)
    left = [tmp_path / "q" / "exp1" / ".samples.pt.k2x_9abc.tmp", tmp_path / ".hw4-quick.pdf.ab12cd34.tmp"]
    kept = [tmp_path / ".hw4.pdf.ab12cd34.tmp", tmp_path / "q" / "notes.tmp", tmp_path / "q" / "r.json"]
    for path in left + kept:
        path.write_text("x")
    assert store.remove_temporaries(tmp_path, of="hw4-quick.pdf") == [left[1]]
    assert store.remove_temporaries(tmp_path / "q") == [left[0]]
    assert all(p.exists() for p in kept) and not any(p.exists() for p in left)


def test_fault_injection_kills_at_the_named_write_with_its_temporary_left(tmp_path):
    code = ("import sys; from hw4.core import store\n"
            "for i in range(3): store.save_json(sys.argv[1] + f'/r{i}.json', {'i': i})")
    src = Path(__file__).resolve().parents[1] / "src"
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(src), store.KILL_AT: ".json#2"})
    assert proc.returncode == -signal.SIGKILL
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[1:] == ["r0.json"] and store.TEMPORARY.match(names[0]) and names[0].startswith(".r1.json.")


def test_the_same_tensors_give_the_same_file(tmp_path):
    """A retrained, identical model must not look changed to doit or to a checkpoint's key."""
    import torch

    obj = {"weight": torch.linspace(-1, 1, 7), "epochs": [1, 2]}
    store.save_torch(tmp_path / "a.pt", obj)
    store.save_torch(tmp_path / "b.pt", obj)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    assert torch.equal(store.load_torch(tmp_path / "a.pt")["weight"], obj["weight"])
