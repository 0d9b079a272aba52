"""The task graph of hw4: `doit` builds report/hw4.pdf.

config (hw4.toml) -> experiments and derivations (results/) -> figures (figures/)
-> templates rendered (report/build/) -> latexmk -> report/hw4.pdf

`doit profile=quick` builds a small preview into report/hw4-quick.pdf. Each profile keeps
its own results, figures and dependency database, so switching profiles reruns nothing.
This file only wires tasks to functions; it imports nothing heavy, so `doit list` is fast.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "src"))  # this checkout's code, even in a copy

from doit import get_var  # noqa: E402
from doit.task import clean_targets  # noqa: E402
from doit.tools import config_changed  # noqa: E402

from hw4 import config, paths, provenance  # noqa: E402
from hw4.gan import data  # noqa: E402
from hw4.action import call  # noqa: E402

PROFILE = get_var("profile", "full")
try:
    CFG = config.load(config.CONFIG_FILE, PROFILE)
except config.ConfigError as err:
    sys.exit(f"error: {err}")

DOIT_CONFIG = {"dep_file": paths.dep_file(PROFILE), "verbosity": 2}
RESULTS = paths.results(PROFILE)
FIGURES = paths.figures(PROFILE)
BUILD = paths.build(PROFILE)
TIMINGS = RESULTS / "timings"
CONFIG_HASH = config.config_hash(CFG)


def src(*names):
    """Source files a task runs, so editing the code reruns exactly the tasks that use it."""
    return [f"src/hw4/{name}" for name in ("__init__.py", "action.py", "errors.py", "store.py", *names)]


def settings(*sections):
    """A task's own config sections (and nothing else), for `config_changed`."""
    return {name: config.as_dict(getattr(CFG, name)) for name in sections}


def section_hash(*sections):
    return config.digest({"profile": PROFILE, **settings(*sections)})


def action(target, *args, name, **kwargs):
    """Call `target` (imported only when the task runs) and record the wall time of task `name`."""
    return (call, [target, *args], {"timing": TIMINGS / f"{name.replace(':', '.')}.json", **kwargs})


# ----------------------------------------------------------------------------- results

DERIVATIONS = {name: RESULTS / "derivations" / f"{name}.json"
               for name in ("batchnorm", "minimax", "sparse_coding")}

# Q1.2: task name -> (function in hw4.overparam, its targets); settings and sweep read lr.json.
OVERPARAM_DIR = RESULTS / "overparam"
OVERPARAM = {
    "calibrate": ("run_calibration", [OVERPARAM_DIR / "lr.json", OVERPARAM_DIR / "config.json"]),
    "settings": ("run_settings", [OVERPARAM_DIR / "settings.json", OVERPARAM_DIR / "settings_weights.pt"]),
    "sweep": ("run_sweep", [OVERPARAM_DIR / "sweep.json", OVERPARAM_DIR / "sweep_weights.pt"]),
}
OVERPARAM_JSON = [t for _, targets in OVERPARAM.values() for t in targets if t.suffix == ".json"]

# Q5.2: the classifier that measures generated samples, then one task per GAN experiment.
GAN_DIR = RESULTS / "gan"
GAN_CLASSIFIER = GAN_DIR / "classifier"
GAN_METRICS = {name: GAN_DIR / name / "metrics.json" for name in CFG.gan.experiments}
GAN_JSON = [GAN_CLASSIFIER / "metrics.json", *GAN_METRICS.values()]

PROVENANCE = RESULTS / "provenance.json"
RESULT_FILES = [*DERIVATIONS.values(), *OVERPARAM_JSON, *GAN_JSON]  # every experiment's results; the provenance record comes last

# Every figure: name -> (function, the results files it reads, the config sections behind them).
FIGURE_SPECS = {
    "batchnorm_norms": ("hw4.plots.derivations:batchnorm_norms", [DERIVATIONS["batchnorm"]], ["batchnorm"]),
    "minimax_landscape": ("hw4.plots.derivations:minimax_landscape", [DERIVATIONS["minimax"]], ["minimax"]),
    "sparse_coding_robustness": ("hw4.plots.sparse_coding:robustness", [DERIVATIONS["sparse_coding"]],
                                 ["sparse_coding"]),
    "overparam_curves": ("hw4.plots.overparam:overparam_curves", [OVERPARAM_DIR / "settings.json"], ["overparam"]),
    "overparam_sweep": ("hw4.plots.overparam:overparam_sweep", [OVERPARAM_DIR / "sweep.json"], ["overparam"]),
    "gan_samples": ("hw4.plots.gan:samples", [*GAN_METRICS.values()], ["gan"]),  # + samples.pt beside each
    "gan_curves": ("hw4.plots.gan:curves", [*GAN_METRICS.values()], ["gan"]),
    "gan_quality": ("hw4.plots.gan:quality", [*GAN_METRICS.values()], ["gan", "classifier"]),
}
FIGURE_FILES = [FIGURES / f"{name}.pdf" for name in FIGURE_SPECS]


def task_derive():
    """Q3, Q4 and Q5.1: derive with sympy, cross-check numerically."""
    for name, out in DERIVATIONS.items():
        yield {
            "name": name,
            "doc": f"sympy derivation and numeric checks -> {out}",
            "actions": [action(f"hw4.derivations.{name}:run", getattr(CFG, name), out, name=f"derive:{name}")],
            "file_dep": src("config.py", "derivations/__init__.py", "derivations/finite_diff.py",
                            f"derivations/{name}.py"),
            "targets": [out],
            "uptodate": [config_changed(settings(name))],
            "clean": True,
        }


