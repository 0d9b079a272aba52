"""How a Q1.2 run ended, certified: a global minimum, a spurious local minimum, a saddle, or
(only when a stated budget ran out or the point is degenerate) unresolved; and the per-width
summary the report and figures read.

The certificate, at the end point W of a run continued on the exact loss (settle.py):
- global: f(W) < loss_tol.
- spurious: f(W) >= loss_tol, |grad f(W)| <= grad_tol, and the smallest Hessian eigenvalue,
  less its accuracy, is lambda > eig_margin. If f is lambda-strongly convex near W, the minimum
  next to W lies within |grad f| / lambda of it and has value at least f - |grad f|^2 / (2 lambda);
  that bound must be positive, so the minimum itself is spurious (its loss is not 0).
- saddle: f(W) >= loss_tol, |grad f(W)| <= newton_grad and an eigenvalue below -eig_margin
  (a Rayleigh quotient below it is a proof: the smallest eigenvalue is at most that).
- degenerate points: where a unit is shorter than degenerate_tol, f is not differentiable (k(w, v)
  is |w| times a function of w's direction), so no second-order certificate exists: unresolved.
  Where two units are within an angle degenerate_tol of each other, they act as one:
  w_a = a u, w_b = b u give relu(<w_a, x>) + relu(<w_b, x>) = (a + b) relu(<u, x>), so f is
  constant along (u, -u) in (w_a, w_b) and the Hessian has that null vector. f is still twice
  differentiable there (the kernel's angular part is (pi - t) cos t + sin t = pi - pi t^2 / 2
  + t^3 / 3 + ..., smooth to second order at t = 0), so a negative eigenvalue still proves a
  saddle, but a positive definite Hessian is impossible: such a point is never called spurious.
Apart from these, nothing forces a flat direction: f has no continuous symmetry (the targets are
fixed axes and the output weights are fixed at 1), so the certificate asks for a Hessian positive
definite on the whole space, with no subspace removed; a minimum whose Hessian happened to be
singular would stay unresolved.
"""
from __future__ import annotations

import math

import torch

from hw4.q1_2_overparam.loss import ROUNDING_FLOOR, loss_and_grad
from hw4.q1_2_overparam.settle import smallest_eigenvalue

STATUSES = ("global", "spurious", "saddle", "unresolved")
# where an SGD run was when its step budget ran out, before any continuation
SGD_STATES = ("reached", "near_minimum", "near_saddle", "moving")


def covered_targets(W: torch.Tensor, cover_cos: float) -> torch.Tensor:
    """How many targets e_j have a unit within angle arccos(cover_cos), per seed.

    f = 0 forces every unit onto a target axis and every axis to be used, so an uncovered
    target is the signature of a run stuck away from the global minima.
    """
    unit = W / W.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    return (unit.max(dim=-2).values >= cover_cos).sum(-1)


