"""Safran & Shamir (2018)'s experiment, rerun on the same closed-form loss.

Their setting is ours with the target weights V = I_k in input dimension k, n student units,
and the loss F = f / 2. Their protocol (as documented in the follow-up code of Safran, Yehudai &
Shamir): Xavier initialisation W = randn(n, k) / sqrt(k), plain gradient descent on the exact
population loss with step 5/k, run until the gradient vanishes, then the smallest Hessian
eigenvalue checked positive. A gradient step of size eta on F is a step of eta / 2 on f, and the
Hessian of F is half that of f: we report their quantities (F, its Hessian) in their units.

Gradient descent decides the basin here; once a run is inside the quadratic bowl of a minimum,
Newton's method takes it to the bottom (settle.descend), and runs gradient descent leaves
undecided after ss_gd_steps go on with L-BFGS (counted).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from hw4.core.device import cpu_threads
from hw4.core.store import save_result, save_torch
from hw4.q1_2_overparam.endpoints import certify, wilson
from hw4.q1_2_overparam.loss import exact_loss
from hw4.q1_2_overparam.settle import settle
from hw4.q1_2_overparam.streams import SAFRAN, generator

# The share of gradient-descent runs that ended at a spurious local minimum, in percent, as
# reported in their Tables 1 (n = k) and 2 (n = k + 1), with the digits they print. Read from an
# image of the tables; their run count per cell is not stated there.
REPORTED = {
    (6, 6): "0.3", (7, 7): "5.5", (8, 8): "12.6", (9, 9): "21.8", (10, 10): "34.6", (11, 11): "45.5",
    (12, 12): "58.5", (13, 13): "73", (14, 14): "73.6", (15, 15): "80.3", (16, 16): "85.1",
    (17, 17): "89.7", (18, 18): "90", (19, 19): "93.4", (20, 20): "94",
    (8, 9): "0.1", (10, 11): "0.1", (11, 12): "0.1", (12, 13): "0.3", (13, 14): "1.5", (14, 15): "5.5",
    (15, 16): "10.1", (16, 17): "18", (17, 18): "20.9", (18, 19): "36.9", (19, 20): "49.1",
}


def tables(section) -> dict[str, list[tuple[int, int]]]:
    """The cells (k, n) of each table: n = k, n = k + 1, and k = d at the sweep's widths."""
    return {"square": [(k, k) for k in section.ss_square_k],
            "plus_one": [(k, k + 1) for k in section.ss_plus_one_k],
            "wide": [(section.d, n) for n in section.ss_wide_n]}


def xavier(runs: int, n: int, k: int, generator: torch.Generator) -> torch.Tensor:
    """Their initialisation: W = randn(n, k) / sqrt(k), i.e. each w_i ~ N(0, I/k), which for k = d
    is exactly the assignment's N(0, I/d)."""
    return torch.randn(runs, n, k, generator=generator, dtype=torch.float64) / math.sqrt(k)


def their_loss(W: torch.Tensor) -> torch.Tensor:
    """Their objective, (1/2) E[(sum_i relu(<w_i, x>) - sum_j relu(x_j))^2] = f / 2."""
    return exact_loss(W) / 2


def descend_their_way(W0: torch.Tensor, section, gd_steps: int) -> tuple[dict, float, bool]:
    """Their gradient descent from W0 (S, n, k), continued to a critical point (settle.settle).

    Their step ss_step / k on F is ss_step / (2 k) on f. Where it diverges from some
    initialisation (it is too large for wide students: the curvature grows like n), all runs are
    redone with ss_step / n, the same rule scaled like the curvature. Returns the continuation,
    the step used (on F) and whether theirs diverged.
    """
    _, n, k = W0.shape
    run = settle(W0, section.ss_step / (2 * k), gd_steps, section)
    if not run["diverged"]:
        return run, section.ss_step / k, False
    return settle(W0, section.ss_step / (2 * n), gd_steps, section), section.ss_step / n, True


def run_cell(k: int, n: int, section, init_rng: torch.Generator, eig_rng: torch.Generator) -> dict:
    """One cell: ss_runs runs of their protocol, continued to critical points and certified."""
    t0 = time.perf_counter()
    W0 = xavier(section.ss_runs, n, k, init_rng)
    run, step, their_step_diverged = descend_their_way(W0, section, section.ss_gd_steps)
    cert = certify(run["W"], section, eig_rng)
    status = cert["status"]
    count = {s: status.count(s) for s in ("global", "spurious", "saddle", "unresolved")}
    spur = [i for i, s in enumerate(status) if s == "spurious"]
    decided = [s for s in run["gd_steps"] if s is not None]
    reported = REPORTED.get((k, n))
    return {
        "record": {
            "k": k, "n": n, "runs": section.ss_runs, "step": step, "their_step_diverged": their_step_diverged,
            **{f"n_{s}": c for s, c in count.items()},
            "frac_spurious": count["spurious"] / section.ss_runs,
            "spurious_ci95": wilson(count["spurious"], section.ss_runs),
            "reported_pct": None if reported is None else float(reported), "reported_text": reported,
            # their units: F = f / 2 and its Hessian, half of f's
            "spurious_F_mean": their_loss(run["W"][spur]).mean().item() if spur else None,
            "spurious_eig_F_mean": cert["min_eig"][spur].mean().item() / 2 if spur else None,
            "spurious_eig_F_min": cert["min_eig"][spur].min().item() / 2 if spur else None,
            "spurious_loss_min": cert["loss"][spur].min().item() if spur else None,
            "n_degenerate": int(((cert["vanishing"] | cert["parallel"]) & (cert["loss"] >= section.loss_tol)).sum()),
            "grad_max_spurious": cert["grad_norm"][spur].max().item() if spur else None,
            "n_gd": run["how"].count("gd"), "n_newton": sum(h.endswith("newton") for h in run["how"]),
            "n_lbfgs": sum(h.startswith("lbfgs") for h in run["how"]), "n_diverged": run["diverged"],
            "gd_steps_median": sorted(decided)[len(decided) // 2] if decided else None,
            "gd_steps_max": max(decided) if decided else None,
            "seconds": time.perf_counter() - t0,
        },
        "W": run["W"], "status": status, "handed": run["handed"],
    }


def agrees(record: dict) -> bool | None:
    """Whether their reported share lies inside our 95% interval (None where they report none)."""
    if record["reported_pct"] is None:
        return None
    lo, hi = record["spurious_ci95"]
    return lo <= record["reported_pct"] / 100 <= hi


def run_table(section, out_dir, table: str) -> None:
    """Edge: one table of cells; writes safran_<table>.json (one record per cell) and the end points."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    cells, weights = [], []
    with cpu_threads(section.cpu_threads):
        for k, n in tables(section)[table]:
            out = run_cell(k, n, section, generator(section.seed, k, n, SAFRAN),
                           generator(section.seed, k, n, SAFRAN + 1))
            cells.append({**out["record"], "agrees": agrees(out["record"])})
            weights.append({"k": k, "n": n, "W": out["W"], "status": out["status"], "W_handed": out["handed"],
                            "step": out["record"]["step"]})
    save_torch(out_dir / f"safran_{table}_weights.pt", weights)
    save_result(out_dir / f"safran_{table}.json", {"table": table, "cells": cells,
                                                   "seconds": time.perf_counter() - t0}, section)
