"""Q5.1: global min-max points need not be local min-max points (Jin, Netrapalli & Jordan 2020).

    f(x, y) = x y / 5 - cos(y)   on   x in [-1, 1],  y in [-2 pi, 2 pi].

For fixed x, the y-player's interior critical points solve sin y = -x/5. Those with cos y < 0
are the local maxima, one near each of y = +pi and y = -pi (the branches y_+(x), y_-(x)); the
others are local minima, and the ends y = +-2 pi are the only other candidates for the max.
The global best response is y_+ for x > 0 and y_- for x < 0, so phi(x) = max_y f(x, y) has a
kink at x = 0, where the best response jumps from one branch to the other: that is why
(0, +-pi) are global min-max points but not local ones. Every claim below is derived with sympy
and checked again numerically (grid search, finite differences).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp

from hw4.core import store
from hw4.core.finite_diff import grad_hess

x, y = sp.symbols("x y", real=True)
p, delta = sp.symbols("p delta", positive=True)  # p = |x| > 0; delta: how far x moves
F = x * y / 5 - sp.cos(y)
X_BOX, Y_BOX = (-1, 1), (-2 * sp.pi, 2 * sp.pi)
BRANCH = {"plus": sp.pi + sp.asin(x / 5), "minus": -sp.pi + sp.asin(x / 5)}  # sin y = -x/5, cos y < 0

# What we claim; `verify` checks each one against sympy's derivation.
CLAIMS = {
    "phi": sp.Abs(x) * (sp.pi + sp.asin(sp.Abs(x) / 5)) / 5 + sp.sqrt(1 - x**2 / 25),
    "x_star": sp.Integer(0),
    "y_stars": [-sp.pi, sp.pi],
    "value": sp.Integer(1),
    "grad": lambda ys: sp.Matrix([ys / 5, 0]),
    "hess": sp.Matrix([[0, sp.Rational(1, 5)], [sp.Rational(1, 5), -1]]),
    "schur": sp.Rational(1, 25),
}


def same(a, b) -> bool:
    """Symbolic equality: the difference simplifies to zero (entrywise for matrices)."""
    return sp.simplify(sp.Matrix([a]) - sp.Matrix([b])).is_zero_matrix is True


@functools.cache  # pure and argument-free: derive, numeric and the tests share one computation
def best_response() -> dict:
    """The y-player's candidates for fixed x and the closed form of phi(x) = max_y f(x, y)."""
    value = {k: sp.simplify(F.subs(y, b)) for k, b in BRANCH.items()}
    edge = sp.simplify(F.subs(y, 2 * sp.pi)), sp.simplify(F.subs(y, -2 * sp.pi))  # max: 2 pi |x|/5 - 1
    samples = [sp.Rational(1, 2), sp.Rational(-1, 3), sp.Integer(-1), sp.Integer(0)]
    return {
        "value": value, "edge": edge,
        "branch_critical": all(same(F.diff(y).subs(y, b), 0) for b in BRANCH.values()),
        "branch_curvature": {k: sp.simplify(F.diff(y, 2).subs(y, b)) for k, b in BRANCH.items()},
        "plus_minus": sp.simplify(value["plus"] - value["minus"]),  # 2 pi x / 5: sign of x picks the branch
        # at sample x, solve sin y = -x/5 on the box: the critical points with cos y < 0 are the branches
        "samples_ok": all(_maxima_are_branches(xv) for xv in samples),
    }


def _maxima_are_branches(xv) -> bool:
    sols = sp.solveset(F.diff(y).subs(x, xv), y, sp.Interval(*Y_BOX))
    maxima = {z for z in sols if sp.cos(z).evalf() < 0}
    return maxima == {sp.simplify(b.subs(x, xv)) for b in BRANCH.values()}


def edge_gap(phi) -> dict:
    """phi minus the better end value 2 pi |x|/5 - 1, as a function of p = |x| in (0, 1]."""
    gap = phi.subs(x, p) - (2 * sp.pi * p / 5 - 1)
    return {"gap": gap, "slope": sp.simplify(sp.diff(gap, p)), "at_1": sp.simplify(gap.subs(p, 1))}


