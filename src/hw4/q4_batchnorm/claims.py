"""Q4's claims: which check of derivation.py backs which statement of the answer.

Every statement of Q4 is mathematics that sympy derives from the definition of f
(derivation.verify, infimum, rates) and finite differences confirm (derivation.numeric). Each `stop`
claim names a statement of templates/q4_batchnorm.tex.j2 and the checks (derivation.json's
`checks`) or the measured agreement that prove it; the template marks the statement with require(...).
"""
from __future__ import annotations

from hw4.core.claims import Registry

CLAIMS = Registry("q4_batchnorm")
FD_REL_TOL = 1e-5  # finite differences "agree" with a closed form: relative error at most this
SLOPE_TOL = 0.01   # a fitted log-log slope "is" the derived one: within this


def _checks(derivation, *names) -> dict:
    return {name: derivation.checks[name] for name in names}


def _all(**checks) -> bool:
    return all(checks.values())


@CLAIMS.claim("infimum", if_false="stop", holds=_all,
              says="f(eps w*) = lambda eps^2 -> 0, and 0 is the infimum (the lower bound of both terms)")
def _(derivation, **_):
    return _checks(derivation, "f", "f_star")


@CLAIMS.claim("not_attained", if_false="stop", holds=_all,
              says="f(w) >= lambda ||w||^2 > 0 = f* for every w != 0: the infimum is not attained")
def _(derivation, **_):
    return _checks(derivation, "not_attained")


@CLAIMS.claim("gradient_unbounded", if_false="stop", holds=_all,
              says="the gradient (closed form) has norm ~ 2 sin theta / r as r -> 0+ (theta in [0, pi]): f is not Lipschitz near 0")
def _(derivation, **_):
    return _checks(derivation, "grad", "grad_norm", "grad_rate")


@CLAIMS.claim("jump", if_false="stop", holds=_all,
              says="f(-eps w*) - f(eps w*) = 4 at distance 2 eps: unbounded difference quotients, no continuous f(0)")
def _(derivation, **_):
    return _checks(derivation, "jump_unbounded")


@CLAIMS.claim("hessian_unbounded", if_false="stop", holds=_all,
              says="the Hessian's eigenvalues (closed form) give r^2 ||Hessian|| -> |cos| + sqrt(1 + 3 sin^2) >= 2 "
                   "in every direction: f is not smooth near 0")
def _(derivation, **_):
    return _checks(derivation, "hess", "eig_plus", "eig_minus", "eig_perp", "eigs_distinct", "hess_rate",
                   "hess_rate_min")


@CLAIMS.claim("scale_invariant", if_false="stop", holds=_all,
              says="the data term is scale invariant, g(k w) = g(w) for k > 0")
def _(derivation, **_):
    return _checks(derivation, "scale_invariant")


@CLAIMS.claim("fd_agrees", if_false="stop",
              holds=lambda grad, hess_eigs, along_hess_eigs, tol: max(grad, hess_eigs, along_hess_eigs) <= tol,
              says="finite differences of f agree with the closed-form gradient and Hessian eigenvalues")
def _(derivation, **_):
    err = derivation.numeric.max_rel_err
    return {"grad": err.grad, "hess_eigs": err.hess_eigs, "along_hess_eigs": err.along_hess_eigs,
            "tol": FD_REL_TOL}


@CLAIMS.claim("slopes_match", if_false="stop",
              holds=lambda grad_fit, hess_fit, along_hess_fit, grad_slope, hess_slope, tol:
              abs(grad_fit - grad_slope) <= tol and abs(hess_fit - hess_slope) <= tol
              and abs(along_hess_fit - hess_slope) <= tol,
              says="the slopes fitted to the finite-difference norms are the derived -1 and -2")
def _(derivation, **_):
    n = derivation.numeric
    return {"grad_fit": n.grad_slope_fit, "hess_fit": n.hess_slope_fit, "along_hess_fit": n.along_hess_slope_fit,
            "grad_slope": derivation.grad_slope, "hess_slope": derivation.hess_slope, "tol": SLOPE_TOL}
