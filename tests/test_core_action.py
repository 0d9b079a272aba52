"""How tasks fail: a user's problem in one message, anything else with its traceback and where."""
import errno

import pytest
from doit.exceptions import TaskFailed

from hw4.core.action import call
from hw4.core.errors import DataError


def users_problem():
    raise DataError("data/MNIST/raw/train-images-idx3-ubyte is damaged: ...")


def a_bug():
    return {}["missing"]


def disk_full():
    raise OSError(errno.ENOSPC, "No space left on device", "results/quick/r.json")


def test_a_users_problem_is_its_message_alone():
    failed = call(f"{__name__}:users_problem", targets=["results/quick/r.json"])
    assert isinstance(failed, TaskFailed)
    assert failed.message == "DataError: data/MNIST/raw/train-images-idx3-ubyte is damaged: ..."


def test_a_full_disk_says_so():
    failed = call(f"{__name__}:disk_full", targets=["results/quick/r.json"])
    assert isinstance(failed, TaskFailed) and "the disk is full" in failed.message
    assert "results/quick/r.json" in failed.message and "free some space" in failed.message


def test_an_unexpected_error_keeps_its_traceback_and_says_where():
    with pytest.raises(KeyError) as err:
        call(f"{__name__}:a_bug", targets=["a/1.json", "a/2.json", "a/3.json", "a/4.json"])
    assert err.value.__notes__ == [f"in {__name__}:a_bug, which writes a/1.json, a/2.json, a/3.json and 1 more"]