def verify(claims: dict, br: dict) -> dict:
    """Each claim checked against the derivation; a wrong formula turns its entry False."""
    phi = claims["phi"]
    dphi = sp.simplify(sp.diff(phi.subs(x, p), p))  # phi is even, so x > 0 suffices
    argmax0 = sp.solveset(F.subs(x, claims["x_star"]).diff(y), y, sp.Interval(*Y_BOX))
    best0 = {z for z in argmax0 if same(F.subs({x: claims["x_star"], y: z}), claims["value"])}
    points = [(claims["x_star"], ys) for ys in claims["y_stars"]]
    grad = sp.Matrix([F.diff(x), F.diff(y)])
    hess = sp.hessian(F, (x, y))
    gap = edge_gap(phi)
    return {
        "phi_positive_x": same(phi.subs(x, p), br["value"]["plus"].subs(x, p)),
        "phi_negative_x": same(phi.subs(x, -p), br["value"]["minus"].subs(x, -p)),
        "branches_are_maxima": br["branch_critical"] and br["samples_ok"]
        and all(same(k, -sp.sqrt(25 - x**2) / 5) for k in br["branch_curvature"].values()),
        # the ends never win: gap' = (asin(p/5) - pi)/5 < 0 on (0, 1], and gap(1) > 0
        "ends_lose": same(gap["slope"], (sp.asin(p / 5) - sp.pi) / 5) and bool(gap["at_1"] > 0),
        # phi'(p) = (pi + asin(p/5))/5 > 0 for p > 0 and phi is even: x* = 0 is the unique minimiser
        "phi_increasing": same(dphi, (sp.pi + sp.asin(p / 5)) / 5) and same(phi, phi.subs(x, -x)),
        "value": same(phi.subs(x, claims["x_star"]), claims["value"]),
        "y_stars": best0 == set(claims["y_stars"]),
        "grad": all(same(grad.subs({x: a, y: b}), claims["grad"](b)) for a, b in points),
        "hess": all(same(hess.subs({x: a, y: b}), claims["hess"]) for a, b in points),
        "schur": same(claims["hess"][0, 0] - claims["hess"][0, 1] ** 2 / claims["hess"][1, 1], claims["schur"]),
    }


def conditions(claims: dict) -> dict:
    """Jin et al.'s conditions at (0, +-pi): curvature holds, stationarity fails."""
    hess, schur = claims["hess"], claims["schur"]
    rows = []
    for ys in claims["y_stars"]:
        g = claims["grad"](ys)
        interior = X_BOX[0] < claims["x_star"] < X_BOX[1] and Y_BOX[0] < ys < Y_BOX[1]
        stationary = g.is_zero_matrix
        rows.append({"y": ys, "grad": g, "interior": bool(interior), "first_order": bool(stationary),
                     "second_order_necessary": bool(hess[1, 1] <= 0 and (not hess[1, 1] < 0 or schur >= 0)),
                     "curvature_sufficient": bool(hess[1, 1] < 0 and schur > 0),
                     "second_order_sufficient": bool(stationary and hess[1, 1] < 0 and schur > 0)})
    return {"points": rows}


def local_violation(br: dict) -> dict:
    """Move x by -delta sign(y*): the best y within pi/2 of y* stays on y*'s branch and is worth < 1."""
    local = {"plus": sp.simplify(br["value"]["plus"].subs(x, -delta)),    # y* = +pi, x = -delta
             "minus": sp.simplify(br["value"]["minus"].subs(x, delta))}   # y* = -pi, x = +delta
    gap = local["plus"] - 1
    drift = -delta * (sp.pi - sp.asin(delta / 5)) / 5  # < 0: x pulls the value down at rate pi/5
    shrink = sp.sqrt(1 - delta**2 / 25) - 1            # <= 0
    return {
        "local": local["plus"], "symmetric": same(local["plus"], local["minus"]),
        "gap": gap, "split": same(gap, drift + shrink), "drift": drift, "shrink": shrink,
        "series": sp.series(gap, delta, 0, 3).removeO(),
        # the branch's maximiser stays within pi/2 of y*, where f is concave in y (cos y <= 0)
        "inside": bool(sp.asin(sp.Rational(1, 5)) < sp.pi / 2),
        "global": sp.simplify(CLAIMS["phi"].subs(x, -delta)),  # reached near y = -pi instead
    }


# ----------------------------------------------------------------------------- numbers

def f_numeric(xv, yv):
    """f from its definition, elementwise."""
    return 0.2 * xv * yv - np.cos(yv)


