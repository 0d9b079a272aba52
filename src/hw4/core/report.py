"""The report's own tasks: every figure as a group, the provenance record, the rendered templates
and the PDF. They read the questions' results files and figures, declared by the questions' tasks."""
from __future__ import annotations

import hashlib
from pathlib import Path

from doit.tools import config_changed

from hw4.core import codedigest, config, paths, provenance
from hw4.core.targets import unchanged
from hw4.core.build import Build, clean_with, targets_of


def results_files(question_tasks: dict) -> list[Path]:
    """Every results JSON the questions write: what the templates may read."""
    return [p for tasks in question_tasks.values() for p in targets_of(tasks, ".json")]


def figure_files(question_tasks: dict) -> list[Path]:
    return [p for tasks in question_tasks.values() for p in targets_of(tasks, ".pdf")]


def figures(question_tasks: dict) -> dict:
    """`doit figures`: every figure of every question, and what they need."""
    return {"doc": "every figure (figures/<profile>/*.pdf)", "actions": None,
            "task_dep": [f"{q}:{t['name']}" for q, tasks in question_tasks.items() for t in tasks
                         if any(target.endswith(".pdf") for target in t["targets"])]}


def provenance_task(b: Build, question_tasks: dict, data_check: str) -> dict:
    """The provenance record; `data_check` ('module:function') checks the input data and lists it."""
    out = b.results / "provenance.json"
    target = "hw4.core.provenance:run"
    return {
        "doc": "record code version, tools, machine, task times, data checksums, figure stamps",
        "actions": [b.action(target, out, name="provenance", profile=b.profile,
                             config_hash=config.config_hash(b.cfg), timings_dir=b.timings,
                             tasks=[f"{q}:{t['name']}" for q, tasks in question_tasks.items() for t in tasks],
                             figure_files=figure_files(question_tasks), data_check=data_check)],
        "file_dep": [str(p) for p in [*results_files(question_tasks), *figure_files(question_tasks)]],
        "targets": [str(out)],
        "uptodate": [config_changed({"git": provenance.git_state(),
                                     "code": codedigest.digest(target, data_check)}), unchanged],
        "clean": clean_with(b.timings),
    }


def render_task(b: Build, question_tasks: dict) -> dict:
    """Fill the templates from exactly the declared results files (and the provenance record)."""
    templates = sorted(map(str, paths.TEMPLATES.glob("*.tex.j2")))
    build_dir = paths.build(b.profile)
    inputs = [*results_files(question_tasks), b.results / "provenance.json"]
    target = "hw4.core.render:render"
    return {
        "doc": "render the LaTeX templates from the results files",
        "actions": [b.action(target, inputs, b.results, paths.TEMPLATES, paths.BIB, build_dir, name="render",
                             report=config.as_dict(b.cfg.report), profile=b.profile,
                             config_hash=config.config_hash(b.cfg))],
        "file_dep": [*templates, str(paths.BIB), *map(str, inputs)],
        "targets": [str(build_dir / Path(t).name.removesuffix(".j2")) for t in templates]
                   + [str(build_dir / paths.BIB.name)],
        "uptodate": [config_changed({"report": b.settings("report"), "code": codedigest.digest(target),
                                     "sources": contents([*templates, paths.BIB])}), unchanged],
        "clean": True,
    }


def contents(files) -> str:
    """The files' bytes as the task graph loads. doit records a file_dep as it is after the task
    ran, so a template saved while render runs (make watch) would count as rendered; this
    digest, taken before, makes the next build render it."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def pdf_task(b: Build, question_tasks: dict) -> dict:
    """Compile the PDF with latexmk (strict: fails on any unresolved reference)."""
    target = "hw4.core.latex:build_pdf"
    build_dir = paths.build(b.profile)
    return {
        "doc": f"compile {paths.pdf(b.profile)} with latexmk",
        "actions": [b.action(target, build_dir, paths.pdf(b.profile), name="pdf")],
        "file_dep": [*render_task(b, question_tasks)["targets"], *map(str, figure_files(question_tasks))],
        "targets": [str(paths.pdf(b.profile))],
        "uptodate": [config_changed({"code": codedigest.digest(target)}), unchanged],
        "clean": clean_with(build_dir),
    }
