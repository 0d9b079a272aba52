"""Q4: with batch normalisation, ridge regression's objective is badly behaved near w = 0.

    f(w) = || w* - w/||w|| ||^2 + lambda ||w||^2,   ||w*|| = 1,  lambda > 0,  w in R^d minus {0}.

f depends on w only through r = ||w|| and the angle theta between w and w*, and it is invariant
under every rotation (applied to w and w* together). So the symbolic work is done in R^3 in the
frame of w: u = e1 = w/r, v = e2 the unit vector in the plane of w and w* in which theta grows,
and e3 standing for each of the d - 2 directions orthogonal to that plane (rotations fixing the
plane mix them freely, so they share one Hessian eigenvalue). There w = r e1 and
w* = cos(theta) e1 - sin(theta) e2. Derivatives are taken of the definition itself.

The claims (CLAIMS) are closed forms; `verify` compares each with what sympy derives, and the
numeric part checks them again by finite differences in d dimensions with a random w*.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from hw4.core import store
from hw4.core.finite_diff import grad_hess

lam, r, eps = sp.symbols("lambda r epsilon", positive=True)
t = sp.symbols("theta", real=True)  # the angle between w and w*
c, s = sp.cos(t), sp.sin(t)
W = sp.Matrix(sp.symbols("w1:4", real=True))
W_STAR = sp.Matrix([c, -s, 0])
AT = {W[0]: r, W[1]: 0, W[2]: 0}  # w = r u
ROOT = sp.sqrt(1 + 3 * s**2)  # = sqrt(c^2 + 4 s^2), the in-plane discriminant
EIGS = ("eig_plus", "eig_minus", "eig_perp")

# What we claim; `verify` checks each one against sympy's derivation.
CLAIMS = {
    "f": 2 - 2 * c + lam * r**2,
    "grad": sp.Matrix([2 * lam * r, 2 * s / r, 0]),
    "hess": 2 * lam * sp.eye(3) + 2 / r**2 * sp.Matrix([[0, -s, 0], [-s, c, 0], [0, 0, c]]),
    "grad_norm": 2 * sp.sqrt(s**2 / r**2 + lam**2 * r**2),
    "eig_plus": 2 * lam + (c + ROOT) / r**2,
    "eig_minus": 2 * lam + (c - ROOT) / r**2,
    "eig_perp": 2 * lam + 2 * c / r**2,   # multiplicity d - 2
    "grad_rate": 2 * s,                   # lim r ||grad f||     as r -> 0+ (sin theta >= 0 on [0, pi])
    "hess_rate": sp.Abs(c) + ROOT,        # lim r^2 ||hess f||_2 as r -> 0+
}


def objective(w):
    """f straight from its definition, for a sympy 3-vector w."""
    d = W_STAR - w / sp.sqrt(w.dot(w))
    return d.dot(d) + lam * w.dot(w)


def derived() -> dict:
    """Differentiate the definition; f, gradient and Hessian at w = r u in the frame (u, v, e3)."""
    f = objective(W)
    grad = sp.Matrix([f.diff(x) for x in W])
    return {
        "f": sp.simplify(f.subs(AT)),
        "grad": sp.simplify(grad.subs(AT)),
        "hess": sp.simplify(sp.hessian(f, W).subs(AT)),
        "f_eps": sp.simplify(objective(eps * W_STAR)),
        "f_minus_eps": sp.simplify(objective(-eps * W_STAR)),
    }


def same(a, b) -> bool:
    """Symbolic equality: the difference simplifies to zero (entrywise for matrices)."""
    return sp.simplify(sp.Matrix([a]) - sp.Matrix([b])).is_zero_matrix is True


def verify(claims: dict, got: dict) -> dict:
    """Each claim checked against the derivation; a wrong formula turns its entry False."""
    hess, block = got["hess"], got["hess"][:2, :2]
    limits = [sp.limit(r**2 * claims[k], r, 0, "+") for k in EIGS]
    rate = sp.lambdify(t, claims["hess_rate"])
    tt = np.linspace(0, 2 * np.pi, 721)
    top = np.max([np.abs(sp.lambdify(t, m)(tt) * np.ones_like(tt)) for m in limits], axis=0)
    k = sp.symbols("k", positive=True)
    data = lambda w: objective(w) - lam * w.dot(w)  # noqa: E731  (the normalised term alone)
    return {
        # the data term ignores the scale of w: so its gradient scales like 1/||w||, its Hessian 1/||w||^2
        "scale_invariant": same(data(k * W), data(W)),
        "f": same(claims["f"], got["f"]),
        "grad": same(claims["grad"], got["grad"]),
        "hess": same(claims["hess"], hess),
        "grad_norm": same(claims["grad_norm"] ** 2, got["grad"].dot(got["grad"])),
        # an eigenvalue makes det(block - mu I) vanish; e3 is an eigenvector (zero coupling)
        "eig_plus": same((block - claims["eig_plus"] * sp.eye(2)).det(), 0),
        "eig_minus": same((block - claims["eig_minus"] * sp.eye(2)).det(), 0),
        "eig_perp": same(hess[:2, 2], sp.zeros(2, 1)) and same(hess[2, 2], claims["eig_perp"]),
        # the in-plane block's discriminant c^2 + 4 s^2 = ROOT^2 >= 1: the two eigenvalues always differ
        "eigs_distinct": same(ROOT**2, c**2 + 4 * s**2),
        # the limit is 2 |sin theta|, which is 2 sin theta as theta lies in [0, pi]
        "grad_rate": same(sp.limit(r * claims["grad_norm"], r, 0, "+").subs(sp.Abs(s), s), claims["grad_rate"])
        and sp.minimum(s, t, sp.Interval(0, sp.pi)) == 0,
        # r^2 eig -> c + ROOT, c - ROOT, 2c; ROOT >= |c| makes |c| + ROOT the largest modulus
        "hess_rate": (same(limits[0], c + ROOT) and same(limits[1], c - ROOT) and same(limits[2], 2 * c)
                      and same(ROOT**2 - c**2, 4 * s**2) and bool(np.allclose(rate(tt), top))),
    }


def infimum(got: dict) -> dict:
    """f* = 0: approached along eps w* as eps -> 0+, never attained; f jumps across w = 0."""
    angular = sp.simplify(got["f"] - lam * r**2)  # 2 - 2 cos t
    lower = sp.calculus.util.minimum(angular, t, sp.Interval(0, 2 * sp.pi))  # f > lower: lambda r^2 > 0
    limit = sp.limit(got["f_eps"], eps, 0, "+")                                # inf f <= limit
    jump = sp.simplify(got["f_minus_eps"] - got["f_eps"])  # same tiny radius, opposite directions
    ratio = sp.simplify(sp.Abs(jump) / (2 * eps))          # |f(w) - f(w')| / ||w - w'||
    return {
        "f_star": limit, "lower": lower, "limit": limit, "angular": angular,
        "f_star_known": bool(lower == limit),
        "strictly_above": bool((lam * r**2).is_positive),  # so f > f* everywhere: not attained
        "jump": jump, "ratio": ratio, "ratio_unbounded": sp.limit(ratio, eps, 0, "+") is sp.oo,
    }


def rates(claims: dict) -> dict:
    """Log-log slopes d log||.|| / d log r as r -> 0+, along a generic direction and along w*."""
    slope = lambda g: sp.limit(r * sp.diff(sp.log(g), r), r, 0, "+")  # noqa: E731
    K = sp.symbols("K", positive=True)  # |lim r^2 eig| of the dominating eigenvalue, either sign
    a = sp.symbols("a", nonnegative=True)  # a = |cos t|: hess_rate = a + sqrt(4 - 3 a^2)
    h = a + sp.sqrt(4 - 3 * a**2)
    along_grad = sp.simplify(claims["grad_norm"].subs(t, 0))
    return {
        "grad_slope": slope(claims["grad_norm"]),
        "hess_slopes": [slope(K / r**2 + 2 * lam), slope(K / r**2 - 2 * lam)],
        "along_grad": along_grad, "along_grad_slope": slope(along_grad),
        "along_eigs": [sp.simplify(claims[k].subs(t, 0)) for k in EIGS],
        # concave in a on [0, 1], so its minimum over directions sits at a = 0 or 1: both give 2
        "hess_rate_concave": same(sp.diff(h, a, 2), -12 / (4 - 3 * a**2) ** sp.Rational(3, 2)),
        "hess_rate_ends": [h.subs(a, 0), h.subs(a, 1)],
        "hess_rate_is_h": same(ROOT**2, 4 - 3 * c**2),  # so hess_rate = h(|cos t|)
    }


# ----------------------------------------------------------------------------- numbers

def f_numeric(w: np.ndarray, w_star: np.ndarray, lam_: float) -> np.ndarray:
    """f from its definition, for a batch of points w (..., d)."""
    n = np.linalg.norm(w, axis=-1, keepdims=True)
    return np.sum((w_star - w / n) ** 2, axis=-1) + lam_ * np.sum(w**2, axis=-1)


def directions(dim: int, angle_deg: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random unit w* in R^dim, a unit u at angle_deg from it, and the frame's v (w* = c u - s v)."""
    rng = np.random.default_rng(seed)
    w_star = rng.standard_normal(dim)
    w_star /= np.linalg.norm(w_star)
    v = rng.standard_normal(dim)
    v -= (v @ w_star) * w_star
    v /= np.linalg.norm(v)
    a = math.radians(angle_deg)
    u = math.cos(a) * w_star + math.sin(a) * v
    return w_star, u, (math.cos(a) * u - w_star) / math.sin(a)


