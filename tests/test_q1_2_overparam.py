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
from hw4.q1_2_overparam import loss, sgd

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


def test_hessian_at_a_global_minimum_is_positive_definite():
    H = loss.hessian(torch.eye(6, dtype=torch.float64))
    assert torch.allclose(H, H.T)
    assert torch.linalg.eigvalsh(H)[0] > 0.05
    # and it is the derivative of the exact gradient along a random direction
    W = sgd.init(1, 6, 6, gen(10))[0]
    v = torch.randn(6, 6, generator=gen(11), dtype=torch.float64)
    h = 1e-6
    directional = (loss.exact_grad((W + h * v)[None]) - loss.exact_grad((W - h * v)[None]))[0] / (2 * h)
    assert torch.allclose(loss.hessian(W) @ v.flatten(), directional.flatten(), atol=1e-6)


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


def test_classification_and_coverage():
    section = config.load("hw4.toml").overparam
    P = torch.eye(D, dtype=torch.float64)[None]
    assert ends.covered_targets(P, section.cover_cos).item() == D
    flipped = P.clone()
    flipped[0, 3] = -flipped[0, 3]
    assert ends.covered_targets(flipped, section.cover_cos).item() == D - 1
    loss = torch.tensor([1e-6, 0.05, 0.05, 0.05, 0.05, 0.05], dtype=torch.float64)
    grad = torch.tensor([1e-3, 1e-3, 1e-3, 1.0, 1e-3, 1e-3], dtype=torch.float64)
    uncovered = torch.tensor([0, 1, 1, 1, 0, 2])
    min_eig = torch.tensor([0.1, 0.1, -0.1, 0.1, 0.1, math.nan], dtype=torch.float64)
    assert ends.classify(loss, grad, uncovered, min_eig, section) == [
        "global", "spurious", "saddle", "unresolved", "unresolved", "spurious"]


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
])
def test_bad_values_are_refused(tmp_path, key, value, message):
    text = Path("hw4.toml").read_text()
    section = text[text.index("[overparam]"):]
    edited = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", section, count=1)
    bad = tmp_path / "hw4.toml"
    bad.write_text(text.replace(section, edited))
    with pytest.raises(config.ConfigError, match=message):
        config.load(bad)
