"""End to end: a fresh copy of the repository builds the quick PDF, and reruns only what changed."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def doit(copy: Path, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    return subprocess.run([sys.executable, "-m", "doit", *args], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=1200)


def ran(proc: subprocess.CompletedProcess) -> set[str]:
    """Tasks doit executed (`.  name`), as opposed to up to date (`-- name`)."""
    return set(re.findall(r"^\.  (\S+)", proc.stdout, flags=re.M))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The repository as a fresh clone would see it (tracked and unignored files), built once."""
    copy = tmp_path_factory.mktemp("hw4")
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    proc = doit(copy, "profile=quick")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return copy


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_quick_pdf_has_every_section_and_no_loose_ends(built):
    pdf = built / "report" / "hw4-quick.pdf"
    text = pdf_text(pdf)
    main = (built / "templates" / "hw4.tex.j2").read_text()
    sections = re.findall(r"^\\question\{(\d)\}\{([^}]*)\}", main, flags=re.M)
    assert len(sections) >= 2
    flat = " ".join(text.split())
    for number, title in sections:
        assert f"{number} {title}" in flat, f"section {number} {title} missing from the PDF"
    assert "??" not in text
    assert "References" in text and "Jin" in text
    assert "Preview build (profile quick)" in flat
    assert not (built / "report" / "hw4.pdf").exists()  # the preview never overwrites the real PDF


def test_noop_build_runs_nothing(built):
    proc = doit(built, "profile=quick")
    assert proc.returncode == 0 and ran(proc) == set()


def test_template_edit_rebuilds_only_the_pdf(built):
    template = built / "templates" / "q4_batchnorm.tex.j2"
    template.write_text(template.read_text() + "\n% an edit\n")
    assert ran(doit(built, "profile=quick")) == {"render", "pdf"}


def test_config_edit_reruns_only_its_own_tasks(built):
    toml = built / "hw4.toml"
    text = toml.read_text()
    edited = re.sub(r"(\[quick\.minimax\]\s*\n(?:.*\n)*?grid_x = )(\d+)", lambda m: m[1] + str(int(m[2]) + 2), text, count=1)
    assert edited != text
    toml.write_text(edited)
    assert ran(doit(built, "profile=quick")) == {"q5_1_minimax:derive", "q5_1_minimax:minimax_landscape",
                                                 "q5_1_minimax:claims", "provenance", "render", "pdf"}
    # the results file the template reads changed, and so did the PDF
    flat = " ".join(pdf_text(built / "report" / "hw4-quick.pdf").split())
    assert re.search(r"\b203 × 801 grid", flat)


def test_bad_config_stops_with_a_short_message(built):
    toml = built / "hw4.toml"
    good = toml.read_text()
    toml.write_text(good.replace("[minimax]", "[minimax]\ngrid_typo = 1", 1))
    proc = doit(built, "list")
    toml.write_text(good)
    assert proc.returncode != 0
    assert "hw4.toml: minimax.grid_typo: unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr


def status(copy: Path) -> dict[str, str]:
    """Task -> 'R' (would run) or 'U' (up to date), as `doit list --status` reports it."""
    out = doit(copy, "list", "--all", "--status", "profile=quick").stdout
    return {name: flag for flag, name in re.findall(r"^([RUI]) (\S+)", out, flags=re.M)}


# (module, the tasks that run its code, an edit that keeps its meaning, one that changes it)
CODE_EDITS = [
    ("src/hw4/q5_2_gan/train.py", {"q5_2_gan:exp1", "q5_2_gan:exp2", "q5_2_gan:exp3"},
     ('"""GAN training:', '"""GAN training (a docstring edited):'),
     ("return torch.cat([G(z) for z in noise.split(chunk)])", "return torch.cat([G(z) for z in noise.split(chunk + 1)])")),
    ("src/hw4/q1_2_overparam/sgd.py", {"q1_2_overparam:calibrate", "q1_2_overparam:settings", "q1_2_overparam:sweep"},
     ("def log_grid(", "# a new comment\ndef log_grid("),
     ("    start = steps * (1 - anneal_frac)", "    start = steps * (1.0 - anneal_frac)")),
    ("src/hw4/q4_batchnorm/derivation.py", {"q4_batchnorm:derive"},
     ("def objective(w):\n", "def objective(w):  # edited comment\n"),
     ("    return d.dot(d) + lam * w.dot(w)", "    return lam * w.dot(w) + d.dot(d)")),
]


@pytest.mark.parametrize("module, tasks, cosmetic, meaningful", CODE_EDITS, ids=lambda v: str(v)[:40])
def test_code_edits_rerun_exactly_the_tasks_that_run_the_code(built, module, tasks, cosmetic, meaningful):
    path = built / module
    original = path.read_text()
    try:
        for old, new in (cosmetic, meaningful):
            assert old in original, (module, old)
        path.write_text(original.replace(*cosmetic))
        assert not {t for t, flag in status(built).items() if flag == "R" and ":" in t}  # nothing at all
        path.write_text(original.replace(*meaningful))
        would_run = {t for t, flag in status(built).items() if flag == "R" and ":" in t}
        question = next(iter(tasks)).split(":")[0]
        assert tasks <= would_run and {t.split(":")[0] for t in would_run} == {question}
    finally:
        path.write_text(original)
    assert not {t for t, flag in status(built).items() if flag == "R" and ":" in t}