def numeric(section, claims: dict = CLAIMS) -> dict:
    """Finite differences along u (and along w*) at log-spaced radii, against the closed forms."""
    w_star, u, v = directions(section.dim, section.angle_deg, section.seed)
    fun = lambda w: f_numeric(w, w_star, section.lam)  # noqa: E731
    ta = math.radians(section.angle_deg)
    at = lambda k, tt: claims[k].subs({lam: section.lam, t: tt})  # noqa: E731
    closed = {tt: {"grad": sp.lambdify(r, list(at("grad", tt)), "math"),
                   **{k: sp.lambdify(r, at(k, tt), "math") for k in ("grad_norm", *EIGS)}}
              for tt in (ta, 0.0)}
    radii = np.logspace(math.log10(section.r_min), math.log10(section.r_max), section.points)
    out = {k: [] for k in ("grad_fd", "grad_exact", "hess_fd", "hess_exact", "along_grad_exact",
                           "along_hess_fd", "along_hess_exact")}
    err = {"grad": 0.0, "grad_norm": 0.0, "hess_eigs": 0.0, "along_hess_eigs": 0.0}
    for radius in radii:
        for tag, direction, tt in (("", u, ta), ("along_", w_star, 0.0)):
            ex = closed[tt]
            g, H = grad_hess(fun, radius * direction, section.fd_step * radius)
            eigs = np.sort(np.linalg.eigvalsh(H))
            exact = np.sort([ex["eig_plus"](radius), ex["eig_minus"](radius)]
                            + [ex["eig_perp"](radius)] * (section.dim - 2))
            norm, hess_norm = ex["grad_norm"](radius), float(np.max(np.abs(exact)))
            err[tag + "hess_eigs"] = max(err[tag + "hess_eigs"], float(np.max(np.abs(eigs - exact))) / hess_norm)
            out[tag + "hess_fd"].append(float(np.max(np.abs(eigs))))
            out[tag + "hess_exact"].append(hess_norm)
            out[tag + "grad_exact"].append(norm)
            if tag == "":  # along w*, 2 lambda r is far below the differencing error of order h^2 / r^3
                g_exact = np.array(ex["grad"](radius)) @ np.stack([u, v, 0 * v])
                err["grad"] = max(err["grad"], float(np.linalg.norm(g - g_exact)) / norm)
                err["grad_norm"] = max(err["grad_norm"], abs(float(np.linalg.norm(g)) - norm) / norm)
                out["grad_fd"].append(float(np.linalg.norm(g)))
    small = radii <= math.sqrt(section.r_min * section.r_max)  # the lower half of the log range
    fit = lambda y: float(np.polyfit(np.log(radii[small]), np.log(np.asarray(y)[small]), 1)[0])  # noqa: E731
    rate = {k: float(claims[k].subs(t, ta)) for k in ("grad_rate", "hess_rate")}
    return {
        "cos_angle": float(u @ w_star), "radii": radii, **out,
        "grad_asymptote": rate["grad_rate"] / radii, "hess_asymptote": rate["hess_rate"] / radii**2,
        "grad_rate": rate["grad_rate"], "hess_rate": rate["hess_rate"], "max_rel_err": err,
        "fit_r_max": float(radii[small].max()), "fit_points": int(small.sum()),
        "grad_slope_fit": fit(out["grad_fd"]), "hess_slope_fit": fit(out["hess_fd"]),
        "along_hess_slope_fit": fit(out["along_hess_fd"]),
        "jump_fd": float(fun(-section.r_min * w_star) - fun(section.r_min * w_star)),
    }


