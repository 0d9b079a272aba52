"""Q1.2: learning y(x) = sum_j relu(x_j) with h(W, x) = sum_i relu(<w_i, x>), x ~ N(0, I_d).

The population loss f(W) = E[(y(x) - h(W, x))^2] has a closed form, because for Gaussian x
E[relu(<u,x>) relu(<v,x>)] = |u||v| (sin t + (pi - t) cos t) / (2 pi), t the angle between u and v
(the degree-1 arc-cosine kernel). The target is itself such a network with weights e_1..e_d, so
f(W) = k(targets, targets) - 2 k(W, targets) + k(W, W), summed over pairs. We use it (in float64)
for every loss value we report, so curves carry no sampling noise; the training itself is plain
mini-batch SGD on fresh Gaussian samples, as the assignment asks.

Every function takes W shaped (seeds, m, d): all seeds of one setting train as one tensor program.
"""
from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import torch

from hw4.config import as_dict
from hw4.device import cpu_threads, pick
from hw4.errors import Hw4Error
from hw4.store import load_json, save_json, save_torch

TWO_PI = 2 * math.pi
# The closed form adds O((m + d)^2) terms of size O(1) to get f, so float64 rounding leaves
# errors near 1e-13; Monte Carlo comparisons are only meaningful well above that.
ROUNDING_FLOOR = 1e-10
STATUSES = ("global", "spurious", "saddle", "unresolved")
# Tags that name the random streams (with the base seed and the width): calibration draws its
# weights from tag 2 and samples from 3; the settings and the sweep draw weights from their tag
# and SGD samples from tag + 1, so the two are independent replications.
CALIBRATION, SETTINGS, SWEEP = 2, 10, 20



# ----------------------------------------------------------------------------- exact loss

def _angles(W: torch.Tensor):
    """Row norms and unit rows of W, and (cos, sin, angle) between rows and between rows and e_j.

    Each pair needs one acos: sin t = sqrt(1 - cos^2 t) on [0, pi]. The diagonal is set to
    exactly (1, 0, 0); rounding in the Gram matrix would otherwise give angles near 1e-8.
    """
    norms = W.norm(dim=-1).clamp_min(1e-300)                        # (S, m)
    unit = W / norms[..., None]
    eye = torch.eye(W.shape[-2], dtype=torch.bool, device=W.device)
    cos_ww = torch.bmm(unit, unit.transpose(-1, -2)).clamp_(-1.0, 1.0).masked_fill_(eye, 1.0)
    cos_wt = unit.clamp(-1.0, 1.0)                                  # <w_i/|w_i|, e_j> is a coordinate
    return norms, unit, [(c, (1 - c * c).sqrt_(), torch.acos(c)) for c in (cos_ww, cos_wt)]


def _kernel(cos, sin, theta):
    """2 pi E[relu(<u,x>) relu(<v,x>)] / (|u||v|) = sin t + (pi - t) cos t (Cho & Saul 2009)."""
    return sin + (math.pi - theta) * cos


def target_energy(d: int) -> float:
    """E[y(x)^2] = f(0): d/2 from the diagonal pairs, d(d-1)/(2 pi) from the orthogonal ones."""
    return d / 2 + d * (d - 1) / TWO_PI


def exact_loss(W: torch.Tensor) -> torch.Tensor:
    """f(W) for each seed, shape (S,). W is (S, m, d); the input dimension d is W's last axis.

    f = E[y^2] - 2 sum_ij k(w_i, e_j) + sum_ik k(w_i, w_k), k the arc-cosine kernel above.
    """
    norms, _, (ww, wt) = _angles(W)
    k_ww = (torch.bmm(_kernel(*ww), norms[..., None])[..., 0] * norms).sum(-1) / TWO_PI
    k_wt = (norms * _kernel(*wt).sum(-1)).sum(-1) / TWO_PI
    return target_energy(W.shape[-1]) - 2 * k_wt + k_ww


def exact_grad(W: torch.Tensor) -> torch.Tensor:
    """The gradient of f at W, shape (S, m, d).

    From d/du k(u, v) = (|v| sin t u/|u| + (pi - t) v) / (2 pi), summed over the students
    (each pair counted twice, the diagonal giving w_i) and the targets.
    """
    norms, unit, ((_, sin_ww, th_ww), (_, sin_wt, th_wt)) = _angles(W)
    from_students = torch.bmm(sin_ww, norms[..., None]) * unit + torch.bmm(math.pi - th_ww, W)
    from_targets = sin_wt.sum(-1, keepdim=True) * unit + (math.pi - th_wt)
    return (from_students - from_targets) / math.pi