def degenerate(W: torch.Tensor, tol: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per run: a unit shorter than tol (vanishing), and two units within angle ~tol (parallel:
    |u_a - u_b| < tol for their directions)."""
    norms = W.norm(dim=-1)
    unit = W / norms[..., None].clamp_min(1e-300)
    gap = torch.cdist(unit, unit, compute_mode="donot_use_mm_for_euclid_dist")
    gap = gap + torch.eye(W.shape[-2], dtype=W.dtype) * 4  # no unit is its own neighbour
    return norms.amin(-1) < tol, gap.flatten(1).amin(1) < tol


def classify(loss, grad_norm, min_eig, eig_err, vanishing, parallel, section) -> list[str]:
    """The certified label of each end point (module docstring); NaN curvature certifies nothing."""
    out = []
    for f, g, e, err, zero, par in zip(loss.tolist(), grad_norm.tolist(), min_eig.tolist(),
                                       eig_err.tolist(), vanishing.tolist(), parallel.tolist()):
        low = e - err
        if f < section.loss_tol:
            out.append("global")
        elif zero:
            out.append("unresolved")
        elif g <= section.newton_grad and e < -section.eig_margin:
            out.append("saddle")
        elif not par and g <= section.grad_tol and low > section.eig_margin and f - g * g / (2 * low) > 0:
            out.append("spurious")
        else:
            out.append("unresolved")
    return out


def certify(W: torch.Tensor, section, generator: torch.Generator) -> dict:
    """Everything the certificate needs at each end point, and the label (see `classify`). The
    curvature is computed where f >= loss_tol, |grad f| <= newton_grad and no unit vanishes
    (NaN elsewhere)."""
    f, g = loss_and_grad(W)
    gn = g.flatten(1).norm(dim=1)
    S = W.shape[0]
    min_eig = torch.full((S,), math.nan, dtype=W.dtype)
    eig_err = torch.full((S,), math.nan, dtype=W.dtype)
    vanishing, parallel = degenerate(W, section.degenerate_tol)
    check = ((f >= section.loss_tol) & (gn <= section.newton_grad) & ~vanishing).nonzero()[:, 0]
    if check.numel():
        min_eig[check], eig_err[check] = smallest_eigenvalue(W[check], section, generator)
    return {"loss": f, "grad_norm": gn, "min_eig": min_eig, "eig_err": eig_err,
            "vanishing": vanishing, "parallel": parallel,
            "status": classify(f, gn, min_eig, eig_err, vanishing, parallel, section)}


def sgd_state(W: torch.Tensor, section, generator: torch.Generator) -> dict:
    """Where each SGD run was when its steps ran out: 'reached' f < loss_tol; at rest (f >= loss_tol,
    |grad f| < sgd_rest_grad, a target uncovered) 'near_minimum' or 'near_saddle' by the sign of
    the smallest Hessian eigenvalue there (beyond eig_margin); 'moving' otherwise."""
    f, g = loss_and_grad(W)
    gn = g.flatten(1).norm(dim=1)
    uncovered = W.shape[-1] - covered_targets(W, section.cover_cos)
    rest = (f >= section.loss_tol) & (gn < section.sgd_rest_grad) & (uncovered > 0)
    min_eig = torch.full((W.shape[0],), math.nan, dtype=W.dtype)
    idx = rest.nonzero()[:, 0]
    if idx.numel():
        min_eig[idx] = smallest_eigenvalue(W[idx], section, generator)[0]
    state = []
    for fi, r, e in zip(f.tolist(), rest.tolist(), min_eig.tolist()):
        if fi < section.loss_tol:
            state.append("reached")
        elif r and e < -section.eig_margin:
            state.append("near_saddle")
        elif r and e > section.eig_margin:
            state.append("near_minimum")
        else:
            state.append("moving")
    return {"state": state, "min_eig": min_eig, "grad_norm": gn}


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


def _stats(x: torch.Tensor) -> dict:
    return {"min": x.min().item(), "max": x.max().item(), "mean": x.mean().item()}


def summarize(run: dict, m: int, section, steps: int, end: dict, cert: dict, sgd_end: dict) -> dict:
    """Everything the text and figures need about one width m: the SGD run (curves, how far it got
    in its `steps` steps), where SGD stood at the end (`sgd_end`), how the continuation reached a
    critical point (`end`, settle.settle) and what the certificate says about it (`cert`)."""
    sgd_loss = run["loss"][:, -1]
    W = end["W"]
    S, _, d = W.shape
    status = cert["status"]
    uncovered = d - covered_targets(W, section.cover_cos)
    n = {k: status.count(k) for k in STATUSES}
    state = sgd_end["state"]
    reach = steps_to(run["steps"], run["loss"], section.loss_tol)
    reached = sorted(s for s in reach if s is not None)
    half = run["steps"].index(min(run["steps"], key=lambda s: abs(s - steps // 2)))
    # the slope over the last three quarters of the constant-step phase, for runs whose curve
    # stays above float64 rounding there (a run sitting at f ~ 1e-13 has no meaningful slope)
    decay_start = int(steps * (1 - section.anneal_frac))
    slope = late_slope(run["steps"], run["loss"], decay_start // 4, decay_start)
    window = [i for i, s in enumerate(run["steps"]) if decay_start // 4 <= s <= decay_start]
    measurable = (run["loss"][:, window] > ROUNDING_FLOOR).all(-1)
    # the same slope over the two halves of that window (split at its geometric middle): equal for
    # a power law, steeper in the second half for a geometric decay
    middle = round(math.sqrt(max(decay_start // 4, 1) * decay_start))
    halves = [late_slope(run["steps"], run["loss"], a, b) for a, b in
              ((decay_start // 4, middle), (middle, decay_start))]
    median_of = lambda x: x[measurable].median().item() if measurable.any() else None
    q = torch.quantile(sgd_loss, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64)).tolist()
    nan_to_none = lambda x: [None if math.isnan(v) else v for v in x.tolist()]
    out = {
        "m": m, "seeds": S, "status": status, "sgd_state": state,
        "sgd_loss": sgd_loss, "sgd_grad_norm": sgd_end["grad_norm"], "sgd_min_eig": nan_to_none(sgd_end["min_eig"]),
        "final_loss": cert["loss"], "final_grad_norm": cert["grad_norm"], "min_eig": nan_to_none(cert["min_eig"]),
        "uncovered": uncovered, "how": end["how"], "lbfgs_iters": end["lbfgs_iters"],
        "steps_to_tol": reach,
        **{f"n_{k}": n[k] for k in STATUSES}, **{f"frac_{k}": n[k] / S for k in STATUSES},
        **{f"n_sgd_{k}": state.count(k) for k in SGD_STATES},
        "spurious_ci95": wilson(n["spurious"], S),
        # end points (above loss_tol) where the certificate cannot apply: see the module docstring
        "n_vanishing": int((cert["vanishing"] & (cert["loss"] >= section.loss_tol)).sum()),
        "n_parallel": int((cert["parallel"] & (cert["loss"] >= section.loss_tol)).sum()),
        "lbfgs_iters_max": max(end["lbfgs_iters"]),
        "loss_min": q[0], "loss_q25": q[1], "loss_median": q[2], "loss_q75": q[3], "loss_max": q[4],
        # the median over all seeds, defined once at least half of them got there
        "median_steps_to_tol": reached[(S + 1) // 2 - 1] if len(reached) >= (S + 1) // 2 else None,
        "seconds": run["seconds"], "late_slope": slope, "slope_from": decay_start // 4,
        "slope_to": decay_start, "slope_middle": middle, "n_slope_measurable": int(measurable.sum()),
        "slope_median": median_of(slope), "slope_first_half": median_of(halves[0]),
        "slope_second_half": median_of(halves[1]),
    }
    for k in SGD_STATES:  # how the runs SGD left in each state ended after the continuation
        out[f"sgd_{k}_to"] = {s: sum(1 for a, b in zip(state, status) if a == k and b == s) for s in STATUSES}
    # per end class (None where no run ended so)
    groups = {k: [i for i, s in enumerate(status) if s == k] for k in STATUSES}
    for k, idx in groups.items():
        ok = [i for i in idx if measurable[i]]
        # how far the SGD loss fell over the second half of its steps: ~1 where it stalled
        drop = sgd_loss[idx] / run["loss"][idx, half].clamp_min(1e-300) if idx else None
        out.update({
            f"{k}_drop_median": drop.median().item() if idx else None,
            f"{k}_uncovered_max": int(uncovered[idx].max()) if idx else None,
            f"{k}_grad_max": cert["grad_norm"][idx].max().item() if idx else None,
            f"{k}_loss_max": cert["loss"][idx].max().item() if idx else None,
            f"{k}_loss_min": cert["loss"][idx].min().item() if idx else None,
            f"{k}_slope_median": slope[ok].median().item() if ok else None,
        })
    spur = groups["spurious"]
    out.update({"opposite_cos_max": None, "loss_per_uncovered": None, "n_spurious_uncovering": 0,
                "spurious_min_eig_min": None,
                "spurious_value_bound_min": None, "saddle_min_eig_max": None})
    if spur:
        # each uncovered target, and the unit pointing most nearly against it
        cos = W[spur] / W[spur].norm(dim=-1, keepdim=True).clamp_min(1e-300)   # (n, m, d)
        missed = cos.max(dim=-2).values < section.cover_cos
        out["opposite_cos_max"] = cos.min(dim=-2).values[missed].max().item() if missed.any() else None
        missing = [i for i in spur if uncovered[i] > 0]  # spurious minima that leave a target uncovered
        out["n_spurious_uncovering"] = len(missing)
        if missing:
            out["loss_per_uncovered"] = _stats(cert["loss"][missing] / uncovered[missing].double())
        eig = cert["min_eig"][spur] - cert["eig_err"][spur]
        out["spurious_min_eig_min"] = eig.min().item()
        bound = cert["loss"][spur] - cert["grad_norm"][spur] ** 2 / (2 * eig)
        out["spurious_value_bound_min"] = bound.min().item()
    if groups["saddle"]:
        out["saddle_min_eig_max"] = cert["min_eig"][groups["saddle"]].max().item()
    return out
