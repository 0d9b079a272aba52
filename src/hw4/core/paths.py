"""Every output path in one place, relative to the repository root (doit runs there).

The profile is part of every build path, so a quick preview never serves its results
to the full build, and switching profiles back and forth reruns nothing.
"""
from pathlib import Path

TEMPLATES = Path("templates")
BIB = TEMPLATES / "refs.bib"
REPORT = Path("report")


def results(profile: str) -> Path:
    return Path("results") / profile


def figures(profile: str) -> Path:
    return Path("figures") / profile


def build(profile: str) -> Path:
    """Where the rendered .tex files and LaTeX's own files live."""
    return REPORT / "build" / profile


def pdf(profile: str) -> Path:
    return REPORT / ("hw4.pdf" if profile == "full" else f"hw4-{profile}.pdf")


def dep_file(profile: str) -> str:
    return f".doit-{profile}.db"


def lock_file(profile: str) -> str:
    """Held by the one build of `profile` running in this checkout (core.lock)."""
    return f".doit-{profile}.lock"
