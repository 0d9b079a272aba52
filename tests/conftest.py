"""Shared by the end-to-end tests: a fresh copy of the repository, doit run in it, and one
uninterrupted quick build that every such test copies rather than builds again."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def fresh_copy(dest: Path) -> Path:
    """The repository as a fresh clone would see it (tracked and unignored files)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def doit_env(copy: Path, **extra) -> dict:
    # unbuffered: a killed build's output up to the kill is all there
    return {**os.environ, "PYTHONPATH": str(copy / "src"), "PYTHONUNBUFFERED": "1", **extra}


def doit(copy: Path, *args, timeout=1200, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "doit", *args], cwd=copy, env=doit_env(copy, **env),
                          capture_output=True, text=True, timeout=timeout)


def ran(proc) -> set[str]:
    """Tasks doit executed (`.  name`), as opposed to up to date (`-- name`)."""
    return set(re.findall(r"^\.  (\S+)", proc.stdout, flags=re.M))


@pytest.fixture(scope="session")
def quick_build(tmp_path_factory) -> Path:
    """A fresh copy built once, uninterrupted, on the quick profile. Never edit it: copy it."""
    copy = fresh_copy(tmp_path_factory.mktemp("hw4-quick"))
    proc = doit(copy, "profile=quick")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return copy


def copy_of(built: Path, dest: Path) -> Path:
    """A copy of a built checkout, times kept, so doit finds it up to date."""
    shutil.copytree(built, dest, symlinks=True, dirs_exist_ok=True)
    return dest
