"""How a Q1.2 run ended: global minimum, spurious local minimum, saddle, or still moving;
and the per-width summary the report and figures read."""
from __future__ import annotations

import math

import torch

from hw4.q1_2_overparam.loss import ROUNDING_FLOOR, hessian

STATUSES = ("global", "spurious", "saddle", "unresolved")


def covered_targets(W: torch.Tensor, cover_cos: float) -> torch.Tensor:
    """How many targets e_j have a unit within angle arccos(cover_cos), per seed.

    f = 0 forces every unit onto a target axis and every axis to be used, so an uncovered
    target is the signature of a run stuck away from the global minima.
    """
    unit = W / W.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    return (unit.max(dim=-2).values >= cover_cos).sum(-1)


def stuck(loss: torch.Tensor, grad_norm: torch.Tensor, uncovered: torch.Tensor, section) -> torch.Tensor:
    """Runs at rest away from the global minima: f >= loss_tol at a near-stationary point
    (|grad f| < grad_tol) that misses at least one target, so not merely creeping towards zero loss."""
    return (loss >= section.loss_tol) & (grad_norm < section.grad_tol) & (uncovered > 0)


def classify(loss: torch.Tensor, grad_norm: torch.Tensor, uncovered: torch.Tensor,
             min_eig: torch.Tensor, section) -> list[str]:
    """How each run ended, from its final exact loss, gradient norm, coverage and curvature.

    'global': f < loss_tol. Stuck runs (above) are 'saddle' when the exact Hessian there has a
    negative eigenvalue and 'spurious' (a spurious local minimum) otherwise (min_eig is NaN where
    the Hessian was not computed). 'unresolved': anything else, still moving when training stopped.
    """
    out = []
    for f, at_rest, e in zip(loss.tolist(), stuck(loss, grad_norm, uncovered, section).tolist(), min_eig.tolist()):
        if f < section.loss_tol:
            out.append("global")
        elif not at_rest:
            out.append("unresolved")
        else:
            out.append("saddle" if e < 0 else "spurious")
    return out


def steps_to(curve_steps: list[int], loss: torch.Tensor, level: float) -> list[int | None]:
    """When each seed's loss first falls below `level` (None if never): log-log interpolation
    between the two evaluations around the crossing, finer than the evaluation grid itself."""
    out = []
    for row in loss.tolist():
        i = next((k for k, f in enumerate(row) if f < level), None)
        if i is None or i == 0 or curve_steps[i - 1] == 0 or row[i] <= 0:
            out.append(None if i is None else curve_steps[i])
            continue
        (t0, t1), (f0, f1) = curve_steps[i - 1:i + 1], row[i - 1:i + 1]
        frac = math.log(f0 / level) / math.log(f0 / f1)
        out.append(round(t0 * (t1 / t0) ** frac))
    return out


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval for a binomial proportion: honest at 0 and 1, unlike the normal one."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def late_slope(curve_steps: list[int], loss: torch.Tensor, start: int, end: int) -> torch.Tensor:
    """The least-squares slope of log f against log t over the evaluations in [start, end], per
    seed: about 0 on a plateau, about -a while f falls like t^-a."""
    keep = [i for i, s in enumerate(curve_steps) if start <= s <= end and s > 0]
    t = torch.tensor([curve_steps[i] for i in keep], dtype=torch.float64).log()
    y = loss[:, keep].clamp_min(1e-300).log()
    t = t - t.mean()
    return ((y - y.mean(-1, keepdim=True)) * t).sum(-1) / (t * t).sum()


