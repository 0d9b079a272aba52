"""The provenance appendix holds real values read from the repository, the tools and the files."""
import re
import subprocess
from pathlib import Path

from hw4.core import provenance

from hw4.core import plot
from hw4.core.store import save_json

REPO = Path(__file__).resolve().parents[1]


def test_git_state_names_the_checked_out_commit():
    state = provenance.git_state(REPO)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert state["commit"] == head and re.fullmatch(r"[0-9a-f]{40}", head)
    assert isinstance(state["dirty"], bool)


def test_git_state_outside_a_checkout(tmp_path):
    assert provenance.git_state(tmp_path)["commit"] == "not a git checkout"


def test_figure_stamp_is_read_back_from_the_pdf(tmp_path):
    fig, ax = plot.figure()
    ax.plot([0, 1], [0, 1])
    out = tmp_path / "line.pdf"
    plot.save(fig, out, task="figures:line", config_hash="0123abcd4567")
    assert provenance.figure_stamp(out) == {"file": "line.pdf", "task": "figures:line", "config_hash": "0123abcd4567"}


def checked_data():
    """A stand-in for a data check: the records it returns go into the appendix as they are."""
    return [{"file": "train-labels-idx1-ubyte", "bytes": 60008, "md5": "a25bea736e30d166cdddb491f175f624"}]


def test_collect_records_tools_times_and_checksums(tmp_path):
    save_json(tmp_path / "timings" / "derive.minimax.json", {"function": "m:f", "seconds": 1.5})
    save_json(tmp_path / "timings" / "pdf.json", {"function": "m:g", "seconds": 9.0})
    save_json(tmp_path / "timings" / "derive.removed.json", {"function": "m:h", "seconds": 2.0})  # a task since removed
    record = provenance.collect(profile="quick", config_hash="abc", timings_dir=tmp_path / "timings",
                                tasks=["derive:minimax"], figure_files=[], data_check=f"{__name__}:checked_data")
    assert record["timings"] == [{"function": "m:f", "seconds": 1.5, "task": "derive:minimax"}]
    assert record["data"] == checked_data()
    assert record["tex"].startswith("pdfTeX")
    assert record["torch"].startswith("2.")
    assert record["device"].startswith(("CPU: ", "CUDA: "))