def task_overparam():
    """Q1.2: SGD on the exact population loss: the step-size rule, the two settings, the sweep over m."""
    for name, (function, targets) in OVERPARAM.items():
        yield {
            "name": name,
            "doc": f"Q1.2 {name} -> {targets[0]}",
            "actions": [action(f"hw4.overparam:{function}", CFG.overparam, OVERPARAM_DIR, name=f"overparam:{name}")],
            "file_dep": [*src("config.py", "device.py", "overparam.py"),
                         *([] if name == "calibrate" else [OVERPARAM["calibrate"][1][0]])],
            "targets": targets,
            "uptodate": [config_changed(settings("overparam"))],
            "clean": True,
        }


def task_gan():
    """Q5.2: the MNIST classifier that measures samples, then each GAN experiment (resumable)."""
    weights = GAN_CLASSIFIER / "classifier.pt"
    yield {
        "name": "classifier",
        "doc": f"Q5.2 MNIST classifier -> {GAN_CLASSIFIER}",
        "actions": [action("hw4.gan.classifier:run_classifier", CFG.classifier, GAN_CLASSIFIER,
                           name="gan:classifier")],
        "file_dep": src("config.py", "device.py", "gan/__init__.py", "gan/data.py", "gan/classifier.py",
                        "gan/metrics.py"),
        "targets": [GAN_CLASSIFIER / "metrics.json", GAN_CLASSIFIER / "config.json", weights],
        "uptodate": [config_changed(settings("classifier"))],
        "clean": True,
    }
    shared = {k: v for k, v in config.as_dict(CFG.gan).items() if k != "experiments"}
    for name, metrics in GAN_METRICS.items():
        out = metrics.parent
        yield {
            "name": name,
            "doc": f"Q5.2 GAN experiment {name} -> {out}",
            "actions": [action("hw4.gan.train:run_experiment", CFG.gan, name, weights, out, name=f"gan:{name}")],
            "file_dep": [weights, *src("config.py", "device.py", "gan/__init__.py", "gan/data.py", "gan/nets.py",
                                       "gan/train.py", "gan/classifier.py", "gan/metrics.py")],
            "targets": [metrics, out / "config.json", out / "samples.pt", out / "weights.pt"],
            "uptodate": [config_changed({"gan": shared, name: config.as_dict(CFG.gan.experiments[name])})],
            "clean": [clean_targets, (_remove_tree, [out])],  # with an interrupted run's checkpoint
        }


def task_figures():
    """Every figure of the report (figures/<profile>/*.pdf), from results files only."""
    for (name, (function, inputs, sections)), out in zip(FIGURE_SPECS.items(), FIGURE_FILES):
        module = function.split(":")[0].removeprefix("hw4.").replace(".", "/")
        yield {
            "name": name,
            "doc": f"figure {out}",
            "actions": [action(function, *inputs, out, name=f"figures:{name}", task=f"figures:{name}",
                               config_hash=section_hash(*sections))],
            "file_dep": [*inputs, *src("plots/__init__.py", f"{module}.py")],
            "targets": [out],
            "clean": True,
        }


def task_provenance():
    """Record code version, tools, machine, settings, task times, data checksums, figure stamps."""
    raw = data.data_dir() / "MNIST" / "raw"
    data_files = [raw / name for name in data.FILES if (raw / name).exists()]
    return {
        "actions": [action("hw4.provenance:run", PROVENANCE, name="provenance", profile=PROFILE,
                           config_hash=CONFIG_HASH, timings_dir=TIMINGS, figure_files=FIGURE_FILES,
                           data_files=data_files)],
        "file_dep": [*RESULT_FILES, *FIGURE_FILES, *src("provenance.py")],
        "targets": [PROVENANCE],
        "uptodate": [config_changed(provenance.git_state())],
        "clean": [clean_targets, (_remove_tree, [TIMINGS])],
    }


def task_render():
    """Fill the LaTeX templates from the results files."""
    templates = sorted(map(str, paths.TEMPLATES.glob("*.tex.j2")))
    targets = [BUILD / Path(t).name.removesuffix(".j2") for t in templates] + [BUILD / paths.BIB.name]
    return {
        "actions": [action("hw4.render:render", RESULTS, paths.TEMPLATES, paths.BIB, BUILD, name="render",
                           report=config.as_dict(CFG.report), profile=PROFILE, config_hash=CONFIG_HASH)],
        "file_dep": [*templates, str(paths.BIB), *RESULT_FILES, PROVENANCE,
                     *src("render/__init__.py", "render/templates.py")],
        "targets": targets,
        "uptodate": [config_changed(settings("report"))],
        "clean": True,
    }


def task_pdf():
    """Compile report/hw4.pdf with latexmk (strict: fails on any unresolved reference)."""
    rendered = task_render()["targets"]
    return {
        "actions": [action("hw4.render.latex:build_pdf", BUILD, paths.pdf(PROFILE), name="pdf")],
        "file_dep": [*rendered, *FIGURE_FILES, *src("render/latex.py")],
        "targets": [paths.pdf(PROFILE)],
        "clean": [clean_targets, (_remove_tree, [BUILD])],
    }


def _remove_tree(path):
    import shutil

    shutil.rmtree(path, ignore_errors=True)
