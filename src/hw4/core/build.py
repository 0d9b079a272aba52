"""The build's shape, shared by dodo.py and every question's tasks.py.

A question package yields doit task dicts through the helpers here, so that every task depends
on the same three things: the results files it reads (`file_dep`), its own config sections, and
the meaning of the code it runs (a digest of syntax trees, `codedigest`), never on the bytes of
source files. Nothing heavy is imported here: `doit list` stays fast.
"""
from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from doit.dependency import SqliteDB
from doit.globals import Globals
from doit.reporter import ConsoleReporter
from doit.task import clean_targets
from doit.tools import config_changed

from hw4.core import codedigest, config, lock, paths, schedule, store
from hw4.core.targets import unchanged
from hw4.core.action import call


@dataclass(frozen=True)
class Build:
    """One profile's build: its config and where its outputs go."""
    profile: str
    cfg: config.Config

    @property
    def results(self) -> Path:
        return paths.results(self.profile)

    @property
    def timings(self) -> Path:
        return self.results / "timings"

    def out(self, question: str, *parts: str) -> Path:
        """A results file of `question`: results/<profile>/<question>/<parts>."""
        return self.results.joinpath(question, *parts)

    def figure(self, name: str) -> Path:
        return paths.figures(self.profile) / f"{name}.pdf"

    def settings(self, *sections: str) -> dict:
        """Config sections by name, as plain dicts."""
        return {name: config.as_dict(getattr(self.cfg, name)) for name in sections}

    def section_hash(self, *sections: str) -> str:
        return config.digest({"profile": self.profile, **self.settings(*sections)})

    def action(self, target: str, *args, name: str, **kwargs) -> tuple:
        """Call `target` ('module:function', imported only when the task runs) and time it."""
        return (call, [target, *args], {"timing": self.timings / f"{name.replace(':', '.')}.json", **kwargs})

    def task(self, question: str, name: str, target: str, *args, targets: list, settings: dict,
             file_dep=(), doc: str, clean=True, code=(), estimate: float | None = None) -> dict:
        """A computing task: reruns when its settings, its inputs or the meaning of its code change
        (the module of `target`, and any modules in `code` that it imports by name).
        `estimate`: its expected seconds on one core, to schedule a first build (`schedule`)."""
        return {
            "name": name,
            "doc": doc,
            "actions": [self.action(target, *args, name=f"{question}:{name}", cores=schedule.cores_of(args))],
            "file_dep": [str(p) for p in file_dep],
            "targets": [str(p) for p in targets],
            "uptodate": [config_changed({"settings": settings, "code": codedigest.digest(target, *code)}),
                         unchanged],
            "clean": clean,
            "meta": {"estimate": estimate} if estimate else None,
        }

    def figure_task(self, question: str, name: str, target: str, inputs: list, sections: list[str],
                    extra_dep=()) -> dict:
        """A figure: `target(*inputs, out_pdf, task=..., config_hash=...)` draws figures/<profile>/<name>.pdf
        from results files only, and stamps it with its task and the hash of `sections`."""
        out = self.figure(name)
        stamp = self.section_hash(*sections)
        task = self.task(question, name, target, *inputs, out, targets=[out], settings={"stamp": stamp},
                         file_dep=[*inputs, *extra_dep], doc=f"figure {out}")
        task["actions"][0][2].update(task=f"{question}:{name}", config_hash=stamp)
        return task


    def claims_task(self, question: str, module: str, files: dict) -> dict:
        """The question's claims (`module`'s CLAIMS) computed from its results `files` (key -> path)
        into results/<profile>/<question>/claims.json, which the render step reads."""
        out = self.out(question, "claims.json")
        return self.task(question, "claims", "hw4.core.claims:run", module, {k: str(v) for k, v in files.items()},
                         out, targets=[out], file_dep=files.values(), settings={"module": module}, code=[module],
                         doc=f"the claims its prose rests on, checked against its results -> {out}")


def load(profile: str) -> Build:
    """The build for `profile`; a bad hw4.toml ends the program with its one-line message."""
    try:
        return Build(profile, config.load(config.CONFIG_FILE, profile))
    except config.ConfigError as err:
        sys.exit(f"error: {err}")


def start(profile: str, args: list[str]) -> None:
    """Before doit runs, cleans or forgets tasks (`args`: doit's command line): take the profile's
    lock, then remove what a killed build of it left half-written."""
    if not lock.needed(args):
        return
    for stop in (signal.SIGTERM, signal.SIGHUP):  # `kill`, a closed terminal: stop as Ctrl-C does
        signal.signal(stop, _interrupt)
    sys.excepthook = _quiet_interrupt
    lock.acquire(paths.lock_file(profile))
    removed = [tmp for folder in (paths.results(profile), paths.figures(profile), paths.build(profile))
               for tmp in store.remove_temporaries(folder)]
    removed += store.remove_temporaries(paths.REPORT, of=paths.pdf(profile).name)  # shared by the profiles
    if removed:
        print(f"removed {len(removed)} unfinished file(s) of an interrupted build: "
              f"{', '.join(map(str, removed))}", file=sys.stderr)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _quiet_interrupt(kind, value, traceback):
    """Ctrl-C ends the build with one line, not doit's traceback: the task it stopped left no
    half-written file, and every finished task is already recorded."""
    if issubclass(kind, KeyboardInterrupt):
        print("\ninterrupted: finished tasks are kept; build again to go on", file=sys.stderr)
    else:
        sys.__excepthook__(kind, value, traceback)


def doit_config(profile: str) -> dict:
    """DOIT_CONFIG: the profile's own dependency file, in SQLite, each task's record committed as
    soon as it succeeds (see Reporter)."""
    return {"dep_file": paths.dep_file(profile), "backend": "sqlite3", "reporter": Reporter,
            "verbosity": 2}


class Reporter(ConsoleReporter):
    """doit's console output; and each successful task's record is committed to the dependency
    file at once. doit writes them all when it exits, so a build killed after an hour of work
    would have forgotten every task it finished and done them all again."""

    def add_success(self, task):
        super().add_success(task)
        db = Globals.dep_manager.backend  # doit's SqliteDB, whose dump() would also close it
        if not isinstance(db, SqliteDB):  # another backend chosen on the command line
            return
        for task_id in db._dirty:
            db._conn.execute("insert or replace into doit values (?,?)",
                             (task_id, db.codec.encode(db._cache[task_id])))
        db._conn.commit()
        db._dirty = set()


def targets_of(tasks, suffix: str) -> list[Path]:
    """Every target with this suffix among task dicts (results .json, figures .pdf)."""
    return [Path(t) for task in tasks for t in task["targets"] if t.endswith(suffix)]


def remove_tree(path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def clean_with(*trees) -> list:
    """doit `clean`: the targets, and whole folders (e.g. an interrupted run's checkpoint)."""
    return [clean_targets, *((remove_tree, [tree]) for tree in trees)]
