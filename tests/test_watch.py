"""`make watch` end to end: the loop rebuilds the quick PDF on each save, reports a LaTeX error
and goes on, ignores editors' swap files, gathers saves made during a build into one rebuild,
and stops cleanly on Ctrl-C."""
import signal
import subprocess
import sys
import threading
import time

from conftest import copy_of, doit_env


class Loop:
    """`python -m hw4.core.watch` in a copy, its output gathered as it comes."""

    def __init__(self, copy):
        self.proc = subprocess.Popen([sys.executable, "-m", "hw4.core.watch", "--profile", "quick"], cwd=copy,
                                     env=doit_env(copy), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self.text = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for chunk in iter(lambda: self.proc.stdout.read(1), ""):
            self.text += chunk

    def wait_for(self, count: int, what: str, timeout: float = 300) -> str:
        """Wait until `what` has appeared `count` times in the output; return the output."""
        end = time.monotonic() + timeout
        while self.text.count(what) < count:
            assert self.proc.poll() is None and time.monotonic() < end, self.text
            time.sleep(0.05)
        return self.text


def wait_until(condition, timeout: float = 300):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end
        time.sleep(0.02)


def test_watch_rebuilds_on_save_reports_errors_and_stops_cleanly(quick_build, tmp_path):
    copy = copy_of(quick_build, tmp_path / "hw4")
    template = copy / "templates" / "q4_batchnorm.tex.j2"
    pdf = copy / "report" / "hw4-quick.pdf"
    original = template.read_text()
    loop = Loop(copy)
    try:
        loop.wait_for(1, "up to date after")  # the first build: the copy is already built

        # swap and backup files of editors start nothing; the save of the template does
        before = pdf.stat().st_mtime_ns
        (copy / "templates" / ".q4_batchnorm.tex.j2.swp").write_text("swap")
        (copy / "templates" / "q4_batchnorm.tex.j2~").write_text("backup")
        time.sleep(0.5)
        template.write_text(original + "\nA first sentence added while writing.\n")
        out = loop.wait_for(1, "report/hw4-quick.pdf updated in")
        assert "templates/q4_batchnorm.tex.j2 changed: building ... report/hw4-quick.pdf updated in" in out
        assert ".swp" not in out and "~" not in out and out.count("building ...") == 2
        assert pdf.stat().st_mtime_ns != before and "(render, pdf)" in out

        # a LaTeX error: the short summary, and the loop goes on
        template.write_text(original + "\n\\undefinedmacro\n")
        out = loop.wait_for(1, "failed after")
        assert "LatexError: the PDF was not built" in out
        assert "q4_batchnorm.tex:" in out and "Undefined control sequence." in out

        # fixed: the PDF again; two saves made while that build runs LaTeX make one rebuild after it
        template.write_text(original + "\nFixed.\n")
        rendered = copy / "report" / "build" / "quick" / "q4_batchnorm.tex"
        wait_until(lambda: "Fixed." in rendered.read_text())
        template.write_text(original + "\nFixed. One more sentence.\n")
        time.sleep(0.3)
        template.write_text(original + "\nFixed. One more sentence. And another.\n")
        out = loop.wait_for(3, "report/hw4-quick.pdf updated in")
        time.sleep(2)
        assert loop.text.count("building ...") == 5 and out.count("(render, pdf)") == 3, loop.text
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "One more sentence. And another." in " ".join(text.split())
    finally:
        loop.proc.send_signal(signal.SIGINT)
        loop.proc.wait(timeout=60)
    assert loop.proc.returncode == 0 and loop.text.rstrip().endswith("stopped watching")
    assert not list(copy.rglob("*.tmp"))
