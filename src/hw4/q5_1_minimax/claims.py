"""Q5.1's claims: which check of derivation.py backs which statement of the answer.

The answer is mathematics that sympy derives (derivation.best_response, verify, conditions,
local_violation) and a grid search and finite differences confirm (derivation.numeric). Each
`stop` claim names a statement of templates/q5_1_minimax.tex.j2 and the checks (derivation.json's
`checks` and condition flags) or the measured agreement that prove it; the template marks the
statement with require(...).
"""
from __future__ import annotations

from hw4.core.claims import Registry

CLAIMS = Registry("q5_1_minimax")
FD_TOL = 1e-6  # central finite differences "reproduce" a derivative: absolute error at most this


def _checks(derivation, *names) -> dict:
    return {name: derivation.checks[name] for name in names}


def _all(**checks) -> bool:
    return all(checks.values())


@CLAIMS.claim("phi", if_false="stop", holds=_all,
              says="the two branches are the local maxima in y, the ends never win, and phi is their upper envelope")
def _(derivation, **_):
    return _checks(derivation, "branches_are_maxima", "ends_lose", "phi_positive_x", "phi_negative_x")


@CLAIMS.claim("global_points", if_false="stop", holds=_all,
              says="phi is even and increasing in |x|: x* = 0, y* = +-pi, value 1")
def _(derivation, **_):
    return _checks(derivation, "phi_increasing", "value", "y_stars")


@CLAIMS.claim("derivatives", if_false="stop", holds=_all,
              says="at (0, +-pi): gradient (+-pi/5, 0), Hessian [[0, 1/5], [1/5, -1]], Schur complement 1/25")
def _(derivation, **_):
    return _checks(derivation, "grad", "hess", "schur")


@CLAIMS.claim("conditions", if_false="stop",
              holds=lambda interior, first_order, second_order_necessary, curvature_sufficient,
              second_order_sufficient: interior and not first_order and second_order_necessary
              and curvature_sufficient and not second_order_sufficient,
              says="at both points (interior): first-order condition fails, second-order necessary holds, the "
                   "sufficient condition's curvature holds strictly but the condition does not apply")
def _(derivation, **_):
    # 'first_order' and 'second_order_sufficient' hold at *some* point; the others at *every* point
    return {k: derivation[k] for k in ("interior", "first_order", "second_order_necessary",
                                       "curvature_sufficient", "second_order_sufficient")}


@CLAIMS.claim("local_violation", if_false="stop", holds=_all,
              says="f(-delta, y_+(-delta)) - 1 = (negative drift) + (non-positive shrink), the maximiser stays "
                   "within pi/2 of pi, and the case y* = -pi mirrors it")
def _(derivation, **_):
    return _checks(derivation, "local_split", "local_inside", "local_symmetric")


@CLAIMS.claim("grid_phi", if_false="stop", holds=lambda err, bound: err <= bound,
              says="the grid search reproduces phi within the bound (dy)^2/8 of its spacing")
def _(derivation, **_):
    n = derivation.numeric
    return {"err": n.phi_grid_max_err, "bound": n.phi_grid_err_bound}


@CLAIMS.claim("grid_minimax", if_false="stop",
              holds=lambda x, x_star, dx, value_grid, value, bound, y_grid, y_stars, dy:
              abs(x - x_star) <= dx / 2 and abs(value_grid - value) <= bound
              and all(abs(a - b) <= dy for a, b in zip(sorted(y_grid), sorted(y_stars))),
              says="the grid's min-max point is (0, +-pi) with value 1, to within the grid's resolution")
def _(derivation, **_):
    n = derivation.numeric
    return {"x": n.grid_x_star, "x_star": derivation.x_star, "dx": n.grid_dx, "value_grid": n.grid_value,
            "value": derivation.value, "bound": n.phi_grid_err_bound, "y_grid": n.grid_argmax_y,
            "y_stars": derivation.y_stars, "dy": n.grid_dy}


@CLAIMS.claim("fd_agrees", if_false="stop", holds=lambda grad_err, hess_err, tol: max(grad_err, hess_err) <= tol,
              says="central finite differences reproduce the gradient and Hessian at (0, +-pi)")
def _(derivation, **_):
    fd = derivation.numeric.fd
    return {"grad_err": max(row.grad_err for row in fd), "hess_err": max(row.hess_err for row in fd), "tol": FD_TOL}


@CLAIMS.claim("local_table", if_false="stop",
              holds=lambda max_local, value, min_global, nested: max_local < value < min_global and nested,
              says="in the table, every locally restricted best response is below f(0, pi) = 1, every global one "
                   "above, and the larger window never gives the smaller maximum")
def _(derivation, **_):
    rows = derivation.numeric.local
    return {"max_local": max(max(r.local_max_delta, r.local_max_half_pi, r.local_closed) for r in rows),
            "value": derivation.value, "min_global": min(r.global_max for r in rows),
            "nested": all(r.local_max_half_pi >= r.local_max_delta for r in rows)}
