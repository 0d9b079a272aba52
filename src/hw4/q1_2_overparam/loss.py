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


def loss_and_grad(W: torch.Tensor):
    """f(W) and its gradient from one computation of the angles (the optimizers need both)."""
    norms, unit, (ww, wt) = _angles(W)
    (_, sin_ww, th_ww), (_, sin_wt, th_wt) = ww, wt
    k_ww = (torch.bmm(_kernel(*ww), norms[..., None])[..., 0] * norms).sum(-1) / TWO_PI
    k_wt = (norms * _kernel(*wt).sum(-1)).sum(-1) / TWO_PI
    from_students = torch.bmm(sin_ww, norms[..., None]) * unit + torch.bmm(math.pi - th_ww, W)
    from_targets = sin_wt.sum(-1, keepdim=True) * unit + (math.pi - th_wt)
    return target_energy(W.shape[-1]) - 2 * k_wt + k_ww, (from_students - from_targets) / math.pi


# ----------------------------------------------------------------------------- second derivatives
#
# For unit vectors u, v at angle t, with p = |u + v| = 2 cos(t/2) and q = |u - v| = 2 sin(t/2)
# (so sin t = p q / 2), the kernel's second derivatives are, for u = w/|w| and v = w'/|w'|:
#
#   2 pi d2k/dw dw'  = (pi - t) I + sin t R,      R = b b^T - c c^T  (b = (u+v)/p, c = (u-v)/q),
#   2 pi d2k/dw2     = |w'| sin t / |w| (I - 2 u u^T + P),   P = b b^T + c c^T,
#
# R the reflection that swaps u and v in their plane and P the projection onto that plane.
# Written as alpha (u+v)(u+v)^T -+ beta (u-v)(u-v)^T with alpha = q/(2p), beta = p/(2q), each
# term stays bounded as t -> 0 or pi (the directions b, c are ill-defined there, sin t R is not).


def _alpha_beta(cos: torch.Tensor):
    """alpha = q/(2p) and beta = p/(2q) for unit vectors at cosine `cos`; 0 where p or q is 0,
    where the term they multiply vanishes (u + v = 0 or u - v = 0)."""
    p = (2 + 2 * cos).clamp_min(0).sqrt()
    q = (2 - 2 * cos).clamp_min(0).sqrt()
    alpha = torch.where(p > 0, q / (2 * p).clamp_min(1e-300), torch.zeros_like(cos))
    beta = torch.where(q > 0, p / (2 * q).clamp_min(1e-300), torch.zeros_like(cos))
    return alpha, beta


def _second_order_terms(W: torch.Tensor):
    norms, unit, ((cos_ww, sin_ww, th_ww), (cos_wt, sin_wt, _)) = _angles(W)
    eye = torch.eye(W.shape[-2], dtype=torch.bool, device=W.device)
    a_ww, b_ww = (x.masked_fill(eye, 0.0) for x in _alpha_beta(cos_ww))
    a_wt, b_wt = _alpha_beta(cos_wt)
    # sum over the other units of |w_l| sin t_il, minus the same over the targets (|e_j| = 1)
    sin_sum = torch.bmm(sin_ww, norms[..., None]) - sin_wt.sum(-1, keepdim=True)   # (S, m, 1)
    return norms, unit, th_ww, a_ww, b_ww, a_wt, b_wt, sin_sum


def hvp(W: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """The Hessian of f at W applied to V, both (S, m, d), without forming the Hessian:
    O(m^2 d) per seed, like the gradient. Units must be non-zero (f is not differentiable
    where a unit vanishes)."""
    norms, U, th_ww, a_ww, b_ww, a_wt, b_wt, sin_sum = _second_order_terms(W)
    A = torch.bmm(U, V.transpose(-1, -2))              # A[i, l] = <u_i, v_l>
    B = (U * V).sum(-1)                                # B[i] = <u_i, v_i>
    # blocks i != l: (pi - t) v_l + sin t R v_l, with (u_i +- u_l) . v_l = A[i, l] +- B[l]
    plus, minus = A + B[:, None, :], A - B[:, None, :]
    cross = (torch.bmm(math.pi - th_ww, V) - math.pi * V
             + U * (a_ww * plus - b_ww * minus).sum(-1, keepdim=True) + torch.bmm(a_ww * plus + b_ww * minus, U))
    # blocks i = i: the students' and the targets' terms, with (u_i +- u_l) . v_i = B[i] +- A[l, i]
    r = norms[:, None, :]
    plus, minus = B[..., None] + A.transpose(-1, -2), B[..., None] - A.transpose(-1, -2)
    students = (U * (r * (a_ww * plus + b_ww * minus)).sum(-1, keepdim=True)
                + torch.bmm(r * (a_ww * plus - b_ww * minus), U))
    plus, minus = B[..., None] + V, B[..., None] - V   # (u_i +- e_j) . v_i = B[i] +- V[i, j]
    targets = U * (a_wt * plus + b_wt * minus).sum(-1, keepdim=True) + (a_wt * plus - b_wt * minus)
    own = sin_sum * (V - 2 * U * B[..., None]) + students - targets
    return V + cross / math.pi + own / (math.pi * norms[..., None])


def hessian(W: torch.Tensor) -> torch.Tensor:
    """The Hessian of f at each W, shape (S, m d, m d), assembled from the same formulas as `hvp`:
    O(m^2 d^2) per seed, for the small widths where a dense matrix is cheap."""
    S, m, d = W.shape
    norms, U, th_ww, a_ww, b_ww, a_wt, b_wt, sin_sum = _second_order_terms(W)
    I = torch.eye(d, dtype=W.dtype, device=W.device)
    P, M = U[:, :, None] + U[:, None], U[:, :, None] - U[:, None]        # (S, m, m, d)
    outer = lambda c, X: c[..., None, None] * X[..., :, None] * X[..., None, :]
    H = ((math.pi - th_ww)[..., None, None] * I + outer(a_ww, P) - outer(b_ww, M)) / math.pi
    # diagonal blocks: I + (sin_sum (I - 2 u u^T) + sum_l |w_l| (a P P^T + b M M^T) - targets) / (pi |w|)
    r = norms[:, None, :]
    students = outer(r * a_ww, P).sum(2) + outer(r * b_ww, M).sum(2)     # (S, m, d, d)
    Pt, Mt = U[:, :, None] + I, U[:, :, None] - I                         # (S, m, d, d): u_i +- e_j
    targets = outer(a_wt, Pt).sum(2) + outer(b_wt, Mt).sum(2)
    uu = U[..., :, None] * U[..., None, :]
    own = sin_sum[..., None] * (I - 2 * uu) + students - targets
    diag = I + own / (math.pi * norms[..., None, None])
    idx = torch.arange(m, device=W.device)
    H[:, idx, idx] = diag
    return H.permute(0, 1, 3, 2, 4).reshape(S, m * d, m * d)
