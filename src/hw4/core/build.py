"""The build's shape, shared by dodo.py and every question's tasks.py.

A question package yields doit task dicts through the helpers here, so that every task depends
on the same three things: the results files it reads (`file_dep`), its own config sections, and
the meaning of the code it runs (a digest of syntax trees, `codedigest`), never on the bytes of
source files. Nothing heavy is imported here: `doit list` stays fast.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from doit.task import clean_targets
from doit.tools import config_changed

from hw4.core import codedigest, config, paths
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
             file_dep=(), doc: str, clean=True, code=()) -> dict:
        """A computing task: reruns when its settings, its inputs or the meaning of its code change
        (the module of `target`, and any modules in `code` that it imports by name)."""
        return {
            "name": name,
            "doc": doc,
            "actions": [self.action(target, *args, name=f"{question}:{name}")],
            "file_dep": [str(p) for p in file_dep],
            "targets": [str(p) for p in targets],
            "uptodate": [config_changed({"settings": settings, "code": codedigest.digest(target, *code)})],
            "clean": clean,
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


def targets_of(tasks, suffix: str) -> list[Path]:
    """Every target with this suffix among task dicts (results .json, figures .pdf)."""
    return [Path(t) for task in tasks for t in task["targets"] if t.endswith(suffix)]


def remove_tree(path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def clean_with(*trees) -> list:
    """doit `clean`: the targets, and whole folders (e.g. an interrupted run's checkpoint)."""
    return [clean_targets, *((remove_tree, [tree]) for tree in trees)]
