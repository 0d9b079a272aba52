"""Q1.2's experiments: the step-size rule, the two required settings and the bonus sweep over m.

Each run_* function is a task edge: it reads the [overparam] config section, trains, and writes
one results file (with the settings it ran with) and the final weights.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import torch

from hw4.core.device import cpu_threads
from hw4.core.errors import Hw4Error
from hw4.core.store import load_json, save_result, save_torch
from hw4.q1_2_overparam.endpoints import summarize
from hw4.q1_2_overparam.loss import ROUNDING_FLOOR, target_energy
from hw4.q1_2_overparam.sgd import init, log_grid, train

# Tags that name the random streams (with the base seed and the width): calibration draws its
# weights from tag 2 and samples from 3; the settings and the sweep draw weights from their tag
# and SGD samples from tag + 1, so the two are independent replications.
CALIBRATION, SETTINGS, SWEEP = 2, 10, 20


# ----------------------------------------------------------------------------- the learning-rate rule

def derive_seed(*parts: int) -> int:
    """A seed from integers (base seed, width, purpose), so every stream is independent and named."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:7], "big")


def generator(*parts: int) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(*parts))


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


def run_settings(section, out_dir) -> None:
    """Edge: the two required settings with Monte Carlo checkpoints; settings.json + final weights."""
    out_dir = Path(out_dir)
    scale = load_json(out_dir / "lr.json")["scale"]
    runs, weights = [], []
    t0 = time.perf_counter()
    with cpu_threads(section.cpu_threads):
        for m in section.settings_m:
            steps = section.settings_steps
            run = _train_width(section, m, section.settings_seeds, steps, scale, SETTINGS, True, f"Q1.2 m={m}")
            runs.append({**summarize(run, m, section, steps), "lr": scale / m, "curves": _curves(run),
                         "mc": _mc_check(run)})
            weights.append({"m": m, "W": run["W"]})
    result = {"scale": scale, "f0": target_energy(section.d), "runs": runs, "seconds": time.perf_counter() - t0}
    save_torch(out_dir / "settings_weights.pt", weights)
    save_result(out_dir / "settings.json", result, section)


def run_sweep(section, out_dir) -> None:
    """Edge: the bonus sweep over m; sweep.json (per-width summaries and curves) + final weights."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    scale = load_json(out_dir / "lr.json")["scale"]
    rows, weights = [], []
    t0 = time.perf_counter()
    with cpu_threads(section.cpu_threads):
        for m in tqdm(sorted(section.sweep_m), desc="Q1.2 sweep over m", disable=None):
            steps = section.sweep_steps
            run = _train_width(section, m, section.sweep_seeds, steps, scale, SWEEP, False, f"m={m}")
            rows.append({**summarize(run, m, section, steps), "lr": scale / m, "curves": _curves(run)})
            weights.append({"m": m, "W": run["W"]})
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
