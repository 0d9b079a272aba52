"""Q1.2's population loss in closed form: f(W) = E[(y(x) - h(W, x))^2] for x ~ N(0, I_d).

For Gaussian x, E[relu(<u,x>) relu(<v,x>)] = |u||v| (sin t + (pi - t) cos t) / (2 pi), t the angle
between u and v (the degree-1 arc-cosine kernel). The target y(x) = sum_j relu(x_j) is itself such a
network with weights e_1..e_d, so f(W) = k(targets, targets) - 2 k(W, targets) + k(W, W), summed over
pairs. We use it (in float64) for every loss value we report, so curves carry no sampling noise.

Every function takes W shaped (seeds, m, d): all seeds of one setting are one tensor program.
"""
from __future__ import annotations

import math

import torch

TWO_PI = 2 * math.pi
# The closed form adds O((m + d)^2) terms of size O(1) to get f, so float64 rounding leaves
# errors near 1e-13; Monte Carlo comparisons are only meaningful well above that.
ROUNDING_FLOOR = 1e-10


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


def hessian(w: torch.Tensor, h: float = 1e-5) -> torch.Tensor:
    """The exact Hessian of f at one W (m, d), by central differences of the exact gradient.

    All m d perturbed copies go through `exact_grad` as one batch.
    """
    m, d = w.shape
    n = m * d
    step = torch.eye(n, dtype=torch.float64, device=w.device).reshape(n, m, d) * h
    H = (exact_grad(w + step) - exact_grad(w - step)).reshape(n, n) / (2 * h)
    return (H + H.T) / 2


