"""One build per checkout and profile: a second waits, naming the first; a killed one blocks nothing."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hw4.core import lock

SRC = Path(__file__).resolve().parents[1] / "src"
HOLD = "import os, time; from hw4.core import lock; lock.acquire(os.environ['LOCK']); print('held', flush=True); time.sleep(60)"
TAKE = "import os; from hw4.core import lock; lock.acquire(os.environ['LOCK']); print('acquired', flush=True)"


def python(code, lock_file, **kw):
    """`code` in a process whose command line reads like `doit profile=quick`."""
    return subprocess.Popen([sys.executable, "-c", code, "profile=quick"],
                            env={**os.environ, "PYTHONPATH": str(SRC), "LOCK": str(lock_file)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_read_only_commands_take_no_lock():
    assert not lock.needed(["list", "--all"]) and not lock.needed(["info", "pdf"])
    assert lock.needed([]) and lock.needed(["profile=quick"]) and lock.needed(["clean"])
    assert lock.needed(["forget", "render"]) and lock.needed(["run", "pdf"])


def test_a_second_build_waits_for_the_first_and_a_killed_one_releases_it(tmp_path):
    lock_file = tmp_path / ".doit-quick.lock"
    holder = python(HOLD, lock_file)
    assert holder.stdout.readline() == "held\n"
    assert f"PID {holder.pid}," in lock_file.read_text()
    waiter = python(TAKE, lock_file)
    time.sleep(1.0)
    assert waiter.poll() is None  # still waiting
    holder.send_signal(signal.SIGKILL)  # the kernel drops the lock with the process
    holder.wait()
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0 and out == "acquired\n"
    assert "waiting for the build running in this checkout to finish" in err
    assert f"PID {holder.pid}, `doit profile=quick`, started " in err and "Ctrl-C" in err
    assert f"PID {waiter.pid}," in lock_file.read_text()  # the file now names the new holder
    # the lock file a killed build left behind is only a file: the next build takes the lock at once
    again = python(TAKE, lock_file)
    out, err = again.communicate(timeout=30)
    assert out == "acquired\n" and "waiting" not in err


def test_the_held_lock_is_passed_to_subprocesses(tmp_path):
    code = ("import os, subprocess; from hw4.core import lock; lock.acquire(os.environ['LOCK']); "
            "print(subprocess.run(['ls', '/proc/self/fd'], capture_output=True, text=True, "
            "pass_fds=lock.held()).stdout.split().count(str(lock.held()[0])))")
    out, _ = python(code, tmp_path / "l.lock").communicate(timeout=30)
    assert out.strip() == "1"


def test_a_build_that_has_just_taken_the_lock_is_named_once_it_has_written_its_line(tmp_path):
    """Between taking the lock and writing who holds it, the file is empty: the waiter reads again."""
    lock_file = tmp_path / ".doit-quick.lock"
    slow = ("import fcntl, os, time; fd = os.open(os.environ['LOCK'], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(0.5); "
            "os.pwrite(fd, b'PID 4242, `doit`, started 12:00:00\\n', 0); time.sleep(2)")
    holder = python(slow, lock_file)
    assert holder.stdout.readline() == "held\n"
    out, err = python(TAKE, lock_file).communicate(timeout=30)
    holder.wait()
    assert out == "acquired\n" and "(PID 4242, `doit`, started 12:00:00, holding" in err