def summarize(run: dict, m: int, section, steps: int) -> dict:
    """Everything the text and figures need about one width m: classes, quantiles, checks."""
    loss, gnorm, W = run["loss"][:, -1], run["grad_norm"], run["W"]
    S, _, d = W.shape
    uncovered = d - covered_targets(W, section.cover_cos)
    at_rest = stuck(loss, gnorm, uncovered, section)
    min_eig = torch.full((S,), math.nan, dtype=torch.float64)
    if m * d <= section.hessian_max_params:
        for i in at_rest.nonzero()[:, 0].tolist():  # a handful of runs, each a (m d)^2 matrix
            min_eig[i] = torch.linalg.eigvalsh(hessian(W[i]))[0]
    status = classify(loss, gnorm, uncovered, min_eig, section)
    n = {k: status.count(k) for k in STATUSES}
    reach = steps_to(run["steps"], run["loss"], section.loss_tol)
    reached = sorted(s for s in reach if s is not None)
    half = run["steps"].index(min(run["steps"], key=lambda s: abs(s - steps // 2)))
    # the slope over the last three quarters of the constant-step phase, for runs whose curve
    # stays above float64 rounding there (a run sitting at f ~ 1e-13 has no meaningful slope)
    decay_start = int(steps * (1 - section.anneal_frac))
    slope = late_slope(run["steps"], run["loss"], decay_start // 4, decay_start)
    window = [i for i, s in enumerate(run["steps"]) if decay_start // 4 <= s <= decay_start]
    measurable = (run["loss"][:, window] > ROUNDING_FLOOR).all(-1)
    q = torch.quantile(loss, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64)).tolist()
    out = {
        "m": m, "seeds": S, "status": status, "final_loss": loss, "final_grad_norm": gnorm,
        "uncovered": uncovered, "steps_to_tol": reach,
        **{f"n_{k}": n[k] for k in STATUSES}, **{f"frac_{k}": n[k] / S for k in STATUSES},
        "spurious_ci95": wilson(n["spurious"], S), "n_stuck": int(at_rest.sum()),
        "stuck_min_eig": [None if math.isnan(e) else e for e in min_eig[at_rest].tolist()],
        "stuck_unchecked": int((at_rest & min_eig.isnan()).sum()),
        "loss_min": q[0], "loss_q25": q[1], "loss_median": q[2], "loss_q75": q[3], "loss_max": q[4],
        # the median over all seeds, defined once at least half of them got there
        "median_steps_to_tol": reached[(S + 1) // 2 - 1] if len(reached) >= (S + 1) // 2 else None,
        "seconds": run["seconds"], "late_slope": slope, "slope_from": decay_start // 4,
        "slope_to": decay_start,
    }
    groups = {k: [i for i, s in enumerate(status) if s == k] for k in STATUSES}
    for k, idx in groups.items():
        if idx:  # how far the loss fell over the second half of training: ~1 when stuck
            drop = loss[idx] / run["loss"][idx, half].clamp_min(1e-300)
            out[f"{k}_drop_median"] = drop.median().item()
            out[f"{k}_uncovered_max"] = int(uncovered[idx].max())
            out[f"{k}_grad_max"] = gnorm[idx].max().item()
            out[f"{k}_loss_max"] = loss[idx].max().item()
            out[f"{k}_loss_min"] = loss[idx].min().item()
            ok = [i for i in idx if measurable[i]]
            if ok:
                out[f"{k}_slope_median"] = slope[ok].median().item()
    spur = groups["spurious"]
    if spur:
        # each uncovered target, and the unit pointing most nearly against it
        cos = W[spur] / W[spur].norm(dim=-1, keepdim=True).clamp_min(1e-300)   # (n, m, d)
        missed = cos.max(dim=-2).values < section.cover_cos
        out["opposite_cos_max"] = cos.min(dim=-2).values[missed].max().item()
        per_target = loss[spur] / uncovered[spur].double()
        out["loss_per_uncovered"] = {"mean": per_target.mean().item(), "min": per_target.min().item(),
                                     "max": per_target.max().item()}
        eig = min_eig[spur]
        checked = eig > 0  # NaN (not computed) compares False
        if checked.any():
            out["spurious_min_eig_min"] = eig[checked].min().item()
            # If f is lambda-strongly convex around the end point, the minimum next to it has
            # f >= f(end) - |grad f(end)|^2 / (2 lambda) > 0: the minimum itself is spurious.
            bound = loss[spur][checked] - gnorm[spur][checked] ** 2 / (2 * eig[checked])
            out["spurious_value_bound_min"] = bound.min().item()
    if groups["saddle"]:
        out["saddle_min_eig_max"] = min_eig[groups["saddle"]].max().item()
    return out