def grid_minimax(nx: int, ny: int, chunk: int = 128) -> dict:
    """Brute force on the box: phi(x) = max over the y grid, then its minimum over the x grid."""
    xs, ys = np.linspace(-1, 1, nx), np.linspace(-2 * np.pi, 2 * np.pi, ny)
    phi, arg = np.empty(nx), np.empty(nx)
    for i in range(0, nx, chunk):  # chunks keep memory small at the full grid size
        vals = f_numeric(xs[i:i + chunk, None], ys[None, :])
        j = vals.argmax(axis=1)
        phi[i:i + chunk], arg[i:i + chunk] = vals[np.arange(len(j)), j], ys[j]
    k = int(phi.argmin())
    row = f_numeric(xs[k], ys)
    halves = [ys < 0, ys > 0]  # the best y on each side: the two tied maximisers at x*
    best = [float(ys[h][row[h].argmax()]) for h in halves]
    return {"xs": xs, "ys": ys, "phi": phi, "argmax": arg, "x_star": float(xs[k]), "value": float(phi[k]),
            "argmax_y": best, "argmax_tie": float(abs(row[halves[0]].max() - row[halves[1]].max()))}


def numeric(section, claims: dict = CLAIMS) -> dict:
    """Grid search, finite differences and the local check, against the closed forms."""
    g = grid_minimax(section.grid_x, section.grid_y)
    phi = sp.lambdify(x, claims["phi"], "numpy")
    dy = float(g["ys"][1] - g["ys"][0])
    fun = lambda w: f_numeric(w[..., 0], w[..., 1])  # noqa: E731
    fd = []
    for ys in claims["y_stars"]:
        point = np.array([float(claims["x_star"]), float(ys)])
        grad, hess = grad_hess(fun, point, section.fd_step)
        fd.append({"y": float(ys), "grad_fd": grad, "hess_fd": hess,
                   "grad_err": float(np.max(np.abs(grad - np.array(claims["grad"](ys), dtype=float).ravel()))),
                   "hess_err": float(np.max(np.abs(hess - np.array(claims["hess"], dtype=float))))})
    local = sp.lambdify(delta, local_violation(best_response())["local"], "math")
    rows = []
    # One y grid, of one spacing, for every window: the smallest window gets `local_points` points and
    # a larger window holds every point of a smaller one, so its maximum can only be larger.
    step = 2 * min(section.deltas) / (section.local_points - 1)
    j = np.arange(-int(math.pi / 2 / step), int(math.pi / 2 / step) + 1)
    for d in section.deltas:
        for ys in (-math.pi, math.pi):
            xq = -d * math.copysign(1.0, ys)  # toward the side where y*'s branch loses
            vals = f_numeric(xq, ys + step * j)
            window = {"delta": float(vals[np.abs(j) <= round(d / step)].max()), "half_pi": float(vals.max())}
            every = f_numeric(xq, g["ys"])
            rows.append({"delta": d, "y_star": ys, "x": xq, "local_max_delta": window["delta"],
                         "local_max_half_pi": window["half_pi"], "local_closed": local(d),
                         "gap": local(d) - 1.0, "global_max": float(every.max()),
                         "global_closed": float(phi(xq)), "global_argmax_y": float(g["ys"][every.argmax()])})
    px, py = np.linspace(-1, 1, section.plot_x), np.linspace(-2 * np.pi, 2 * np.pi, section.plot_y)
    sub = np.unique(np.linspace(0, section.grid_x - 1, 41).round().astype(int))
    value = {k: sp.lambdify(x, best_response()["value"][k], "numpy") for k in BRANCH}
    branch = {k: sp.lambdify(x, b, "numpy") for k, b in BRANCH.items()}
    return {
        "grid_x_star": g["x_star"], "grid_value": g["value"], "grid_argmax_y": g["argmax_y"],
        "grid_argmax_tie": g["argmax_tie"], "grid_dx": float(g["xs"][1] - g["xs"][0]), "grid_dy": dy,
        "phi_grid_max_err": float(np.max(np.abs(g["phi"] - phi(g["xs"])))),
        "phi_grid_err_bound": dy**2 / 8,  # |f_yy| <= 1: the grid misses a max by at most (dy/2)^2 / 2
        "fd": fd, "local": rows, "local_step": step,
        "plot": {"x": px, "y": py, "f": np.round(f_numeric(px[None, :], py[:, None]), 6),
                 "phi": phi(px), "value_plus": value["plus"](px), "value_minus": value["minus"](px),
                 "y_plus": branch["plus"](px), "y_minus": branch["minus"](px),
                 "grid_x": g["xs"][sub], "grid_phi": g["phi"][sub]},
    }


