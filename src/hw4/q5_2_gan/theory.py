"""The two identities the Q5.2 answer states about the GAN game, derived with sympy.

Both hold point by point in x, for any densities p = p_data(x) > 0 and q = p_g(x) > 0; summed over
x with sum p = sum q = 1 they become the report's statements:

- the inner maximum: D*(x) = p / (p + q) maximizes p log D + q log(1 - D), and its value equals
  p log(p/m) + q log(q/m) - (p + q) log 2 with m = (p + q) / 2, so max_D V = 2 JSD - log 4;
- the non-saturating generator loss at D*: -q log D* = q log(q/p) - q log(q/m) + q log 2, so
  E_{p_g}[-log D*] = KL(p_g || p_data) - KL(p_g || m) + log 2, and 0 <= KL(p_g || m) <= log 2
  because q/m lies in (0, 2).

A numeric check on random discrete distributions (float64) confirms the summed forms.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from hw4.core import store

P, Q, D = sp.symbols("p q D", positive=True)
M = (P + Q) / 2
D_STAR = P / (P + Q)
RANDOM_PAIRS = 20      # random pairs of discrete distributions for the numeric check
SUPPORT = 12           # their support size
NUMERIC_TOL = 1e-12    # the summed identities hold to this in float64


def _zero(expr) -> bool:
    return sp.simplify(sp.expand_log(expr, force=True)) == 0


def symbolic() -> dict:
    """Each pointwise step, checked by sympy (True when it simplifies to an identity)."""
    integrand = P * sp.log(D) + Q * sp.log(1 - D)
    slope, curvature = integrand.diff(D), integrand.diff(D, 2)
    return {
        "d_star_stationary": _zero(slope.subs(D, D_STAR)),
        "d_star_maximum": sp.simplify(-curvature.subs(D, D_STAR)).is_positive is True,
        "inner_value": _zero(integrand.subs(D, D_STAR)
                             - (P * sp.log(P / M) + Q * sp.log(Q / M) - (P + Q) * sp.log(2))),
        "non_saturating": _zero(-Q * sp.log(D_STAR)
                                - (Q * sp.log(Q / P) - Q * sp.log(Q / M) + Q * sp.log(2))),
        "mixture_ratio_below_two": sp.simplify(2 - Q / M).is_positive is True,
    }


def numeric(seed: int = 0) -> dict:
    """The summed identities on random distributions: the largest absolute error of each."""
    rng = np.random.default_rng(seed)
    inner, non_sat = 0.0, 0.0
    for _ in range(RANDOM_PAIRS):
        p, q = (x / x.sum() for x in rng.random((2, SUPPORT)) + 1e-3)
        m = (p + q) / 2
        kl = lambda a, b: float(np.sum(a * np.log(a / b)))  # noqa: E731
        d_star = p / (p + q)
        value = float(np.sum(p * np.log(d_star) + q * np.log(1 - d_star)))
        inner = max(inner, abs(value - (kl(p, m) + kl(q, m) - float(np.log(4)))))
        non_sat = max(non_sat, abs(float(np.sum(-q * np.log(d_star))) - (kl(q, p) - kl(q, m) + float(np.log(2)))))
    return {"inner_error": inner, "non_saturating_error": non_sat, "tol": NUMERIC_TOL, "pairs": RANDOM_PAIRS}


def run(out_path) -> None:
    """Edge: derive, check and write theory.json."""
    store.save_result(out_path, {"checks": symbolic(), "numeric": numeric()},
                      {"pairs": RANDOM_PAIRS, "support": SUPPORT})