# ----------------------------------------------------------------------------- results

def derive(section) -> dict:
    """Everything Q4 needs, as JSON-able data: sympy results as LaTeX, checks as booleans."""
    got = derived()
    checks = verify(CLAIMS, got)
    inf = infimum(got)
    rt = rates(CLAIMS)
    checks.update(f_star=inf["f_star_known"], not_attained=inf["strictly_above"],
                  jump_unbounded=inf["ratio_unbounded"], hess_rate_min=rt["hess_rate_concave"]
                  and rt["hess_rate_is_h"] and rt["hess_rate_ends"] == [2, 2])
    failed = [k for k, ok in checks.items() if not ok]
    if failed:  # never render a claim that sympy did not confirm
        raise RuntimeError(f"Q4: sympy does not confirm {', '.join(failed)}; fix CLAIMS in {__file__}")
    latex = sp.latex
    return {
        "f_latex": latex(CLAIMS["f"]),
        "f_eps_latex": latex(got["f_eps"]), "limit_latex": latex(inf["limit"]),
        "f_star_latex": latex(inf["f_star"]), "f_star": float(inf["f_star"]),
        "lower_latex": latex(inf["lower"]), "angular_latex": latex(inf["angular"]),
        "attained": not inf["strictly_above"],
        "jump_latex": latex(inf["jump"]), "ratio_latex": latex(inf["ratio"]),
        "grad_frame_latex": latex(CLAIMS["grad"]), "grad_norm_latex": latex(CLAIMS["grad_norm"]),
        "grad_rate_latex": latex(CLAIMS["grad_rate"]), "grad_slope": float(rt["grad_slope"]),
        "hess_frame_latex": latex(CLAIMS["hess"]),
        **{f"{k}_latex": latex(CLAIMS[k]) for k in EIGS},
        "root_latex": latex(ROOT),
        "hess_rate_latex": latex(CLAIMS["hess_rate"]),
        "hess_slopes": [float(v) for v in rt["hess_slopes"]], "hess_slope": float(rt["hess_slopes"][0]),
        "hess_rate_min": float(min(rt["hess_rate_ends"])),
        "along_grad_latex": latex(rt["along_grad"]), "along_grad_slope": float(rt["along_grad_slope"]),
        "along_eig_radial_latex": latex(rt["along_eigs"][1]), "along_eig_other_latex": latex(rt["along_eigs"][2]),
        "checks": checks, "all_checks": all(checks.values()),
        "numeric": numeric(section),
    }


def run(section, out_path) -> None:
    """Edge: derive and write the results JSON, with the config section that produced it."""
    store.save_result(out_path, derive(section), section)
