"""Q1.2's tasks: the step-size rule, the two required settings, the bonus sweep, Safran & Shamir's
tables, the two protocols compared, and their figures. Each task runs on one thread
([overparam] cpu_threads), so independent ones run side by side."""
from __future__ import annotations

from hw4.core.build import Build

QUESTION = "q1_2_overparam"
EXPERIMENTS = "hw4.q1_2_overparam.experiments"


def check_table(cfg) -> str:
    """Which of Safran & Shamir's tables holds the cell check_cell (the config made sure one does)."""
    k, n = cfg.check_cell
    if n == k and k in cfg.ss_square_k:
        return "square"
    return "plus_one" if n == k + 1 and k in cfg.ss_plus_one_k else "wide"


def tasks(b: Build):
    out = b.out(QUESTION)
    lr, settings, sweep = out / "lr.json", out / "settings.json", out / "sweep.json"
    compare, check = out / "compare.json", out / "check.json"
    safran = {t: out / f"safran_{t}.json" for t in ("square", "plus_one", "wide")}
    section = b.settings("overparam")
    cfg = b.cfg.overparam
    yield b.task(QUESTION, "calibrate", f"{EXPERIMENTS}:run_calibration", cfg, out,
                 targets=[lr], settings=section, doc=f"the step-size rule lr = c/m, measured -> {lr}")
    yield b.task(QUESTION, "settings", f"{EXPERIMENTS}:run_settings", cfg, out,
                 targets=[settings, out / "settings_weights.pt"], file_dep=[lr], settings=section,
                 doc=f"SGD for m = d and m = 10 d, end points certified -> {settings}")
    yield b.task(QUESTION, "sweep", f"{EXPERIMENTS}:run_sweep", cfg, out,
                 targets=[sweep, out / "sweep_weights.pt"], file_dep=[lr], settings=section,
                 doc=f"the bonus sweep over m, end points certified -> {sweep}")
    yield b.task(QUESTION, "compare", f"{EXPERIMENTS}:run_compare", cfg, out,
                 targets=[compare], file_dep=[lr, sweep], settings=section,
                 doc=f"the sweep's initialisations by gradient descent, our step and theirs -> {compare}")
    table = check_table(cfg)
    yield b.task(QUESTION, "check", f"{EXPERIMENTS}:run_check", cfg, out, table,
                 targets=[check], file_dep=[lr, sweep, out / "sweep_weights.pt", safran[table],
                                            out / f"safran_{table}_weights.pt"], settings=section,
                 doc=f"the end points finished by plain gradient descent instead of L-BFGS or Newton -> {check}")
    for table, path in safran.items():
        yield b.task(QUESTION, f"safran_{table}", "hw4.q1_2_overparam.safran:run_table", cfg, out, table,
                     targets=[path, out / f"safran_{table}_weights.pt"], settings=section,
                     doc=f"Safran & Shamir's protocol, cells {table.replace('_', ' ')} -> {path}")
    yield b.claims_task(QUESTION, "hw4.q1_2_overparam.claims",
                        {"lr": lr, "settings": settings, "sweep": sweep, "compare": compare, "check": check,
                         **safran})
    yield b.figure_task(QUESTION, "overparam_curves", "hw4.q1_2_overparam.figures:overparam_curves",
                        [settings], ["overparam"])
    yield b.figure_task(QUESTION, "overparam_sweep", "hw4.q1_2_overparam.figures:overparam_sweep",
                        [sweep, *safran.values()], ["overparam"])
