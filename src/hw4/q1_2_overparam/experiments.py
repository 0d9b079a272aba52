"""Q1.2's experiments: the step-size rule, the two required settings and the bonus sweep over m.

Each run_* function is a task edge: it reads the [overparam] config section, trains, and writes
one results file (with the settings it ran with) and the final weights.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from hw4.core.device import cpu_threads
from hw4.core.errors import Hw4Error
from hw4.core.store import load_json, save_result, save_torch
from hw4.q1_2_overparam.endpoints import STATUSES, certify, sgd_state, summarize, wilson
from hw4.q1_2_overparam.loss import ROUNDING_FLOOR, target_energy
from hw4.q1_2_overparam.safran import descend_their_way
from hw4.q1_2_overparam.settle import settle
from hw4.q1_2_overparam.sgd import init, log_grid, train
from hw4.q1_2_overparam.streams import CALIBRATION, CURVATURE, SETTINGS, SWEEP, derive_seed, generator

# ----------------------------------------------------------------------------- the learning-rate rule

def stable_scale(m: int, section) -> float | None:
    """The largest c on the grid for which constant-step SGD with lr = c/m stays stable at width m.

    Stable: after calib_steps steps every seed's exact loss is finite and below its start.
    The grid is walked upwards and stops at the first unstable value.
    """
    best = None
    for c in sorted(section.lr_grid):
        W = init(section.calib_seeds, m, section.d, generator(section.seed, m, CALIBRATION))
        run = train(W, lr=c / m, batch=section.batch, steps=section.calib_steps, anneal_frac=0.0,
                    anneal_to=1.0, evals=2, seed=derive_seed(section.seed, m, CALIBRATION + 1))
        start, end = run["loss"][:, 0], run["loss"][:, -1]
        if not bool((torch.isfinite(end) & (end < start)).all()):
            break
        best = c
    return best


def calibrate(section) -> dict:
    """Rule: lr = c / m with c = lr_safety * min over m of the largest stable c.

    With h a sum (not a mean) of m units, the curvature of f grows about linearly in m, so a
    step proportional to 1/m keeps lr * curvature, and thus the stability margin, about constant
    across widths; one c for all m keeps the sweep a comparison of widths, not of step sizes.
    """
    widths = sorted(set(section.settings_m) | set(section.sweep_m))
    stable = {m: stable_scale(m, section) for m in widths}
    failed = [m for m, c in stable.items() if c is None]
    if failed:
        raise Hw4Error(f"overparam: no step scale in lr_grid is stable for m = {failed[0]}; "
                       f"add smaller values to [overparam] lr_grid in hw4.toml")
    worst = min(stable.values())
    scale = section.lr_safety * worst
    return {"widths": [{"m": m, "stable_scale": c, "lr": scale / m} for m, c in stable.items()],
            "stable_scale_min": worst, "stable_scale_max": max(stable.values()),
            "scale": scale, "safety": section.lr_safety, "batch": section.batch}


# ----------------------------------------------------------------------------- experiments (edges)

def _train_width(section, m: int, seeds: int, steps: int, scale: float, purpose: int, mc: bool,
                 label: str) -> dict:
    W = init(seeds, m, section.d, generator(section.seed, m, purpose))
    grid = log_grid(steps, section.evals)
    mc_at = tuple(grid[round(i * (len(grid) - 1) / max(section.mc_points - 1, 1))]
                  for i in range(section.mc_points)) if mc else ()
    run = train(W, lr=scale / m, batch=section.batch, steps=steps,
                anneal_frac=section.anneal_frac, anneal_to=section.anneal_to, evals=section.evals,
                seed=derive_seed(section.seed, m, purpose + 1),
                mc_at=mc_at, mc_samples=section.mc_samples, progress=label)
    if not bool(torch.isfinite(run["loss"]).all()):
        raise Hw4Error(f"overparam: SGD diverged at m = {m}; lower [overparam] lr_safety in hw4.toml")
    return run


def _curves(run: dict) -> dict:
    return {"steps": run["steps"], "loss": run["loss"]}


def _mc_check(run: dict) -> dict:
    """Monte Carlo estimates against the exact curve: z-scores where f is above float64 rounding."""
    exact = dict(zip(run["steps"], run["loss"].T))
    z = []
    for point in run["mc"]:
        f = exact[point["step"]]
        keep = (f > ROUNDING_FLOOR) & (point["se"] > 0)
        z.append(((point["mean"] - f) / point["se"])[keep])
    z = torch.cat(z)
    return {"points": [{"step": p["step"], "mean": p["mean"], "se": p["se"]} for p in run["mc"]],
            "compared": z.numel(), "max_abs_z": z.abs().max().item() if z.numel() else None,
            "frac_within_2se": (z.abs() <= 2).double().mean().item() if z.numel() else None}


def run_calibration(section, out_dir) -> None:
    """Edge: measure the step-size rule's stability grid; write lr.json."""
    t0 = time.perf_counter()
    with cpu_threads(section.cpu_threads):
        result = calibrate(section)
    save_result(Path(out_dir) / "lr.json", {**result, "seconds": time.perf_counter() - t0}, section)


