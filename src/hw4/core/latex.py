"""latexmk, strictly: no shell escape, no interaction, and a short summary instead of the log.

The PDF is refused if LaTeX reports an error, an undefined reference or citation, a missing
figure, or if the text still holds `??` or `TODO`; overfull boxes and bibliography entries
that are never cited are reported but allowed. A LaTeX run that was killed leaves its own
files (.aux, .bbl...) cut short, which would break the next run: they are removed first.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from hw4.core import lock
from hw4.core.errors import LatexError
from hw4.core.store import atomic_path

APT_PACKAGES = ("latexmk texlive-latex-base texlive-latex-recommended texlive-latex-extra "
                "texlive-fonts-recommended texlive-science texlive-bibtex-extra biber lmodern "
                "poppler-utils")
INSTALL_HINT = f"install TeX Live: sudo apt-get install -y {APT_PACKAGES} (or run `make`)"

ERROR = re.compile(r"^(?P<file>[^\s:]+\.(?:tex|sty|cls|bbl)):(?P<line>\d+): (?P<msg>.*)$")
OPEN_FILE = re.compile(r"\((\./[^\s()]+\.tex)")
UNDEFINED = re.compile(r"(?:LaTeX|Package \w+) Warning: (?P<what>Reference|Citation) [`'](?P<key>[^']+)' "
                       r"on page \S+ undefined(?: on input line (?P<line>\d+))?")
OVERFULL = re.compile(r"^Overfull \\[hv]box \((?P<amount>[\d.]+pt) too \w+\) .*?lines? (?P<lines>[\d-]+)")
MISSING_FILE = re.compile(r"LaTeX (?:Error|Warning): File `(?P<name>[^']+)' not found")
RUNNING = ".latexmk-running"  # exists while latexmk runs: if found at the start, a run was killed


@dataclass
class Summary:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join([*self.errors, *self.warnings])


def require_tools() -> None:
    for tool in ("latexmk", "pdflatex", "biber"):
        if shutil.which(tool) is None:
            raise LatexError(f"{tool} not found: {INSTALL_HINT}")


def build_pdf(build_dir: Path | str, out_pdf: Path | str, main: str = "hw4.tex") -> Summary:
    """Compile `build_dir/main` and copy the PDF to `out_pdf` only if every strict check passes."""
    require_tools()
    build_dir = Path(build_dir)
    env = {**os.environ, "max_print_line": "100000"}  # unwrapped log lines parse reliably
    cmd = ["latexmk", "-pdf", "-bibtex", "-interaction=nonstopmode", "-halt-on-error",
           "-file-line-error", "-no-shell-escape", "-silent", main]
    running = build_dir / RUNNING
    if running.exists():
        remove_latex_files(build_dir)
    running.touch()
    # latexmk holds the build lock too: if the build is killed, no other starts until LaTeX ends
    proc = subprocess.run(cmd, cwd=build_dir, env=env, capture_output=True, text=True, pass_fds=lock.held())
    running.unlink()
    stem = Path(main).stem
    summary = summarize(_read(build_dir / f"{stem}.log"), _read(build_dir / f"{stem}.blg"))
    if proc.returncode != 0 and not summary.errors:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        summary.errors.append(f"latexmk failed (exit {proc.returncode}):\n{tail}")
    if not summary.errors:
        summary.errors += check_text(build_dir, build_dir / f"{stem}.pdf")
        summary.warnings += unused_citations(build_dir, main)
    if summary.errors:
        raise LatexError(f"the PDF was not built ({build_dir}):\n{summary.text()}")
    with atomic_path(out_pdf) as tmp:
        shutil.copyfile(build_dir / f"{stem}.pdf", tmp)
    if summary.warnings:
        print(summary.text())
    return summary


def remove_latex_files(build_dir: Path) -> None:
    """Everything LaTeX made in `build_dir`, keeping what the render step wrote (.tex, .bib)."""
    for path in build_dir.iterdir():
        if path.is_file() and path.suffix not in (".tex", ".bib"):
            path.unlink()


def summarize(log: str, blg: str = "") -> Summary:
    """The log reduced to `file:line: message` lines; strict failures go into `errors`."""
    summary = Summary()
    current = "hw4.tex"
    for line in log.splitlines():
        opened = OPEN_FILE.findall(line)
        if opened:
            current = opened[-1].removeprefix("./")
        if m := ERROR.match(line):
            summary.errors.append(f"{m['file'].removeprefix('./')}:{m['line']}: {m['msg']}")
        elif m := UNDEFINED.search(line):
            summary.errors.append(f"{current}:{m['line'] or '?'}: undefined {m['what'].lower()} '{m['key']}'")
        elif m := MISSING_FILE.search(line):
            summary.errors.append(f"{current}: missing file '{m['name']}' (is its figure task built?)")
        elif m := OVERFULL.match(line):
            summary.warnings.append(f"{current}:{m['lines']}: overfull box ({m['amount']} too wide)")
    for line in blg.splitlines():
        if "ERROR -" in line or "WARN - I didn't find a database entry" in line:
            summary.errors.append(f"biber: {line.split(' - ', 1)[-1].strip()}")
    return summary


def check_text(build_dir: Path, pdf: Path) -> list[str]:
    """Leftovers a grader must never see: `??` (a broken reference) in the PDF, `TODO` anywhere."""
    problems = []
    for tex in sorted(build_dir.glob("*.tex")):
        for number, line in enumerate(tex.read_text().splitlines(), 1):
            if "TODO" in line:
                problems.append(f"{tex.name}:{number}: leftover TODO")
    if shutil.which("pdftotext") is None:
        raise LatexError("pdftotext not found: install poppler-utils (sudo apt-get install -y poppler-utils)")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for page, page_text in enumerate(text.split("\f"), 1):
        if "??" in page_text:
            problems.append(f"{pdf.name}: page {page}: '??' in the text (an unresolved reference)")
    return problems


def unused_citations(build_dir: Path, main: str) -> list[str]:
    """Bibliography entries never cited: reported, not fatal."""
    bib = _read(build_dir / "refs.bib")
    keys = re.findall(r"^@\w+\{([^,\s]+),", bib, flags=re.M)
    cited = set()
    for tex in build_dir.glob("*.tex"):
        for group in re.findall(r"\\(?:\w*cite\w*)(?:\[[^\]]*\])*\{([^}]*)\}", tex.read_text()):
            cited.update(k.strip() for k in group.split(","))
    return [f"refs.bib: entry '{k}' is never cited" for k in keys if k not in cited]


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
