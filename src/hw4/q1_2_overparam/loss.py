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
    """What every second derivative at W needs: norms, unit rows, the angles' pi - t between units,
    alpha +- beta between units (a_p, a_m, zero on the diagonal) and between units and targets
    (t_p, t_m), and sum over the other units of |w_l| sin t_il minus the same over the targets."""
    norms, unit, ((cos_ww, sin_ww, th_ww), (cos_wt, sin_wt, _)) = _angles(W)
    eye = torch.eye(W.shape[-2], dtype=torch.bool, device=W.device)
    a_ww, b_ww = (x.masked_fill(eye, 0.0) for x in _alpha_beta(cos_ww))
    a_wt, b_wt = _alpha_beta(cos_wt)
    sin_sum = torch.bmm(sin_ww, norms[..., None]) - sin_wt.sum(-1, keepdim=True)   # (S, m, 1)
    return norms, unit, math.pi - th_ww, a_ww + b_ww, a_ww - b_ww, a_wt + b_wt, a_wt - b_wt, sin_sum


def hessian_operator(W: torch.Tensor):
    """V -> (Hessian of f at W) V for V shaped like W, without forming the Hessian: the terms that
    depend on W alone are computed once, each product then costs a few O(m^2 d) passes (Lanczos
    applies it hundreds of times at one W). Units must be non-zero (f is not differentiable where
    a unit vanishes).

    With alpha +- beta written a_p, a_m, the block (i, l != i) is
    ((pi - t) I + a_m (u_i u_i^T + u_l u_l^T) + a_p (u_i u_l^T + u_l u_i^T)) / pi and the block (i, i)
    is I + (sin_sum (I - 2 u_i u_i^T) + sum_l |w_l| (a_p (u_i u_i^T + u_l u_l^T) + a_m (u_i u_l^T +
    u_l u_i^T)) - (the same over the targets e_j, |e_j| = 1)) / (pi |w_i|).
    """
    norms, U, pi_minus, a_p, a_m, t_p, t_m, sin_sum = _second_order_terms(W)
    r_p, r_m = a_p * norms[:, None, :], a_m * norms[:, None, :]
    r_p_sum, r_m_U = r_p.sum(-1, keepdim=True), torch.bmm(r_m, U)
    t_p_sum = t_p.sum(-1, keepdim=True)
    scale = 1 / (math.pi * norms[..., None])

    def apply(V: torch.Tensor) -> torch.Tensor:
        A = torch.bmm(U, V.transpose(-1, -2))          # A[i, l] = <u_i, v_l>
        At = A.transpose(-1, -2)                       # At[i, l] = <u_l, v_i>
        B = (U * V).sum(-1, keepdim=True)              # B[i] = <u_i, v_i>
        cross = (torch.bmm(pi_minus, V) - math.pi * V + torch.bmm(a_p * A, U) + torch.bmm(a_m, B * U)
                 + U * ((a_m * A).sum(-1, keepdim=True) + torch.bmm(a_p, B)))
        students = U * (B * r_p_sum + (r_m * At).sum(-1, keepdim=True)) + B * r_m_U + torch.bmm(r_p * At, U)
        targets = U * (B * t_p_sum + (t_m * V).sum(-1, keepdim=True)) + B * t_m + t_p * V
        return V + cross / math.pi + (sin_sum * (V - 2 * U * B) + students - targets) * scale

    return apply


def hvp(W: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """The Hessian of f at W applied to V, both (S, m, d) (see `hessian_operator`)."""
    return hessian_operator(W)(V)


def hessian(W: torch.Tensor) -> torch.Tensor:
    """The Hessian of f at each W, shape (S, m d, m d), from the block formulas of
    `hessian_operator`, built in place in the (unit, coordinate, unit, coordinate) layout:
    O(m^2 d^2) per seed, for the small widths where a dense matrix is cheap."""
    S, m, d = W.shape
    norms, U, pi_minus, a_p, a_m, t_p, t_m, sin_sum = _second_order_terms(W)
    I = torch.eye(d, dtype=W.dtype, device=W.device)
    uu = U[..., :, None] * U[..., None, :]                                   # (S, m, d, d)
    pair = lambda c: (c / math.pi)[:, :, None, :, None]                      # (S, m, 1, m, 1)
    H = pair(pi_minus) * I[None, None, :, None, :]                           # (S, m, d, m, d)
    H.addcmul_(pair(a_m), uu[:, :, :, None, :])                              # a_m u_i u_i^T
    H.addcmul_(pair(a_m), uu.permute(0, 2, 1, 3)[:, None])                   # a_m u_l u_l^T
    H.addcmul_(pair(a_p) * U[:, :, :, None, None], U[:, None, None, :, :])   # a_p u_i u_l^T
    H.addcmul_(pair(a_p) * U.transpose(1, 2)[:, None, :, :, None], U[:, :, None, None, :])  # a_p u_l u_i^T
    r_p = a_p * norms[:, None, :]
    r_m_U = torch.bmm(a_m * norms[:, None, :], U)
    students = (r_p.sum(-1)[..., None, None] * uu + torch.bmm(r_p, uu.reshape(S, m, d * d)).reshape(S, m, d, d)
                + U[..., :, None] * r_m_U[..., None, :] + r_m_U[..., :, None] * U[..., None, :])
    targets = (t_p.sum(-1)[..., None, None] * uu + torch.diag_embed(t_p)
               + U[..., :, None] * t_m[..., None, :] + t_m[..., :, None] * U[..., None, :])
    own = sin_sum[..., None] * (I - 2 * uu) + students - targets
    diag = I + own / (math.pi * norms[..., None, None])
    torch.diagonal(H, dim1=1, dim2=3).copy_(diag.permute(0, 2, 3, 1))
    return H.reshape(S, m * d, m * d)