# ----------------------------------------------------------------------------- results

def derive(section) -> dict:
    """Everything Q5.1 needs, as JSON-able data: sympy results as LaTeX, checks as booleans."""
    br = best_response()
    checks = verify(CLAIMS, br)
    cond = conditions(CLAIMS)
    lv = local_violation(br)
    checks.update(local_symmetric=lv["symmetric"], local_split=lv["split"], local_inside=lv["inside"])
    failed = [k for k, ok in checks.items() if not ok]
    if failed:  # never render a claim that sympy did not confirm
        raise RuntimeError(f"Q5.1: sympy does not confirm {', '.join(failed)}; fix CLAIMS in {__file__}")
    latex = lambda e: sp.latex(e, inv_trig_style="full")  # noqa: E731  (arcsin, not asin)
    points = [{"y": float(row["y"]), "y_latex": latex(row["y"]), "grad": [float(v) for v in row["grad"]],
               "grad_latex": latex(row["grad"].T), "fx_latex": latex(row["grad"][0]),
               **{k: row[k] for k in ("interior", "first_order", "second_order_necessary",
                                      "curvature_sufficient", "second_order_sufficient")}}
              for row in cond["points"]]
    summary = {k: all(pt[k] for pt in points) for k in ("interior", "second_order_necessary", "curvature_sufficient")}
    summary.update({k: any(pt[k] for pt in points) for k in ("first_order", "second_order_sufficient")})
    hess, gap = CLAIMS["hess"], edge_gap(CLAIMS["phi"])
    return {
        "f_latex": latex(F),
        **{f"branch_{k}_latex": latex(b) for k, b in BRANCH.items()},
        **{f"value_{k}_latex": latex(v) for k, v in br["value"].items()},
        "branch_curvature_latex": latex(br["branch_curvature"]["plus"]),
        "plus_minus_latex": latex(br["plus_minus"]),
        "edge_plus_latex": latex(br["edge"][0]), "edge_minus_latex": latex(br["edge"][1]),
        "gap_slope_latex": latex(gap["slope"].subs(p, sp.Abs(x))), "gap_at_1_latex": latex(gap["at_1"]),
        "gap_at_1": float(gap["at_1"]),
        "phi_latex": latex(CLAIMS["phi"]), "dphi_latex": latex(sp.simplify(sp.diff(CLAIMS["phi"].subs(x, p), p))
                                                              .subs(p, x)),
        "kink_slope_latex": latex(sp.limit(sp.diff(CLAIMS["phi"].subs(x, p), p), p, 0, "+")),
        "kink_slope": float(sp.limit(sp.diff(CLAIMS["phi"].subs(x, p), p), p, 0, "+")),
        "x_star": float(CLAIMS["x_star"]), "x_star_latex": latex(CLAIMS["x_star"]),
        "y_stars": [float(v) for v in CLAIMS["y_stars"]], "y_stars_latex": [latex(v) for v in CLAIMS["y_stars"]],
        "value": float(CLAIMS["value"]), "value_latex": latex(CLAIMS["value"]),
        "grad_general_latex": latex(sp.Matrix([F.diff(x), F.diff(y)]).T),
        "hess_general_latex": latex(sp.hessian(F, (x, y))),
        "hess_latex": latex(hess), "hess": [[float(v) for v in row] for row in hess.tolist()],
        "hyy": float(hess[1, 1]), "hyy_latex": latex(hess[1, 1]),
        "hxx_latex": latex(hess[0, 0]), "hxy_latex": latex(hess[0, 1]),
        "schur": float(CLAIMS["schur"]), "schur_latex": latex(CLAIMS["schur"]),
        "points": points, **summary,
        "local_latex": latex(lv["local"]), "local_series_latex": latex(lv["series"]),
        "local_drift_latex": latex(lv["drift"]), "local_shrink_latex": latex(lv["shrink"]),
        "global_latex": latex(lv["global"]),
        "checks": checks, "all_checks": all(checks.values()),
        "numeric": numeric(section),
    }


def run(section, out_path) -> None:
    """Edge: derive and write the results JSON, with the config section that produced it."""
    store.save_result(out_path, derive(section), section)