def mc_loss(W: torch.Tensor, samples: int, generator: torch.Generator):
    """Monte Carlo estimate of f(W) and its standard error, per seed: an independent check."""
    S, m, d = W.shape
    chunk = max(1024, (1 << 22) // (S * m))  # keeps the (S, chunk, m) pre-activations near 32 MB
    Wt = W.transpose(-1, -2)
    total = torch.zeros(S, dtype=torch.float64, device=W.device)
    total_sq = torch.zeros_like(total)
    done = 0
    while done < samples:
        n = min(chunk, samples - done)
        x = torch.randn(S, n, d, generator=generator, dtype=W.dtype, device=W.device)
        err = (torch.bmm(x, Wt).relu_().sum(-1) - x.relu().sum(-1)).double() ** 2
        total += err.sum(-1)
        total_sq += (err ** 2).sum(-1)
        done += n
    mean = total / samples
    var = (total_sq / samples - mean ** 2).clamp_min(0.0)
    return mean, (var / samples).sqrt()


# ----------------------------------------------------------------------------- training

def init(seeds: int, m: int, d: int, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """The assignment's initialisation: each w_i ~ N(0, I/d), independently for every seed."""
    return torch.randn(seeds, m, d, generator=generator, dtype=dtype) / math.sqrt(d)


def sgd_step(Wt: torch.Tensor, x: torch.Tensor, lr: float) -> torch.Tensor:
    """One SGD step, in place, on the mini-batch loss mean_b (h(W, x_b) - y(x_b))^2.

    Wt is W transposed, (S, d, m), so both products below read contiguous memory; x is (S, B, d).
    The gradient with respect to w_i is (2/B) sum_b r_b 1[<w_i, x_b> > 0] x_b with r the residual,
    i.e. (r x)^T @ 1[x W^T > 0]: two batched matmuls and a few in-place elementwise passes.
    """
    active = torch.bmm(x, Wt).relu_()                               # (S, B, m)
    residual = active.sum(-1).sub_(x.relu().sum(-1))                # (S, B)
    grad_t = torch.bmm((x * residual[..., None]).transpose(-1, -2), active.sign_())  # (S, d, m)
    return Wt.sub_(grad_t, alpha=2 * lr / x.shape[-2])


def lr_at(step: int, steps: int, lr: float, anneal_frac: float, anneal_to: float) -> float:
    """Constant step, then a geometric decay to lr * anneal_to over the last anneal_frac of the run.

    The decay removes the SGD noise at the end, so the final point sits at the bottom of its basin
    and its exact gradient norm tells a minimum from a point still on its way.
    """
    start = steps * (1 - anneal_frac)
    if step < start:
        return lr
    return lr * anneal_to ** ((step - start) / max(steps - start, 1))


def train(W: torch.Tensor, *, lr: float, batch: int, steps: int, anneal_frac: float,
          anneal_to: float, evals: int, seed: int, mc_at: tuple[int, ...] = (),
          mc_samples: int = 0, dtype=torch.float32, progress: str | None = None) -> dict:
    """Mini-batch SGD from W, all seeds at once, with f evaluated exactly on a log grid of steps.

    Returns the evaluation steps, the exact loss there (seeds x evals), Monte Carlo estimates
    at the steps in `mc_at`, and the final W (float64) with its exact gradient norm. The SGD
    samples and the Monte Carlo samples come from two generators seeded by `seed`, so
    checkpoints never change the trajectory and a run is reproducible bit for bit on a device.
    """
    from tqdm import tqdm

    S, m, d = W.shape
    dev = pick()
    data = torch.Generator(device=dev).manual_seed(seed)
    check = torch.Generator(device=dev).manual_seed(seed + 1)
    Wt = W.transpose(-1, -2).to(dev, dtype).contiguous()
    at = sorted(set(log_grid(steps, evals)) | set(mc_at))
    loss, mc = [], []
    t0 = time.perf_counter()
    step = 0
    with tqdm(total=steps, desc=progress, disable=None if progress else True, leave=False) as bar:
        for target in at:
            while step < target:
                x = torch.randn(S, batch, d, generator=data, dtype=dtype, device=dev)
                sgd_step(Wt, x, lr_at(step, steps, lr, anneal_frac, anneal_to))
                step += 1
            bar.update(target - bar.n)
            W64 = Wt.transpose(-1, -2).double()
            loss.append(exact_loss(W64).cpu())
            if step in mc_at:
                mean, se = mc_loss(W64, mc_samples, check)
                mc.append({"step": step, "mean": mean.cpu(), "se": se.cpu()})
    W64 = Wt.transpose(-1, -2).double()
    return {"steps": at, "loss": torch.stack(loss, 1), "mc": mc, "W": W64.cpu(),
            "grad_norm": exact_grad(W64).flatten(1).norm(dim=1).cpu(),
            "seconds": time.perf_counter() - t0}


def log_grid(steps: int, evals: int) -> list[int]:
    """About `evals` evaluation points, evenly spaced on a log scale from step 0 to `steps`."""
    points = torch.logspace(0, math.log10(steps), evals, dtype=torch.float64).round().long().tolist()
    return sorted({0, *points, steps})


# ----------------------------------------------------------------------------- end-point checks

def hessian(w: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """The exact Hessian of f at one W (m, d), by central differences of the exact gradient.

    All m d perturbed copies go through `exact_grad` as one batch.
    """
    m, d = w.shape
    n = m * d
    step = torch.eye(n, dtype=torch.float64, device=w.device).reshape(n, m, d) * h
    H = (exact_grad(w + step) - exact_grad(w - step)).reshape(n, n) / (2 * h)
    return (H + H.T) / 2


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
    return {"widths": widths, "stable_scale": {f"m{m}": c for m, c in stable.items()},
            "stable_scale_min": worst, "stable_scale_max": max(stable.values()),
            "scale": section.lr_safety * worst, "safety": section.lr_safety, "batch": section.batch,
            "lr": {f"m{m}": section.lr_safety * worst / m for m in widths}}


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
    """Edge: measure the step-size rule's stability grid; write lr.json and config.json."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    with cpu_threads(section.cpu_threads):
        result = calibrate(section)
    save_json(out_dir / "lr.json", {**result, "seconds": time.perf_counter() - t0, "config": as_dict(section)})
    save_json(out_dir / "config.json", as_dict(section))


def run_settings(section, out_dir) -> None:
    """Edge: the two required settings with Monte Carlo checkpoints; settings.json + final weights."""
    out_dir = Path(out_dir)
    scale = load_json(out_dir / "lr.json")["scale"]
    result = {"scale": scale, "f0": target_energy(section.d), "config": as_dict(section)}
    weights = {}
    t0 = time.perf_counter()
    with cpu_threads(section.cpu_threads):
        for m in section.settings_m:
            steps = section.settings_steps
            run = _train_width(section, m, section.settings_seeds, steps, scale, SETTINGS, True, f"Q1.2 m={m}")
            result[f"m{m}"] = {**summarize(run, m, section, steps), "lr": scale / m, "curves": _curves(run),
                               "mc": _mc_check(run)}
            weights[f"m{m}"] = run["W"]
    result["seconds"] = time.perf_counter() - t0
    save_torch(out_dir / "settings_weights.pt", weights)
    save_json(out_dir / "settings.json", result)


def run_sweep(section, out_dir) -> None:
    """Edge: the bonus sweep over m; sweep.json (per-width summaries and curves) + final weights."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    scale = load_json(out_dir / "lr.json")["scale"]
    widths = sorted(section.sweep_m)
    by_m, weights = {}, {}
    t0 = time.perf_counter()
    with cpu_threads(section.cpu_threads):
        for m in tqdm(widths, desc="Q1.2 sweep over m", disable=None):
            steps = section.sweep_steps
            run = _train_width(section, m, section.sweep_seeds, steps, scale, SWEEP, False, f"m={m}")
            by_m[f"m{m}"] = {**summarize(run, m, section, steps), "lr": scale / m, "curves": _curves(run)}
            weights[f"m{m}"] = run["W"]
    # the smallest width from which on no run of any larger width ended at a spurious minimum
    clean = [m for i, m in enumerate(widths) if all(by_m[f"m{w}"]["n_spurious"] == 0 for w in widths[i:])]
    # widths whose median run reached loss_tol, and the quickest of them
    reached = [m for m in widths if by_m[f"m{m}"]["median_steps_to_tol"] is not None]
    fastest = min(reached, key=lambda m: by_m[f"m{m}"]["median_steps_to_tol"]) if reached else None
    result = {"scale": scale, "widths": widths, "by_m": by_m, "config": as_dict(section),
              "clean_from_m": clean[0] if clean else None, "reached_m": reached, "fastest_m": fastest,
              "seconds": time.perf_counter() - t0}
    save_torch(out_dir / "sweep_weights.pt", weights)
    save_json(out_dir / "sweep.json", result)
