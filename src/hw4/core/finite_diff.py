"""Central finite differences, shared by the derivations' numeric cross-checks."""
from __future__ import annotations

import numpy as np


def grad_hess(fun, w: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of `fun` (which maps a batch of points (..., d) to values) at w.

    Gradient: central differences with step h. Hessian: the 4-point stencil
    (f(+h,+h) - f(+h,-h) - f(-h,+h) + f(-h,-h)) / 4h^2, which on the diagonal is the
    second difference with step 2h; both are exact up to O(h^2).
    """
    w = np.asarray(w, dtype=float)
    e = np.eye(len(w)) * h
    grad = (fun(w + e) - fun(w - e)) / (2 * h)
    pp, pm = w + e[:, None] + e[None], w + e[:, None] - e[None]
    mp, mm = w - e[:, None] + e[None], w - e[:, None] - e[None]
    hess = (fun(pp) - fun(pm) - fun(mp) + fun(mm)) / (4 * h * h)
    return grad, (hess + hess.T) / 2
