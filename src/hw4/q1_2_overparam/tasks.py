"""Q1.2's tasks: the step-size rule, the two required settings, the bonus sweep, their figures."""
from __future__ import annotations

from hw4.core.build import Build

QUESTION = "q1_2_overparam"


def tasks(b: Build):
    out = b.out(QUESTION)
    lr, settings, sweep = out / "lr.json", out / "settings.json", out / "sweep.json"
    section = b.settings("overparam")
    yield b.task(QUESTION, "calibrate", "hw4.q1_2_overparam.experiments:run_calibration", b.cfg.overparam, out,
                 targets=[lr], settings=section, doc=f"the step-size rule lr = c/m, measured -> {lr}")
    yield b.task(QUESTION, "settings", "hw4.q1_2_overparam.experiments:run_settings", b.cfg.overparam, out,
                 targets=[settings, out / "settings_weights.pt"], file_dep=[lr], settings=section,
                 doc=f"SGD for m = d and m = 10 d -> {settings}")
    yield b.task(QUESTION, "sweep", "hw4.q1_2_overparam.experiments:run_sweep", b.cfg.overparam, out,
                 targets=[sweep, out / "sweep_weights.pt"], file_dep=[lr], settings=section,
                 doc=f"the bonus sweep over m -> {sweep}")
    yield b.figure_task(QUESTION, "overparam_curves", "hw4.q1_2_overparam.figures:overparam_curves",
                        [settings], ["overparam"])
    yield b.figure_task(QUESTION, "overparam_sweep", "hw4.q1_2_overparam.figures:overparam_sweep",
                        [sweep], ["overparam"])