def _width(section, m: int, seeds: int, steps: int, scale: float, purpose: int, mc: bool, label: str):
    """One width of the assignment's protocol: SGD, then the continuation of its end points on
    the exact loss (L-BFGS after sweep_gd_steps of gradient descent at the SGD's own step) and
    the certificate. Returns the summary record and the SGD and certified end points."""
    run = _train_width(section, m, seeds, steps, scale, purpose, mc, label)
    rng = generator(section.seed, m, purpose + CURVATURE)
    sgd_end = sgd_state(run["W"], section, rng)
    end = settle(run["W"], scale / m, section.sweep_gd_steps, section)
    cert = certify(end["W"], section, rng)
    record = {**summarize(run, m, section, steps, end, cert, sgd_end), "lr": scale / m, "curves": _curves(run)}
    return record, run, end


def run_settings(section, out_dir) -> None:
    """Edge: the two required settings with Monte Carlo checkpoints; settings.json + final weights."""
    out_dir = Path(out_dir)
    scale = load_json(out_dir / "lr.json")["scale"]
    runs, weights = [], []
    t0 = time.perf_counter()
    with cpu_threads(section.cpu_threads):
        for m in section.settings_m:
            record, run, end = _width(section, m, section.settings_seeds, section.settings_steps, scale,
                                      SETTINGS, True, f"Q1.2 m={m}")
            runs.append({**record, "mc": _mc_check(run)})
            weights.append({"m": m, "W_sgd": run["W"], "W": end["W"]})
    result = {"scale": scale, "f0": target_energy(section.d), "runs": runs, "seconds": time.perf_counter() - t0}
    save_torch(out_dir / "settings_weights.pt", weights)
    save_result(out_dir / "settings.json", result, section)


def run_sweep(section, out_dir) -> None:
    """Edge: the bonus sweep over m; sweep.json (per-width summaries and curves) + end points."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    scale = load_json(out_dir / "lr.json")["scale"]
    rows, weights = [], []
    t0 = time.perf_counter()
    with cpu_threads(section.cpu_threads):
        for m in tqdm(sorted(section.sweep_m), desc="Q1.2 sweep over m", disable=None):
            record, run, end = _width(section, m, section.sweep_seeds, section.sweep_steps, scale, SWEEP,
                                      False, f"m={m}")
            rows.append(record)
            weights.append({"m": m, "W_sgd": run["W"], "W": end["W"]})
    # the smallest width from which on no run of any larger width ended at a spurious minimum
    clean = [r["m"] for i, r in enumerate(rows) if all(later["n_spurious"] == 0 for later in rows[i:])]
    # widths whose median run reached loss_tol, and the quickest of them
    reached = [r for r in rows if r["median_steps_to_tol"] is not None]
    fastest = min(reached, key=lambda r: r["median_steps_to_tol"])["m"] if reached else None
    result = {"scale": scale, "widths": rows, "clean_from_m": clean[0] if clean else None,
              "reached_m": [r["m"] for r in reached], "fastest_m": fastest,
              "seconds": time.perf_counter() - t0}
    save_torch(out_dir / "sweep_weights.pt", weights)
    save_result(out_dir / "sweep.json", result, section)


# ----------------------------------------------------------------------------- the two protocols compared

def _counts(status: list[str]) -> dict:
    return {f"n_{k}": status.count(k) for k in STATUSES}


def _paired(a: list[str], b: list[str]) -> dict:
    """Two label lists over the same initialisations: how often they agree, and how the spurious
    ones move (a spurious, b not; a not, b spurious)."""
    return {"agree": sum(x == y for x, y in zip(a, b)),
            "only_first_spurious": sum(x == "spurious" and y != "spurious" for x, y in zip(a, b)),
            "only_second_spurious": sum(x != "spurious" and y == "spurious" for x, y in zip(a, b))}


def _gd_from(W: torch.Tensor, lr: float | None, section, rng: torch.Generator) -> dict:
    """Plain gradient descent from W with step lr on f, or Safran & Shamir's (lr None), continued
    and certified: the labels, their counts, and how the continuation went."""
    if lr is None:
        end, step_F, diverged = descend_their_way(W, section, section.compare_gd_steps)
        lr = step_F / 2
    else:
        end, diverged = settle(W, lr, section.compare_gd_steps, section), False
    status = certify(end["W"], section, rng)["status"]
    decided = [s for s in end["gd_steps"] if s is not None]
    return {"lr": lr, "their_step_diverged": diverged, "status": status, **_counts(status), "frac_spurious": status.count("spurious") / len(status),
            "spurious_ci95": wilson(status.count("spurious"), len(status)), "n_diverged": end["diverged"],
            "n_lbfgs": sum(h.startswith("lbfgs") for h in end["how"]),
            "gd_steps_max": max(decided) if decided else None}


def run_compare(section, out_dir) -> None:
    """Edge: the sweep's own initialisations at the widths compare_m, run by plain gradient
    descent on the exact loss, with the SGD's step c/m (what SGD's noise changes) and with
    Safran & Shamir's step (what the step size changes); compare.json, one record per width,
    with the labels paired with the SGD runs' from sweep.json. Their initialisation is the
    assignment's (N(0, I/d) rows), so the initial scale is the same by construction."""
    out_dir = Path(out_dir)
    scale = load_json(out_dir / "lr.json")["scale"]
    sgd = {r["m"]: r for r in load_json(out_dir / "sweep.json")["widths"]}
    rows = []
    t0 = time.perf_counter()
    with cpu_threads(section.cpu_threads):
        for m in section.compare_m:
            W0 = init(section.sweep_seeds, m, section.d, generator(section.seed, m, SWEEP))
            rng = generator(section.seed, m, SWEEP + CURVATURE + 1)
            ours = _gd_from(W0, scale / m, section, rng)
            theirs = _gd_from(W0, None, section, rng)
            sgd_status = sgd[m]["status"]
            rows.append({"m": m, "seeds": section.sweep_seeds, "sgd": {**_counts(sgd_status),
                         "frac_spurious": sgd[m]["frac_spurious"], "spurious_ci95": sgd[m]["spurious_ci95"]},
                         "gd_our_step": ours, "gd_their_step": theirs,
                         "sgd_vs_gd_our_step": _paired(sgd_status, ours["status"]),
                         "gd_our_vs_their_step": _paired(ours["status"], theirs["status"]),
                         "sgd_vs_gd_their_step": _paired(sgd_status, theirs["status"])})
    save_result(out_dir / "compare.json", {"widths": rows, "scale": scale, "seconds": time.perf_counter() - t0},
                section)


