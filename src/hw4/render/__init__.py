"""Results files in, LaTeX out: the only place that knows both."""
from __future__ import annotations

import shutil
from pathlib import Path

from hw4.render.templates import load_context, render_all
from hw4.store import atomic_path


def render(results_dir: Path, templates_dir: Path, bib: Path, build_dir: Path, *,
           report: dict, profile: str, config_hash: str) -> None:
    """Fill every template from the results tree plus the report's title block."""
    context = load_context(results_dir)
    clash = {"report", "profile", "config_hash"} & set(context)
    if clash:
        raise ValueError(f"results/{profile}/ may not hold a top-level entry named {sorted(clash)}")
    context.update(report=report, profile=profile, config_hash=config_hash)
    render_all(templates_dir, build_dir, context)
    with atomic_path(Path(build_dir) / bib.name) as tmp:
        shutil.copyfile(bib, tmp)
