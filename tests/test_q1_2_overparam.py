"""Q1.2: the closed-form loss and gradient against independent estimates, and the trainer."""
import math
import re
from pathlib import Path

import pytest
import torch

from hw4.core import config
from hw4.core.errors import Hw4Error
from hw4.q1_2_overparam import endpoints as ends
from hw4.q1_2_overparam import experiments as exps
from hw4.q1_2_overparam import loss, safran, settle, sgd

D = 20


def gen(seed):
    return torch.Generator().manual_seed(seed)


def mc_autograd(W, x):
    """The Monte Carlo loss on fixed samples, written as directly as possible, for autograd."""
    return ((torch.relu(x @ W.T).sum(-1) - torch.relu(x).sum(-1)) ** 2).mean()


@pytest.mark.parametrize("m", [20, 200])
def test_closed_form_matches_monte_carlo(m):
    # three kinds of W: the assignment's initialisation, a wide spread, and a point near the optimum
    W = torch.cat([sgd.init(1, m, D, gen(1)),
                   sgd.init(1, m, D, gen(2)) * 3 * math.sqrt(D / m),
                   torch.eye(D, dtype=torch.float64).repeat(m // D, 1)[None] / (m // D)
                   + 0.05 * sgd.init(1, m, D, gen(3))])
    exact = loss.exact_loss(W)
    # sampling in float32 is ~1e-6 accurate, far inside the ~1% standard error, and 3x faster
    mean, se = loss.mc_loss(W.float(), 1_000_000, gen(4))
    z = (mean - exact) / se
    assert z.abs().max() < 4, (exact, mean, se)
    assert (se / exact).max() < 0.02  # the check is sharp: 1e6 samples pin f to ~1%


def test_energy_of_the_target():
    """f(0) = E[y^2] = d/2 + d(d-1)/(2 pi), both from the closed form and by sampling y."""
    expected = D / 2 + D * (D - 1) / (2 * math.pi)
    assert loss.exact_loss(torch.zeros(1, 3, D, dtype=torch.float64)).item() == pytest.approx(expected, rel=1e-14)
    x = torch.randn(1_000_000, D, generator=gen(5), dtype=torch.float64)
    y2 = torch.relu(x).sum(-1) ** 2
    assert abs(y2.mean().item() - expected) < 4 * y2.std().item() / 1000


def test_a_permutation_of_the_targets_is_a_global_minimum():
    P = torch.stack([torch.eye(D, dtype=torch.float64)[torch.randperm(D, generator=gen(s))] for s in range(3)])
    assert loss.exact_loss(P).abs().max() < 1e-12
    assert loss.exact_grad(P).abs().max() < 1e-12
    # splitting a unit into positive parts along the same axis is a global minimum too (m > d)
    split = torch.cat([P[:1], P[:1]], 1) / 2
    assert loss.exact_loss(split).abs().max() < 1e-12
    # while a unit pointing the wrong way is not
    wrong = P[:1].clone()
    wrong[0, 0] *= -1
    assert loss.exact_loss(wrong).item() > 0.1


def test_a_unit_opposite_its_target_feels_no_pull():
    """d = 1 and one unit w < 0: relu(w x) and relu(x) never fire together, so f = (1 + w^2)/2
    and grad f = w: the unit's own term only, no pull from the target it points away from."""
    for w in (-0.3, -1.0, -2.0):
        W = torch.tensor([[[w]]], dtype=torch.float64)
        assert loss.exact_loss(W).item() == pytest.approx((1 + w * w) / 2, rel=1e-14)
        assert loss.exact_grad(W).item() == pytest.approx(w, rel=1e-14)


def test_gradient_matches_finite_differences():
    W = sgd.init(2, 7, 5, gen(6))
    g = loss.exact_grad(W)
    h = 1e-6
    fd = torch.zeros_like(W)
    for idx in torch.cartesian_prod(torch.arange(7), torch.arange(5)):
        e = torch.zeros_like(W)
        e[:, idx[0], idx[1]] = h
        fd[:, idx[0], idx[1]] = (loss.exact_loss(W + e) - loss.exact_loss(W - e)) / (2 * h)
    assert torch.allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_gradient_matches_autograd_of_the_monte_carlo_loss():
    """The exact gradient is the mean of the per-sample gradients: compare with autograd over
    1e6 samples, in 20 batches whose spread gives each coordinate's standard error."""
    W = sgd.init(1, 20, D, gen(7))[0]
    grads = []
    for b in range(20):
        x = torch.randn(50_000, D, generator=gen(100 + b), dtype=torch.float64)
        Wb = W.clone().requires_grad_()
        mc_autograd(Wb, x).backward()
        grads.append(Wb.grad)
    grads = torch.stack(grads)
    z = (grads.mean(0) - loss.exact_grad(W[None])[0]) / (grads.std(0) / math.sqrt(20))
    assert (z ** 2).mean() < 1.5  # about 1 when the only difference is sampling noise
    assert z.abs().max() < 6


def test_sgd_step_is_the_minibatch_gradient():
    """The hand-written batched step equals autograd on each seed's mini-batch loss."""
    W = sgd.init(3, 30, D, gen(8))
    x = torch.randn(3, 64, D, generator=gen(9), dtype=torch.float64)
    lr = 0.01
    Wt = W.transpose(-1, -2).contiguous()
    sgd.sgd_step(Wt, x, lr)
    for s in range(3):
        w = W[s].clone().requires_grad_()
        mc_autograd(w, x[s]).backward()
        assert torch.allclose(Wt[s].T, W[s] - lr * w.grad, rtol=1e-12, atol=1e-12)


def fd_hessian(w, h=1e-5):
    """The Hessian at one W (m, d) by central differences of the exact gradient: an independent check."""
    m, d = w.shape
    n = m * d
    step = torch.eye(n, dtype=torch.float64).reshape(n, m, d) * h
    H = (loss.exact_grad(w + step) - loss.exact_grad(w - step)).reshape(n, n) / (2 * h)
    return (H + H.T) / 2


@pytest.mark.parametrize("m, d", [(5, 4), (20, 20)])
def test_analytic_hessian_matches_finite_differences_and_hvp(m, d):
    W = sgd.init(2, m, d, gen(10))
    H = loss.hessian(W)
    assert torch.allclose(H, H.transpose(1, 2), atol=1e-14)
    assert (H[1] - fd_hessian(W[1])).abs().max() < 1e-8
    V = torch.randn(2, m, d, generator=gen(11), dtype=torch.float64)
    assert torch.allclose(loss.hvp(W, V).flatten(1), (H @ V.flatten(1)[..., None])[..., 0], atol=1e-12)
    f, g = loss.loss_and_grad(W)
    assert torch.equal(f, loss.exact_loss(W)) and torch.equal(g, loss.exact_grad(W))


def test_hessian_at_a_global_minimum_is_positive_definite():
    assert torch.linalg.eigvalsh(loss.hessian(torch.eye(6, dtype=torch.float64)[None]))[0, 0] > 0.05


def test_parallel_units_leave_a_flat_direction():
    """w_a = 2 u and w_b = u act as one unit 3 u: moving mass between them, (u, -u), is flat."""
    W = sgd.init(1, 6, 5, gen(12))
    W[0, 1] = 0.5 * W[0, 0]
    flat = torch.zeros_like(W)
    u = W[0, 0] / W[0, 0].norm()
    flat[0, 0], flat[0, 1] = u, -u
    assert loss.hvp(W, flat).abs().max() < 1e-12
    t = torch.tensor([0.0, 0.1, 0.3], dtype=torch.float64)[:, None, None]
    assert loss.exact_loss(W + t * flat).std() < 1e-13


def short_run(seed=0, steps=300):
    W = sgd.init(4, 20, D, gen(seed))
    return sgd.train(W, lr=0.025, batch=64, steps=steps, anneal_frac=0.3, anneal_to=1e-2, evals=5, seed=seed)


def test_sgd_lowers_the_loss():
    run = short_run()
    assert (run["loss"][:, -1] < 0.2 * run["loss"][:, 0]).all()
    assert torch.isfinite(run["grad_norm"]).all()


def test_same_seed_same_run_other_seed_other_run():
    a, b, c = short_run(1, 100), short_run(1, 100), short_run(2, 100)
    assert torch.equal(a["W"], b["W"]) and torch.equal(a["loss"], b["loss"])
    assert not torch.equal(a["W"], c["W"])


def test_learning_rate_schedule():
    assert sgd.lr_at(0, 100, 0.5, 0.3, 1e-3) == 0.5
    assert sgd.lr_at(69, 100, 0.5, 0.3, 1e-3) == 0.5
    assert sgd.lr_at(100, 100, 0.5, 0.3, 1e-3) == pytest.approx(0.5e-3)
    assert sgd.lr_at(85, 100, 0.5, 0.3, 1e-3) == pytest.approx(0.5 * 1e-3 ** 0.5)


def full_section(**changes):
    section = config.load("hw4.toml").overparam
    return type(section)(**{**config.as_dict(section), **changes})


def test_coverage():
    section = full_section()
    P = torch.eye(D, dtype=torch.float64)[None]
    assert ends.covered_targets(P, section.cover_cos).item() == D
    flipped = P.clone()
    flipped[0, 3] = -flipped[0, 3]
    assert ends.covered_targets(flipped, section.cover_cos).item() == D - 1


def test_classification_rule():
    section = full_section()
    f = torch.tensor([1e-6, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05], dtype=torch.float64)
    g = torch.tensor([1e-3, 1e-10, 1e-10, 1e-4, 1e-10, 1e-10, 1e-10, 1e-10], dtype=torch.float64)
    e = torch.tensor([0.1, 0.1, -0.1, 0.1, math.nan, 0.1, 0.1, 1e-9], dtype=torch.float64)
    err = torch.full_like(e, 1e-12)
    zero = torch.tensor([False, False, False, False, False, True, False, False])
    par = torch.tensor([False, False, False, False, False, False, True, False])
    assert ends.classify(f, g, e, err, zero, par, section) == [
        "global", "spurious", "saddle", "unresolved",   # gradient not at rest: no certificate
        "unresolved",                                   # curvature unknown (NaN) certifies nothing
        "unresolved",                                   # a vanishing unit: f not differentiable
        "unresolved",                                   # parallel units: never positive definite
        "unresolved"]                                   # eigenvalue within the margin of 0


def symmetric_point(d, a=-0.6, b=0.35):
    """A critical point of f with W = a I + b (J - I): every unit points away from its own target
    and leans towards the others. Permuting units and coordinates together leaves f and this W
    unchanged, so the gradient stays in the span of I and J - I, and a critical point of the
    two-parameter restriction (found by Newton's method on it) is a critical point of f."""
    I = torch.eye(d, dtype=torch.float64)
    basis = [I, torch.ones(d, d, dtype=torch.float64) - I]
    x = torch.tensor([a, b], dtype=torch.float64)
    for _ in range(25):
        W = (x[0] * basis[0] + x[1] * basis[1])[None]
        g = loss.exact_grad(W)[0]
        r = torch.stack([(g * B).sum() for B in basis])
        jac = torch.stack([torch.stack([(loss.hvp(W, C[None])[0] * B).sum() for C in basis]) for B in basis])
        x = x - torch.linalg.solve(jac, r)
    return (x[0] * basis[0] + x[1] * basis[1])[None]


def test_planted_spurious_minimum_and_saddle_are_certified():
    """The symmetric point is a spurious local minimum for d = 6 (Safran & Shamir's smallest k)
    and d = 20, and a saddle for d = 5: certified so, by the dense eigenvalues and by Lanczos."""
    for d, label in ((5, "saddle"), (6, "spurious"), (20, "spurious")):
        W = symmetric_point(d)
        assert loss.exact_grad(W).norm() < 1e-12 and loss.exact_loss(W) > 0.05
        for dense_max in (10 ** 6, 1):   # dense, then Lanczos on Hessian-vector products
            cert = ends.certify(W, full_section(dense_max=dense_max), gen(13))
            assert cert["status"] == [label], (d, dense_max, cert)
    # a global minimum, and a point with a vanishing unit, are not mistaken for them
    P = torch.eye(6, dtype=torch.float64)[None]
    assert ends.certify(P, full_section(), gen(14))["status"] == ["global"]
    zero = symmetric_point(6)
    zero[0, 0] = 0.0
    assert ends.certify(zero, full_section(), gen(15))["status"] == ["unresolved"]


def test_a_saddle_with_parallel_units_is_still_a_saddle():
    """All units equal (W = a J) is a critical point where units are parallel: the Hessian has the
    flat mass-transfer directions, yet a negative eigenvalue proves a saddle."""
    W = symmetric_point(6, a=0.25, b=0.25)
    assert (W - W[0, 0, 0]).abs().max() < 1e-14 and loss.exact_grad(W).norm() < 1e-12
    assert ends.certify(W, full_section(), gen(16))["status"] == ["saddle"]


def test_lanczos_matches_the_dense_smallest_eigenvalue():
    section = full_section(dense_max=1)
    W = torch.cat([sgd.init(2, 20, D, gen(17)), symmetric_point(D)])
    theta, resid = settle.lanczos_smallest(W, section.lanczos_iters, section.lanczos_tol, gen(18))
    exact = torch.linalg.eigvalsh(loss.hessian(W))[:, 0]
    assert (theta >= exact - 1e-9).all()            # a Rayleigh quotient: never below the minimum
    assert ((theta - exact).abs() <= resid + 1e-9).all() and (resid < 1e-6).all()


def test_gradient_descent_continuation_is_gradient_descent():
    """descend() with nothing to hand over is W <- W - lr grad f with the closed-form gradient."""
    section = full_section(loss_tol=1e-30, newton_grad=1e-30)
    W = sgd.init(3, 8, 8, gen(19))
    out = settle.descend(W, 0.05, 120, section)
    expected = W.clone()
    for _ in range(120):
        expected -= 0.05 * loss.exact_grad(expected)
    assert torch.allclose(out["W"], expected, rtol=0, atol=1e-13) and out["how"] == [None] * 3


def test_continuation_returns_to_the_planted_minimum():
    """From a small perturbation of a spurious minimum, gradient descent (with Newton's finish)
    and L-BFGS both come back to it, at |grad f| <= grad_tol; near a global minimum of a wider
    network L-BFGS reaches f < loss_tol."""
    section = full_section()
    W = symmetric_point(8)
    start = W + 1e-3 * torch.randn(W.shape, generator=gen(20), dtype=torch.float64)
    for out in (settle.settle(start, 0.2, 2000, section), settle.settle(start, 0.2, 0, section)):
        end = out["W"]
        assert (end - W).abs().max() < 1e-8, out["how"]
        assert loss.exact_grad(end).norm() <= section.grad_tol
    wide = torch.eye(8, dtype=torch.float64).repeat(2, 1)[None] / 2
    wide = wide + 0.05 * torch.randn(wide.shape, generator=gen(21), dtype=torch.float64)
    out = settle.settle(wide, 0.1, 0, section)
    assert loss.exact_loss(out["W"]).item() < section.loss_tol and out["how"] == ["lbfgs"]


def test_their_protocol_is_ours_with_half_the_loss():
    """Xavier's W = randn(n, k)/sqrt(k) is the assignment's initialisation for k = d (the same draw
    from the same generator), and their loss (1/2) E[(h - y)^2] is f / 2: checked by sampling."""
    assert torch.equal(safran.xavier(3, 7, 7, gen(22)), sgd.init(3, 7, 7, gen(22)))
    W = safran.xavier(2, 9, 9, gen(23))
    x = torch.randn(400_000, 9, generator=gen(24), dtype=torch.float64)
    half_sq = 0.5 * (torch.relu(x @ W.transpose(1, 2)).sum(-1) - torch.relu(x).sum(-1)) ** 2
    z = (half_sq.mean(1) - safran.their_loss(W)) / (half_sq.std(1) / math.sqrt(x.shape[0]))
    assert z.abs().max() < 4
    assert torch.allclose(safran.their_loss(W), loss.exact_loss(W) / 2, rtol=1e-15)


def test_their_step_falls_back_where_it_diverges():
    """Their step 5/k is too large at k = 20, n = 30 (the curvature grows like n): the cell is
    redone with 5/n, and says so; at n = k it is kept."""
    section = full_section(lbfgs_iters=1)
    run, step, diverged = safran.descend_their_way(safran.xavier(4, 30, 20, gen(25)), section, 100)
    assert diverged and step == 5 / 30
    run, step, diverged = safran.descend_their_way(safran.xavier(4, 20, 20, gen(26)), section, 100)
    assert not diverged and step == 5 / 20


def test_steps_to_a_level_interpolates_on_log_axes():
    steps = [0, 10, 100, 1000]
    loss = torch.tensor([[1.0, 1e-1, 1e-3, 1e-5], [1.0, 1.0, 1.0, 1.0], [1e-9, 1e-9, 1e-9, 1e-9]])
    # f falls like t^-2 between 10 and 100, so it crosses 1e-2 at t = 10^1.5
    assert ends.steps_to(steps, loss, 1e-2) == [round(10 ** 1.5), None, 0]


def test_wilson_interval():
    lo, hi = ends.wilson(0, 16)
    assert lo == 0 and 0.15 < hi < 0.25
    lo, hi = ends.wilson(8, 16)
    assert lo < 0.5 < hi and hi - 0.5 == pytest.approx(0.5 - lo)


def test_calibration_refuses_a_grid_without_a_stable_step():
    section = config.load("hw4.toml", "quick").overparam
    bad = type(section)(**{**config.as_dict(section), "lr_grid": [1000.0], "settings_m": [20],
                           "sweep_m": [20], "calib_steps": 20})
    with pytest.raises(Hw4Error, match="lr_grid"):
        exps.calibrate(bad)


@pytest.mark.parametrize("key, value, message", [
    ("lr_safety", "-0.5", "lr_safety"),
    ("lr_grid", "[0.5, -1.0]", r"lr_grid\[1\]"),
    ("settings_m", "[0, 200]", r"settings_m\[0\]"),
    ("sweep_seeds", "0", "sweep_seeds"),
    ("batch", "0", "batch"),
    ("loss_tol", "-1e-3", "loss_tol"),
    ("compare_m", "[20, 23]", "compare_m holds 23"),
    ("check_cell", "[19, 25]", "check_cell"),
])
def test_bad_values_are_refused(tmp_path, key, value, message):
    text = Path("hw4.toml").read_text()
    section = text[text.index("[overparam]"):]
    edited = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", section, count=1)
    bad = tmp_path / "hw4.toml"
    bad.write_text(text.replace(section, edited))
    with pytest.raises(config.ConfigError, match=message):
        config.load(bad)


# ----------------------------------------------------------------------------- claims (issue 9)

from claimcheck import Counterfactual, Harness  # noqa: E402

from hw4.q1_2_overparam import claims  # noqa: E402

STATUS_KEYS = ("global", "spurious", "saddle", "unresolved")


def ci(k, n):
    return list(ends.wilson(k, n))


def ends_of(seeds, spurious, **extra):
    """The counts every width record carries, for `spurious` of `seeds` runs spurious, the rest global."""
    return {"seeds": seeds, "n_spurious": spurious, "n_global": seeds - spurious, "n_saddle": 0,
            "n_unresolved": 0, "n_vanishing": 0, "n_parallel": 0, "frac_spurious": spurious / seeds,
            "spurious_ci95": ci(spurious, seeds), **extra}


def sweep_width(m, seeds, spurious, steps_to, loss_median, near_saddle=0, moving=0, near_saddle_spurious=None):
    to_spurious = near_saddle // 3 if near_saddle_spurious is None else near_saddle_spurious
    return ends_of(seeds, spurious, m=m, n_spurious_uncovering=spurious, median_steps_to_tol=steps_to, loss_median=loss_median,
                   n_sgd_near_saddle=near_saddle, n_sgd_moving=moving, global_drop_median=0.6,
                   sgd_near_saddle_to={"global": near_saddle - to_spurious, "spurious": to_spurious,
                                       "saddle": 0, "unresolved": 0})


def cell(k, n, spurious, reported, runs=200, eig=0.03, F=0.025):
    lo, hi = ends.wilson(spurious, runs)
    return {"k": k, "n": n, "runs": runs, "n_spurious": spurious, "n_global": runs - spurious, "n_unresolved": 0,
            "n_degenerate": 0,
            "n_lbfgs": 0, "frac_spurious": spurious / runs, "spurious_ci95": [lo, hi],
            "reported_pct": reported, "reported_text": None if reported is None else f"{reported:g}",
            "agrees": None if reported is None else lo <= reported / 100 <= hi, "their_step_diverged": False,
            "spurious_eig_F_mean": eig if spurious else None, "spurious_F_mean": F if spurious else None}


def world() -> dict:
    """Results shaped like the full build's, in which every Q1.2 claim holds."""
    cfg = config.as_dict(config.load("hw4.toml").overparam)
    small = ends_of(16, 14, m=20, spurious_loss_min=0.022, spurious_loss_max=0.17, n_spurious_uncovering=14,
                    loss_per_uncovered={"min": 0.015, "max": 0.023, "mean": 0.021}, opposite_cos_max=-0.8,
                    spurious_min_eig_min=0.015, spurious_grad_max=9e-10, spurious_value_bound_min=0.022,
                    global_loss_max=1e-13, mc={"compared": 40, "frac_within_2se": 0.95, "max_abs_z": 2.6})
    large = ends_of(16, 0, m=200, loss_min=2e-4, loss_max=9e-4, median_steps_to_tol=18590,
                    steps_to_tol=[18324, 18527, 20922, 19371, 18988, 17594, 18572, 19961, 18693, 20220, 16743,
                                  19408, 18590, 18052, 17324, 18968],
                    curves={"loss": [[5000.0, 1.0, 0.01]] * 16}, slope_from=8750, slope_to=35000,
                    slope_middle=17500, slope_median=-1.1, slope_first_half=-1.0, slope_second_half=-1.2,
                    mc={"compared": 48, "frac_within_2se": 0.94, "max_abs_z": 3.1})
    widths = [sweep_width(20, 32, 32, None, 0.06), sweep_width(21, 32, 20, None, 0.04, near_saddle=6),
              sweep_width(22, 32, 0, 9000, 1e-4, near_saddle=9, near_saddle_spurious=0), sweep_width(25, 32, 0, 8000, 1e-4),
              sweep_width(30, 32, 0, 8500, 2e-4), sweep_width(200, 32, 0, None, 2e-3, moving=32)]
    paired = lambda agree, a, b: {"agree": agree, "only_first_spurious": a, "only_second_spurious": b}
    return {
        "lr": {"settings": cfg, "scale": 0.5, "stable_scale_min": 1.0, "stable_scale_max": 2.0,
               "widths": [{"m": m, "stable_scale": 2.0 if m <= 40 else 1.0} for m in (20, 21, 22, 25, 30, 200)]},
        "settings": {"settings": cfg, "f0": loss.target_energy(D), "scale": 0.5, "runs": [small, large]},
        "sweep": {"settings": cfg, "scale": 0.5, "widths": widths, "clean_from_m": 22,
                  "reached_m": [22, 25, 30], "fastest_m": 25},
        "compare": {"settings": cfg, "widths": [
            {"m": 20, "seeds": 32, "gd_our_vs_their_step": paired(32, 0, 0), "sgd_vs_gd_our_step": paired(31, 1, 0),
             "sgd": {"n_spurious": 32}, "gd_our_step": {"n_spurious": 31}},
            {"m": 21, "seeds": 32, "gd_our_vs_their_step": paired(32, 0, 0), "sgd_vs_gd_our_step": paired(23, 6, 3),
             "sgd": {"n_spurious": 20}, "gd_our_step": {"n_spurious": 17}},
            {"m": 22, "seeds": 32, "gd_our_vs_their_step": paired(32, 0, 0), "sgd_vs_gd_our_step": paired(32, 0, 0),
             "sgd": {"n_spurious": 0}, "gd_our_step": {"n_spurious": 0}}]},
        "check": {"settings": cfg, "widths": [{"m": 20, "seeds": 32, "lbfgs_vs_gd": paired(32, 0, 0)},
                                             {"m": 21, "seeds": 32, "lbfgs_vs_gd": paired(32, 0, 0)}],
                  "newton": {"k": 19, "n": 20, "table": "plus_one", "handed": 110, "converged": 110, "close": 110,
                             "max_distance": 3e-7, "gd_steps_max": 40000}},
        "square": {"settings": cfg, "cells": [cell(6, 6, 0, 0.3), cell(10, 10, 72, 34.6, eig=0.031, F=0.020),
                                              cell(20, 20, 186, 94.0, eig=0.037, F=0.033)]},
        "plus_one": {"settings": cfg, "cells": [cell(19, 20, 110, 49.1, eig=0.0075)]},
        "wide": {"settings": cfg, "cells": [cell(20, 21, 119, None), cell(20, 22, 0, None), cell(20, 30, 0, None)]},
    }


def context(w: dict) -> dict:
    return {"q1_2_overparam": {"lr": w["lr"], "settings": w["settings"], "sweep": w["sweep"], "compare": w["compare"],
                               "check": w["check"], "safran_square": w["square"],
                               "safran_plus_one": w["plus_one"], "safran_wide": w["wide"]}}



def small(w):
    return w["settings"]["runs"][0]


def large(w):
    return w["settings"]["runs"][-1]


Q = "q1_2_overparam."
COUNTERFACTUALS = {
    Q + "lr_scaling": Counterfactual(lambda w: w["lr"].update(stable_scale_max=20.0), "as the $1/m$ scaling predicts"),
    Q + "lr_below_edge": Counterfactual(lambda w: w["lr"].update(scale=0.9), "or more below the measured edge of stability"),
    Q + "all_certified": Counterfactual(lambda w: small(w).update(n_unresolved=1), "none is unresolved"),
    Q + "no_degenerate": Counterfactual(lambda w: w["sweep"]["widths"][0].update(n_parallel=1),
                                        "No end point above the threshold had a vanishing unit"),
    Q + "continuation_agrees": Counterfactual(lambda w: w["check"]["widths"][1]["lbfgs_vs_gd"].update(agree=30),
                                              "gets the same label both ways"),
    Q + "newton_handover_agrees": Counterfactual(lambda w: w["check"]["newton"].update(close=109),
                                                 "The handover changes nothing"),
    Q + "spurious_minima_miss_targets": Counterfactual(lambda w: w["sweep"]["widths"][0].update(n_spurious_uncovering=31),
                                                       "SGD runs that end at a certified spurious local minimum leaves"),
    Q + "plus_one_keeps_spurious": Counterfactual(lambda w: w["sweep"]["widths"][1].update(n_spurious=0, n_global=32),
                                                  "of the SGD runs with $m = d + 1$ end at one"),
    Q + "small_mostly_spurious": Counterfactual(lambda w: small(w).update(n_spurious=3, n_global=13),
                                                "most SGD runs end at a certified spurious local minimum"),
    Q + "small_cost_per_target": Counterfactual(lambda w: small(w)["loss_per_uncovered"].update(max=0.05),
                                                "thus varies little from minimum to minimum"),
    Q + "small_unit_points_away": Counterfactual(lambda w: small(w).update(opposite_cos_max=-0.3),
                                                 "target's pull on it, the term"),
    Q + "small_genuine_minima": Counterfactual(lambda w: small(w).update(spurious_value_bound_min=-0.01),
                                               "genuine local minima with positive loss"),
    Q + "large_all_global": Counterfactual(lambda w: large(w).update(n_global=15, n_unresolved=1),
                                           "finds a global minimum from every initialization"),
    Q + "large_overshoots": Counterfactual(lambda w: large(w).update(curves={"loss": [[10.0, 1.0, 0.01]] * 16}),
                                           "initially overshoot the target"),
    Q + "large_not_geometric": Counterfactual(lambda w: large(w).update(slope_second_half=-3.0),
                                              "slower than a geometric rate, which would steepen"),
    Q + "mc_agrees": Counterfactual(lambda w: small(w)["mc"].update(frac_within_2se=0.5),
                                    "agree as well as sampling allows"),
    Q + "mild_removes_spurious": Counterfactual(lambda w: w["sweep"].update(clean_from_m=30),
                                                "mild over-parameterization removes them"),
    Q + "sgd_stalls_near_saddles": Counterfactual(
        lambda w: [r.update(n_sgd_near_saddle=0) for r in w["sweep"]["widths"]],
        "widths) ended their steps near a saddle"),
    Q + "near_saddle_runs_escape": Counterfactual(
        lambda w: w["sweep"]["widths"][2]["sgd_near_saddle_to"].update({"global": 8, "spurious": 1}),
        "continued, all 9 reach a global minimum"),
    Q + "widest_still_falling": Counterfactual(lambda w: w["sweep"]["widths"][-1].update(n_sgd_moving=31),
                                               "still descending"),
    Q + "wide_is_slower": Counterfactual(lambda w: large(w).update(median_steps_to_tol=10000,
                                                                   steps_to_tol=[10000] * 16),
                                         "more units cost iterations at a stable step size"),
    Q + "reproduction_agrees": Counterfactual(
        lambda w: [c.update(agrees=False) for c in w["square"]["cells"]], "The reproduction agrees"),
    Q + "minima_like_theirs": Counterfactual(lambda w: w["square"]["cells"][1].update(spurious_F_mean=0.1),
                                             "Our minima lie within the ranges they report"),
    Q + "their_step_stable": Counterfactual(lambda w: w["wide"]["cells"][-1].update(their_step_diverged=True),
                                            "Their step was stable in every cell"),
    Q + "protocols_agree": Counterfactual(lambda w: w["wide"]["cells"][0].update(frac_spurious=0.05),
                                          "this rules out only large differences"),
    Q + "step_size_immaterial": Counterfactual(
        lambda w: w["compare"]["widths"][0]["gd_our_vs_their_step"].update(agree=29), "so the step does not matter here"),
    Q + "init_decides": Counterfactual(lambda w: w["compare"]["widths"][1]["sgd_vs_gd_our_step"].update(agree=18),
                                       "The initial weights partly decide the outcome"),
    Q + "noise_does_not_rescue": Counterfactual(
        lambda w: w["compare"]["widths"][1]["sgd_vs_gd_our_step"].update(only_first_spurious=1, only_second_spurious=8),
        "SGD's noise does not rescue the narrow networks"),
    Q + "summary": Counterfactual(lambda w: w["sweep"]["widths"][0].update(n_spurious=3, n_global=29),
                                  "a moderate surplus of units is also the"),
}

HARNESS = Harness(claims.CLAIMS, world, context, templates=("q1_1_intuition.tex.j2", "q1_2_overparam.tex.j2",
                                                                  "q1_2_overparam_appendix.tex.j2"))


def test_every_claim_has_a_counterfactual():
    HARNESS.check_covered(COUNTERFACTUALS)


def test_every_claim_holds_in_the_world_and_prints_its_sentence():
    HARNESS.check_world(COUNTERFACTUALS)


@pytest.mark.parametrize("name", sorted(COUNTERFACTUALS))
def test_a_contradicted_claim_removes_its_sentence(name):
    HARNESS.check_counterfactual(name, COUNTERFACTUALS[name])


def test_a_claim_with_nan_inputs_is_false():
    w = world()
    small(w)["loss_per_uncovered"]["max"] = math.nan
    assert HARNESS.records(w)[Q + "small_cost_per_target"]["holds"] is False


def test_a_missing_field_stops_naming_the_claim_the_file_and_the_field():
    from hw4.core.claims import ClaimError

    w = world()
    del small(w)["opposite_cos_max"]
    with pytest.raises(ClaimError, match="small_unit_points_away.*settings.*opposite_cos_max"):
        HARNESS.records(w)


def test_init_decides_needs_a_width_where_chance_agreement_is_low():
    w = world()
    w["compare"]["widths"] = [r for r in w["compare"]["widths"] if r["m"] != 21]  # 20 and 22: agreement by chance
    record = HARNESS.records(w)[Q + "init_decides"]
    assert record["holds"] is False and record["numbers"]["informative"] == []


def test_init_decides_compares_agreement_with_independent_outcomes():
    numbers = HARNESS.records(world())[Q + "init_decides"]["numbers"]
    assert numbers["informative"] == [21]
    assert numbers["chance"][0] == pytest.approx(32 * (20 / 32 * 17 / 32 + 12 / 32 * 15 / 32))


def test_wide_is_slower_does_not_hold_on_a_run_that_never_got_there():
    # the old predicate held whenever the widest width was censored; the claim must rest on crossings
    w = world()
    large(w).update(median_steps_to_tol=None, steps_to_tol=[None] * 16)
    assert HARNESS.records(w)[Q + "wide_is_slower"]["holds"] is False
    assert HARNESS.records(w)[Q + "summary"]["holds"] is False


def test_wide_is_slower_compares_at_a_constant_step():
    w = world()
    w["sweep"]["widths"][3]["median_steps_to_tol"] = 15000  # the fastest width crosses after the decay starts
    w["sweep"]["widths"][4]["median_steps_to_tol"] = 16000
    assert HARNESS.records(w)[Q + "wide_is_slower"]["holds"] is False


def test_all_certified_counts_runs_not_records():
    assert HARNESS.records(world())[Q + "all_certified"]["numbers"]["runs"] == 16 + 16 + 6 * 32 + 7 * 200