def run_check(section, out_dir, table: str) -> None:
    """Edge: does the way a run is finished change where it ends? (1) From the SGD end points at the
    widths compare_m, plain gradient descent at the SGD's step (up to compare_gd_steps, then
    Newton in the bowl of a minimum) against the sweep's L-BFGS labels. (2) In Safran & Shamir's
    cell check_cell, from every point where gradient descent handed a run to Newton's method,
    plain gradient descent with their step, on until |grad f| <= grad_tol: does it end at the
    point Newton's method found (within check_distance)? The cell's results are in
    safran_<table>. check.json: one record per width, and the cell's record."""
    from hw4.core.store import load_torch
    from hw4.q1_2_overparam.settle import descend

    out_dir = Path(out_dir)
    scale = load_json(out_dir / "lr.json")["scale"]
    sgd = {r["m"]: r for r in load_json(out_dir / "sweep.json")["widths"]}
    ends = {w["m"]: w["W_sgd"] for w in load_torch(out_dir / "sweep_weights.pt")}
    rows = []
    t0 = time.perf_counter()
    with cpu_threads(section.cpu_threads):
        for m in section.compare_m:
            gd = _gd_from(ends[m], scale / m, section, generator(section.seed, m, SWEEP + CURVATURE + 2))
            rows.append({"m": m, "seeds": len(gd["status"]), "gd": gd,
                         "lbfgs_vs_gd": _paired(sgd[m]["status"], gd["status"])})
        k, n = section.check_cell
        cell = next(c for c in load_torch(out_dir / f"safran_{table}_weights.pt") if (c["k"], c["n"]) == (k, n))
        handed = ~torch.isnan(cell["W_handed"]).flatten(1).any(1)
        plain = descend(cell["W_handed"][handed], cell["step"] / 2, section.compare_gd_steps, section, handover=False)
        distance = (plain["W"] - cell["W"][handed]).flatten(1).abs().amax(1)
        converged = [s is not None for s in plain["left_at"]]
        newton = {"k": k, "n": n, "table": table, "handed": int(handed.sum()), "converged": sum(converged),
                  "close": int((distance <= section.check_distance).sum()),
                  "max_distance": distance.max().item() if handed.any() else None,
                  "gd_steps_max": max((s for s in plain["left_at"] if s is not None), default=None)}
    save_result(out_dir / "check.json", {"widths": rows, "newton": newton, "seconds": time.perf_counter() - t0},
                section)
