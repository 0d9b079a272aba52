"""latexmk runs strictly and reports `file:line: message`, never the raw log."""
import shutil

import pytest

from hw4.core.errors import LatexError
from hw4.core import latex

DOC = r"""\documentclass{article}
\usepackage{graphicx}
\usepackage[backend=biber]{biblatex}
\addbibresource{refs.bib}
\usepackage{hyperref}
\begin{document}
\section{One}\label{sec:one} See \ref{sec:one}. %s
\printbibliography
\end{document}
"""

BIB = "@misc{used, title={Used}, author={A. Author}, year={2020}}\n@misc{spare, title={Spare}, year={2021}}\n"


def make_doc(tmp_path, body):
    build = tmp_path / "build"
    build.mkdir()
    (build / "hw4.tex").write_text(DOC % body)
    (build / "refs.bib").write_text(BIB)
    return build


def test_summary_of_a_log():
    log = "\n".join([
        "(./hw4.tex (./q4.tex",
        "./q4.tex:12: Undefined control sequence.",
        "LaTeX Warning: Reference `fig:x' on page 2 undefined on input line 30.",
        "LaTeX Warning: Citation 'nobody' on page 2 undefined on input line 31.",
        "Overfull \\hbox (12.5pt too wide) in paragraph at lines 40--42",
    ])
    summary = latex.summarize(log)
    assert summary.errors == ["q4.tex:12: Undefined control sequence.",
                              "q4.tex:30: undefined reference 'fig:x'",
                              "q4.tex:31: undefined citation 'nobody'"]
    assert summary.warnings == ["q4.tex:40--42: overfull box (12.5pt too wide)"]


def test_good_document_builds_and_reports_unused_entries(tmp_path):
    build = make_doc(tmp_path, r"As shown by \cite{used}.")
    summary = latex.build_pdf(build, tmp_path / "out.pdf")
    assert (tmp_path / "out.pdf").read_bytes()[:5] == b"%PDF-"
    assert summary.errors == []
    assert "refs.bib: entry 'spare' is never cited" in summary.warnings


@pytest.mark.parametrize("body, message", [
    (r"Broken \ref{sec:nope}.", r"hw4\.tex:7: undefined reference 'sec:nope'"),
    (r"Cites \cite{nobody}.", r"undefined citation 'nobody'"),
    (r"\includegraphics{missing}", r"hw4\.tex:7: LaTeX Error: File `missing' not found"),
    (r"\undefinedmacro", r"hw4\.tex:7: Undefined control sequence"),
    (r"TODO: write this.", r"hw4\.tex:7: leftover TODO"),
    (r"A literal ?? in the text.", r"page 1: '\?\?' in the text"),
])
def test_strict_failures_are_short_and_located(tmp_path, body, message):
    build = make_doc(tmp_path, body)
    with pytest.raises(LatexError, match=message) as info:
        latex.build_pdf(build, tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()
    assert len(str(info.value).splitlines()) < 10  # a summary, not the log


def test_missing_tex_is_explained(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(LatexError, match=r"latexmk not found: install TeX Live: sudo apt-get install"):
        latex.require_tools()


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="needs TeX Live")
def test_the_files_of_a_killed_latex_run_are_removed_first(tmp_path):
    build = make_doc(tmp_path, r"\cite{used} \cite{spare}")
    latex.build_pdf(build, tmp_path / "hw4.pdf")
    aux = build / "hw4.aux"
    aux.write_text(aux.read_text()[:-40])  # cut short, as LaTeX leaves it when killed mid-run
    (build / latex.RUNNING).touch()
    latex.build_pdf(build, tmp_path / "again.pdf")
    assert (tmp_path / "again.pdf").read_bytes().startswith(b"%PDF") and not (build / latex.RUNNING).exists()
