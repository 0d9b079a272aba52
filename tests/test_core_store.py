"""Results are written whole or not at all."""
import math
import os

import numpy as np
import pytest

from hw4.core import store


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


def test_the_same_tensors_give_the_same_file(tmp_path):
    """A retrained, identical model must not look changed to doit or to a checkpoint's key."""
    import torch

    obj = {"weight": torch.linspace(-1, 1, 7), "epochs": [1, 2]}
    store.save_torch(tmp_path / "a.pt", obj)
    store.save_torch(tmp_path / "b.pt", obj)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    assert torch.equal(store.load_torch(tmp_path / "a.pt")["weight"], obj["weight"])
