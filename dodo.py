"""The task graph of hw4: `doit` builds report/hw4.pdf.

config (hw4.toml) -> each question's results (results/<profile>/<question>/) and figures
(figures/<profile>/) -> provenance -> templates rendered (report/build/<profile>/) -> latexmk -> PDF.

Each question is a package under src/hw4/ and a task group here: `doit q5_2_gan` builds the
results and figures of Q5.2 only. `doit profile=quick` builds a small preview into
report/hw4-quick.pdf; each profile keeps its own results, figures and dependency database.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "src"))  # this checkout's code, even in a copy

from doit import get_var  # noqa: E402

from hw4.core import build, report, schedule  # noqa: E402
from hw4.q1_2_overparam import tasks as q1_2_overparam  # noqa: E402
from hw4.q3_sparse_coding import tasks as q3_sparse_coding  # noqa: E402
from hw4.q4_batchnorm import tasks as q4_batchnorm  # noqa: E402
from hw4.q5_1_minimax import tasks as q5_1_minimax  # noqa: E402
from hw4.q5_2_gan import tasks as q5_2_gan  # noqa: E402

B = build.load(get_var("profile", "full"))
build.start(B.profile, sys.argv[1:])  # one build per checkout and profile; heal what a killed one left
QUESTIONS = {q.QUESTION: list(q.tasks(B)) for q in
             (q1_2_overparam, q3_sparse_coding, q4_batchnorm, q5_1_minimax, q5_2_gan)}

# Parallel by default: a worker process for every computing task and one per core for the rest;
# the gate lets computing tasks onto the cores, the longest work first (hw4.core.schedule).
schedule.one_thread_by_default()
WORKERS = schedule.plan({f"{q}:{t['name']}": t for q, tasks in QUESTIONS.items() for t in tasks}) + schedule.cores()
schedule.GATE = schedule.Gate(schedule.cores(), places=WORKERS)
DOIT_CONFIG = {**build.doit_config(B.profile), "num_process": WORKERS}


def group(question):
    """A question's tasks, as copies: doit renames the dicts it is given."""
    return map(dict, QUESTIONS[question])


def task_q1_2_overparam():
    """Q1.2: SGD on the exact population loss, m = d and m = 10 d, and the sweep over m"""
    yield from group("q1_2_overparam")


def task_q3_sparse_coding():
    """Q3: the sparse coding example, derived with sympy and attacked"""
    yield from group("q3_sparse_coding")


def task_q4_batchnorm():
    """Q4: batch normalization's geometry near w = 0, derived with sympy"""
    yield from group("q4_batchnorm")


def task_q5_1_minimax():
    """Q5.1: the global min-max points of 0.2 x y - cos y, and why they are not local"""
    yield from group("q5_1_minimax")


def task_q5_2_gan():
    """Q5.2: a GAN on MNIST in three regimes, judged by a classifier"""
    yield from group("q5_2_gan")


def task_figures():
    return report.figures(QUESTIONS)


def task_provenance():
    return report.provenance_task(B, QUESTIONS, data_check=q5_2_gan.DATA_CHECK)


def task_render():
    return report.render_task(B, QUESTIONS)


def task_pdf():
    return report.pdf_task(B, QUESTIONS)
