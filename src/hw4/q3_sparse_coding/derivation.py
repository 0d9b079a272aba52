"""Q3: in the sparse coding example a ReLU network with a threshold is robust at tau = 1/sqrt(d);
no linear classifier is (lecture 24; Allen-Zhu & Li, Feature Purification).

Our formalisation of the example:

    x = M z,   M in R^{d x d} orthonormal with columns m_1 .. m_d (the dictionary, random here),
    z in {-1, 0, 1}^d with exactly k nonzero entries (k odd, k << d): a uniformly random support
        and independent random signs,
    y = sign(<w*, z>),  w* in {-1, 1}^d,  so <w*, z> is an odd integer and never 0.

Reflecting m_i into w*_i m_i maps this to w* = (1, .., 1), so the symbolic part works there.

Linear f(x) = <w, x> + c. Two inputs that differ only in the sign of one active feature i, with
the other active features cancelling, have opposite labels (a pivotal pair). Robust at radius tau
on both needs w*_i <w, m_i> > tau ||w|| (the two margins add up with R and c cancelling), for every
i; squaring and summing (Parseval) gives tau < 1/sqrt(d). At tau = 1/sqrt(d) no linear classifier is
robust; the best one, w = M w*, is pushed exactly onto its decision boundary on every input with
|<w*, z>| = 1.

ReLU network F_b(x) = sum_i w*_i T_b(<m_i, x>), T_b(t) = relu(t - b) - relu(-t - b). A perturbation
moves each <m_i, x> by at most ||delta|| <= tau (Cauchy-Schwarz), and moves at most
||delta||^2 / b^2 < 1 of them by more than b (Parseval); so for tau < b < 1 - sqrt(k) tau the
inactive features stay at 0, the k active ones stay on T_b's linear piece, F_b changes by at most
sqrt(k) tau, and the margin stays >= (1 - b) - sqrt(k) tau > 0. With b = 0, T_0(t) = t and F_0 is
the linear classifier M w* again: the threshold is what makes it robust.

Numbers: both classifiers attacked at tau = 1/sqrt(d) in input space, with the exact worst-case
perturbation (closed form: F_b is linear on the whole tau-ball around each input) and, as a
cross-check, a projected-gradient attack with random restarts; a robustness curve over tau in the
coefficient space z (M is orthonormal, so ||M delta|| = ||delta|| and nothing changes).
"""
from __future__ import annotations

import functools
import math
from itertools import product

import numpy as np
import sympy as sp

from hw4.core import config, store
from hw4.core.errors import Hw4Error

TOL = 1e-9  # a margin at or below this counts as not robust: exact ties are 0 up to float rounding

d, k, tau, b = sp.symbols("d k tau b", positive=True)
R, c0 = sp.symbols("R c", real=True)        # the other active features' sum, and the bias of f
u, wn = sp.symbols(r"u_i \lVert{w}\rVert", positive=True)  # u_i = w*_i <w, m_i>, and ||w||
q, p = sp.symbols("q p", positive=True)     # slacks: 1 - b - tau = q, b - tau = p
v = sp.symbols("v", nonnegative=True)       # how far a perturbation is from its extreme
s = sp.symbols("s", positive=True)          # sqrt(d)
t = sp.symbols("t", real=True)
N = sp.symbols("N", nonnegative=True)       # number of features pushed past the threshold
j = sp.symbols("j", integer=True, positive=True)


def T(arg, bias):
    """The thresholded ReLU pair: relu(t - b) - relu(-t - b), zero on [-b, b]."""
    return sp.Max(arg - bias, 0) - sp.Max(-arg - bias, 0)


# What we claim; `symbolic` checks each one against what sympy derives.
CLAIMS = {
    "pair_sum": 2 * u - 2 * tau * wn,          # sum of the pivotal pair's attacked margins
    "linear_radius": 1 / sp.sqrt(d),           # no linear classifier is robust at tau >= this
    "linear_attacked": 1 - tau * sp.sqrt(d),   # pivotal margin of w = M w* after the worst attack
    "relu_attacked": (1 - b) - sp.sqrt(k) * tau,  # worst margin of F_b after the worst attack
    "relu_radius": (1 - b) / sp.sqrt(k),
    "d_condition": k / (1 - b) ** 2,           # F_b robust at tau = 1/sqrt(d) iff d > this
    "b_low": 1 / sp.sqrt(d),                   # the thresholds that work: b_low < b < b_high
    "b_high": 1 - sp.sqrt(k / d),
    "b_nonempty": (1 + sp.sqrt(k)) ** 2,       # b_low < b_high iff d > this
    "crossings": tau**2 / b**2,                # at most this many features cross the threshold
    "sensitivity_ratio": sp.sqrt(d / k),       # linear vs ReLU worst-case change of the output
}


def same(a, b_) -> bool:
    return sp.simplify(a - b_) == 0


@functools.cache  # pure: derive and the tests share one computation
def symbolic() -> dict:
    """Derive each claimed inequality and identity; return the expressions and the checks."""
    # Linear, pivotal pair z (label +1, active feature i = +1) and z' (label -1, feature i = -1):
    plus = (R + u + c0) - tau * wn      # y (f(x) + c) minus the worst shift tau ||w||
    minus = -(R - u + c0) - tau * wn
    pair_sum = sp.expand(plus + minus)
    # both robust => u_i > tau ||w|| for every i; sum of squares: ||w||^2 > d tau^2 ||w||^2
    radius = sp.reduce_inequalities([d * tau**2 * wn**2 < wn**2], [tau])
    # w = M w*: ||w||^2 = sum_j (w*_j)^2 = d; an input with |<w*, z>| = 1 loses tau ||w||
    attacked_linear = 1 - tau * sp.sqrt(sp.summation(1, (j, 1, d)))

    # T_b on an active feature, t = 1 + e with e >= -tau (and b + tau < 1): write 1 = q + b + tau, e = v - tau
    active = sp.simplify(T(q + b + v, b) - (q + b + v - b))
    odd = sp.simplify(T(-t, b) + T(t, b))
    # on an inactive feature, |e| <= tau < b = tau + p: each half is 0 at its own extreme side
    inactive = [sp.simplify(sp.Max((tau - v) - (tau + p), 0)), sp.simplify(sp.Max(-(-tau + v) - (tau + p), 0))]
    no_bias = [sp.simplify(T(x_, 0) - x_) for x_ in (sp.Symbol("a", positive=True), -sp.Symbol("a", positive=True))]

    # smallest clean margin (1 - b) |<w*, z>| with |<w*, z>| = 1; the attack moves F_b by
    # sum over the k active features of w*_j <m_j, delta>, at most tau ||(w*_j)_active|| = tau sqrt(k)
    relu_attacked = (1 - b) * 1 - tau * sp.sqrt(sp.summation(1, (j, 1, k)))
    relu_radius = sp.reduce_inequalities([relu_attacked > 0], [tau])
    # at tau = 1/sqrt(d) = 1/s, with 1 - b = c > 0: robust iff s > sqrt(k)/c
    cpos = sp.symbols("c", positive=True)
    s_condition = sp.reduce_inequalities([cpos * s - sp.sqrt(k) > 0], [s])
    d_condition = sp.simplify((s_condition.rhs ** 2).subs(cpos, 1 - b))
    crossings = sp.reduce_inequalities([N * b**2 <= tau**2], [N])
    no_crossing = sp.reduce_inequalities([crossings.rhs < 1], [b])  # the bound is below 1 iff b > tau
    b_range = {"low": no_crossing.lhs.subs(tau, 1 / sp.sqrt(d)) if no_crossing.rhs == b else None,
               "high": sp.solve(sp.Eq(relu_attacked.subs(tau, 1 / sp.sqrt(d)), 0), b)[0]}
    ratio = sp.simplify((tau * sp.sqrt(d)) / (tau * sp.sqrt(k)))
    # the interval of thresholds (b_low, b_high) is non-empty iff sqrt(d) = s > 1 + sqrt(k):
    # b_high - b_low = 1 - sqrt(k)/s - 1/s > 0, multiplied by s > 0
    gap = (b_range["high"] - (b_range["low"] if b_range["low"] is not None else tau)).subs(d, s**2)
    nonempty = sp.reduce_inequalities([sp.expand(s * gap) > 0], [s])
    # at the bound, u_i = tau ||w|| for every i (so w = alpha M w*, alpha > 0, and the other features
    # of the pivotal pair cancel: R = 0): the pair's attacked margins are c and -c, both >= 0 iff c = 0
    at_bound = {u: tau * wn, R: 0}
    pair_at_bound = [sp.simplify(plus.subs(at_bound)), sp.simplify(minus.subs(at_bound))]
    both_nonnegative = sp.solve([pair_at_bound[0] >= 0, pair_at_bound[1] >= 0], c0)

    checks = {
        "pair_sum": same(pair_sum, CLAIMS["pair_sum"]),
        "linear_radius": radius == (tau < CLAIMS["linear_radius"]),
        "linear_attacked_zero": same(attacked_linear.subs(tau, CLAIMS["linear_radius"]), 0)
        and same(attacked_linear, CLAIMS["linear_attacked"]),
        "relu_active_linear": active == 0,
        "relu_odd": odd == 0,
        "relu_inactive_zero": inactive == [0, 0],
        "no_bias_is_linear": no_bias == [0, 0],
        "relu_attacked": same(relu_attacked, CLAIMS["relu_attacked"]),
        "relu_radius": same(relu_radius.rhs, CLAIMS["relu_radius"]) and relu_radius.lhs == tau
        and isinstance(relu_radius, sp.StrictLessThan),
        "d_condition": same(d_condition, CLAIMS["d_condition"]) and s_condition.lhs == s,
        "b_range": b_range["low"] is not None and same(b_range["low"], CLAIMS["b_low"])
        and same(b_range["high"], CLAIMS["b_high"]),
        "crossings": same(crossings.rhs, CLAIMS["crossings"]) and crossings.lhs == N,
        # the bound is < 1 (no feature crosses) exactly when b > tau
        "crossings_below_one": no_crossing == (tau < b),
        "sensitivity_ratio": same(ratio, CLAIMS["sensitivity_ratio"]),
        "b_nonempty": nonempty.lhs == s and same(nonempty.rhs ** 2, CLAIMS["b_nonempty"])
        and isinstance(nonempty, sp.StrictGreaterThan),
        # the bound is attained only with c = 0, and then on both inputs of the pair with margin exactly 0
        "bound_needs_zero_bias": pair_at_bound == [c0, -c0] and both_nonnegative == sp.Eq(c0, 0),
    }
    return {"pair_sum": pair_sum, "radius": radius, "relu_radius": relu_radius, "d_condition": d_condition,
            "b_range": b_range, "crossings": crossings, "ratio": ratio, "pair_at_bound": pair_at_bound,
            "checks": checks}


def pivotal_fraction(k_: int) -> sp.Rational:
    """P(|sum of k random signs| = 1): the inputs that w = M w* holds with the smallest margin."""
    return sp.Rational(2 * sp.binomial(k_, (k_ - 1) // 2), 2**k_)


def label_correlation(k_: int) -> sp.Rational:
    """E[y w*_j z_j | feature j active]: the other k - 1 signed features cancel with this probability,
    and only then does feature j alone decide the label (otherwise it is uncorrelated with y)."""
    return sp.Rational(sp.binomial(k_ - 1, (k_ - 1) // 2), 2 ** (k_ - 1))


def label_correlation_enumerated(k_: int) -> sp.Rational:
    """The same by averaging sign(s_1 + .. + s_k) s_1 over all 2^k sign patterns."""
    total = sum(int(np.sign(sum(signs))) * signs[0] for signs in product((-1, 1), repeat=k_))
    return sp.Rational(total, 2**k_)


def pivotal_fraction_enumerated(k_: int) -> sp.Rational:
    """The same by counting all 2^k sign patterns (a check of the binomial formula)."""
    hits = sum(abs(sum(signs)) == 1 for signs in product((-1, 1), repeat=k_))
    return sp.Rational(hits, 2**k_)


# ----------------------------------------------------------------------------- numbers

def check_section(section) -> None:
    """The cross-field conditions the derivation needs, with the hw4.toml key to change."""
    dim, kk, bias = section.dim, section.sparsity, section.threshold
    tau_ = 1 / math.sqrt(dim)
    if kk >= dim:
        raise config.ConfigError(f"hw4.toml: [sparse_coding] sparsity = {kk} must be below dim = {dim}")
    if not tau_ < bias < 1 - math.sqrt(kk) * tau_:
        raise config.ConfigError(
            f"hw4.toml: [sparse_coding] threshold = {bias} must lie in (1/sqrt(d), 1 - sqrt(k/d)) = "
            f"({tau_:.3g}, {1 - math.sqrt(kk) * tau_:.3g}) for d = {dim}, k = {kk}; change threshold or dim")
    if section.radius_max * tau_ >= min(bias, 1 - bias):
        raise config.ConfigError(
            f"hw4.toml: [sparse_coding] radius_max = {section.radius_max} puts tau = radius_max/sqrt(d) at or "
            f"beyond min(b, 1 - b) = {min(bias, 1 - bias)}, where the closed-form worst case no longer holds; "
            f"lower it below {min(bias, 1 - bias) * math.sqrt(dim):.3g}")


def sample(dim: int, kk: int, n: int, seed: int) -> dict:
    """A random orthonormal dictionary, a sign vector w*, and n labelled sparse inputs."""
    rng = np.random.default_rng(seed)
    M, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    w_star = rng.choice([-1.0, 1.0], size=dim)
    support = np.argsort(rng.random((n, dim)), axis=1)[:, :kk]
    z = np.zeros((n, dim))
    np.put_along_axis(z, support, rng.choice([-1.0, 1.0], size=(n, kk)), axis=1)
    score = z @ w_star  # an odd integer: never 0
    return {"M": M, "w_star": w_star, "z": z, "x": z @ M.T, "y": np.sign(score), "score": score}


def relu_net(x: np.ndarray, M: np.ndarray | None, w_star: np.ndarray, bias: float):
    """F_b(x) = sum_i w*_i T_b(<m_i, x>) and its gradient; M = None is the coefficient space (M = I).

    T_b(t) = relu(t - b) - relu(-t - b) = t - clip(t, -b, b); its derivative is 1 where |t| > b
    (taken as 1 at the kinks |t| = b too, so that b = 0 gives the linear function's gradient exactly).
    """
    t_ = x if M is None else x @ M
    g = (np.abs(t_) >= bias) * w_star
    return (t_ - np.clip(t_, -bias, bias)) @ w_star, (g if M is None else g @ M.T)


def linear(x: np.ndarray, w: np.ndarray):
    """f(x) = <w, x> and its gradient."""
    return x @ w, np.broadcast_to(w, x.shape)


def project(delta: np.ndarray, radius: float) -> np.ndarray:
    norm = np.linalg.norm(delta, axis=1, keepdims=True)
    return delta * np.minimum(1.0, radius / np.maximum(norm, 1e-300))


def pgd(fg, x: np.ndarray, y: np.ndarray, radius: float, steps: int, restarts: int,
        rng: np.random.Generator, keep_delta: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Projected normalised-gradient descent on the margin y f(x + delta) over the l2 ball.

    `fg(x)` returns f(x) and its gradient. Restart 0 starts at delta = 0, the others at a random
    point of the ball; each input keeps the lowest margin (and, if asked, its delta) seen at any iterate.
    """
    n, dim = x.shape
    best = np.full(n, np.inf)
    best_delta = np.zeros_like(x) if keep_delta else None
    step = 2.5 * radius / steps
    for r in range(restarts):
        if r == 0:
            delta = np.zeros_like(x)
        else:
            direction = rng.standard_normal((n, dim))
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            delta = direction * radius * rng.random((n, 1)) ** (1 / dim)
        for i in range(steps + 1):
            value, g = fg(x + delta)
            margin = y * value
            better = margin < best
            best = np.where(better, margin, best)
            if keep_delta:
                best_delta[better] = delta[better]
            if i == steps:
                break
            g = y[:, None] * g
            g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)
            delta = project(delta - step * g, radius)
    return best, best_delta


def weakest_pair(M: np.ndarray, w_star: np.ndarray, w: np.ndarray, c: float, tau_: float, kk: int) -> np.ndarray:
    """The attacked margins of a linear classifier (w, c) on the pivotal pair at its weakest feature.

    The pair: k - 1 features whose contributions w*_j z_j cancel, plus feature i = argmin w*_i <w, m_i>
    set to +w*_i (label +1) or -w*_i (label -1). The two margins sum to 2 (w*_i <w, m_i> - tau ||w||),
    which is <= 0 at tau = 1/sqrt(d) because the smallest w*_i <w, m_i> is at most ||w|| / sqrt(d).
    """
    u_ = w_star * (M.T @ w)
    i = int(np.argmin(u_))
    others = [j for j in range(len(w)) if j != i][: kk - 1]
    z = np.zeros(len(w))
    z[others] = w_star[others] * np.resize([1.0, -1.0], kk - 1)
    pair = np.stack([z, z])
    pair[:, i] = [w_star[i], -w_star[i]]
    labels = np.array([1.0, -1.0])
    return labels * (pair @ M.T @ w + c) - tau_ * np.linalg.norm(w)


def summary(clean: np.ndarray, attacked: np.ndarray) -> dict:
    """Accuracy before and after an attack, from margins y f (robust: margin above TOL).

    The smallest margins are rounded to 12 decimals: an exact tie shows as 0, not as float noise.
    """
    return {"clean_accuracy": float(np.mean(clean > TOL)), "robust_accuracy": float(np.mean(attacked > TOL)),
            "min_margin": round(float(np.min(clean)), 12) + 0.0,
            "min_attacked_margin": round(float(np.min(attacked)), 12) + 0.0,
            "flipped": float(np.mean((clean > TOL) & (attacked <= TOL)))}


def numeric(section) -> dict:
    """Both classifiers attacked at tau = 1/sqrt(d) in input space: exact worst case, PGD, bounds."""
    check_section(section)
    dim, kk, bias = section.dim, section.sparsity, section.threshold
    tau_ = 1 / math.sqrt(dim)
    data = sample(dim, kk, section.samples, section.seed)
    M, w_star, x, y = data["M"], data["w_star"], data["x"], data["y"]
    rng = np.random.default_rng(section.seed + 1)
    def attack(fg, keep=False):
        return pgd(fg, x, y, tau_, section.pgd_steps, section.pgd_restarts, rng, keep)

    # linear: f(x) = <w, x> with w = M w*; the exact attack is -tau y w / ||w|| (Cauchy-Schwarz)
    w = M @ w_star
    lin = lambda x_: linear(x_, w)  # noqa: E731
    lin_clean = y * lin(x)[0]
    lin_exact = y * lin(x - tau_ * y[:, None] * w / np.linalg.norm(w))[0]
    lin_pgd, _ = attack(lin)

    # ReLU with threshold: F_b is linear on the tau-ball, so the exact attack follows its gradient at x
    net = lambda x_, bb=bias: relu_net(x_, M, w_star, bb)  # noqa: E731
    clean_value, g = net(x)
    relu_clean = y * clean_value
    relu_delta = -tau_ * y[:, None] * g / np.linalg.norm(g, axis=1, keepdims=True)
    relu_exact = y * net(x + relu_delta)[0]
    relu_pgd, relu_pgd_delta = attack(net, True)
    change = max(float(np.max(np.abs(net(x + dl)[0] - clean_value))) for dl in (relu_delta, relu_pgd_delta))
    inactive = data["z"] == 0
    crossings = max(int(np.max(np.sum(inactive & (np.abs((x + dl) @ M) > bias), axis=1)))
                    for dl in (relu_delta, relu_pgd_delta))

    # every linear classifier fails on some pivotal pair: try many near M w*, with random biases
    scale = rng.random(section.samples)
    trials = [(M @ (w_star + sc * rng.standard_normal(dim)), 0.1 * rng.standard_normal()) for sc in scale]
    pair_worst = np.array([np.min(weakest_pair(M, w_star, wt, ct, tau_, kk)) for wt, ct in [(w, 0.0), *trials]])
    scaled = [float(np.min(weakest_pair(M, w_star, alpha * w, 0.0, tau_, kk))) for alpha in SCALES]
    biased = [float(np.min(weakest_pair(M, w_star, w, bias_, tau_, kk))) for bias_ in BIASES]

    # no threshold: with b = 0 the network is the linear classifier again (exact attack: its gradient)
    flat_value, flat_g = net(x, 0.0)
    flat_exact = y * net(x - tau_ * y[:, None] * flat_g / np.linalg.norm(flat_g, axis=1, keepdims=True), 0.0)[0]
    flat_pgd, _ = attack(lambda x_: net(x_, 0.0))

    return {
        "tau": tau_, "pivotal_sampled": float(np.mean(np.abs(data["score"]) == 1)),
        "linear": {**summary(lin_clean, lin_exact), "norm": float(np.linalg.norm(w)),
                   "shift": float(np.max(lin_clean - lin_exact)),
                   "geometric_margin": float(np.min(lin_clean) / np.linalg.norm(w)),
                   "pgd": summary(lin_clean, lin_pgd),
                   "pgd_gap": float(np.max(np.abs(lin_pgd - lin_exact)))},
        "linear_any": {"classifiers": len(pair_worst), "robust": int(np.sum(pair_worst > TOL)),
                       "max_pair_margin": float(np.max(pair_worst)), "best_pair_margin": float(pair_worst[0]),
                       # every classifier other than alpha M w* with c = 0 is strictly misclassified
                       "max_other_margin": float(np.max(pair_worst[1:])),
                       "scaled_pair_margins": scaled, "biased_pair_margins": biased},
        "relu": {**summary(relu_clean, relu_exact), "pgd": summary(relu_clean, relu_pgd),
                 "pgd_gap": float(np.max(relu_pgd - relu_exact)),     # how far PGD stays above the exact attack
                 "pgd_excess": float(np.min(relu_pgd - relu_exact)),  # below 0 would refute the closed form
                 "max_change": change, "change_bound": math.sqrt(kk) * tau_,
                 "margin_bound": (1 - bias) - math.sqrt(kk) * tau_, "crossings": crossings},
        "no_threshold": {**summary(y * flat_value, flat_exact), "pgd": summary(y * flat_value, flat_pgd),
                         "max_diff_from_linear": float(np.max(np.abs(flat_value - lin(x)[0])))},
        "curve": curve(section, data),
    }


SCALES = (0.25, 1.0, 4.0)  # positive multiples of M w* (bias 0): each attains the bound, margin exactly 0
BIASES = (-0.05, 0.05)     # M w* with a small bias: one input of the weakest pair is strictly misclassified

FINE = 8  # the closed-form curves use FINE times more intervals than the PGD markers


def curve(section, data: dict) -> dict:
    """Robust accuracy against tau sqrt(d): closed forms on a fine grid, PGD (in z) on a coarse one."""
    dim, kk, bias = section.dim, section.sparsity, section.threshold
    score, z, y, w_star = np.abs(data["score"]), data["z"], data["y"], data["w_star"]
    rng = np.random.default_rng(section.seed + 2)
    # exact margins after the worst attack: |<w*, z>| - tau sqrt(d), and (1 - b)|<w*, z>| - tau sqrt(k)
    exact = {"linear": lambda r: score - r, "relu": lambda r: (1 - bias) * score - r * math.sqrt(kk / dim)}
    fgs = {"linear": lambda x_: linear(x_, w_star), "relu": lambda x_: relu_net(x_, None, w_star, bias)}
    fine = np.linspace(0.0, section.radius_max, FINE * (section.radius_points - 1) + 1)
    coarse = np.linspace(0.0, section.radius_max, section.radius_points)
    unit = {"linear": 1.0, "relu": 1 - bias}  # the smallest clean margin of each classifier
    out = {"radius_fine": fine, "radius": coarse,
           "relu_radius": (1 - bias) * math.sqrt(dim / kk)}  # tau sqrt(d) where F_b starts to lose inputs
    for name, fg in fgs.items():
        clean = y * fg(z)[0]
        attacked = [pgd(fg, z, y, r / math.sqrt(dim), section.pgd_steps, 1, rng)[0] for r in coarse]
        out[name] = [float(np.mean(exact[name](r) > TOL)) for r in fine]
        out[f"{name}_exact"] = [float(np.mean(exact[name](r) > TOL)) for r in coarse]
        out[f"{name}_pgd"] = [float(np.mean(m > TOL)) for m in attacked]
        # the largest drop of the margin, in units of the smallest clean margin (1 = a tie is reached)
        out[f"{name}_drop"] = [float(np.max(exact[name](0.0) - exact[name](r))) / unit[name] for r in fine]
        out[f"{name}_drop_pgd"] = [float(np.max(clean - m)) / unit[name] for m in attacked]
    return out


# ----------------------------------------------------------------------------- results

def latex(expr) -> str:
    """sympy's LaTeX with the terms in the order written (1 - b, not -b + 1)."""
    return sp.latex(expr, order="none")


def derive(section) -> dict:
    """Everything Q3 needs, as JSON-able data: sympy results as LaTeX, checks as booleans."""
    sym = symbolic()
    num = numeric(section)
    dim, kk, bias = section.dim, section.sparsity, section.threshold
    frac = pivotal_fraction(kk)
    at = {d: dim, k: kk, b: bias}
    lin, relu, flat = num["linear"], num["relu"], num["no_threshold"]
    checks = dict(sym["checks"])
    checks.update({
        "pivotal_fraction": frac == pivotal_fraction_enumerated(kk),
        "pivotal_sampled": abs(num["pivotal_sampled"] - float(frac)) < 5 / math.sqrt(section.samples),
        "linear_clean": lin["clean_accuracy"] == 1.0,
        "linear_margin_is_tau": math.isclose(lin["geometric_margin"], num["tau"], rel_tol=1e-9),
        "linear_shift": math.isclose(lin["shift"], 1.0, rel_tol=1e-9),
        "linear_flips_pivotal": math.isclose(lin["robust_accuracy"], 1 - num["pivotal_sampled"], abs_tol=1e-12),
        "linear_pgd_exact": lin["pgd_gap"] < 1e-6,
        "no_linear_robust": num["linear_any"]["robust"] == 0 and abs(num["linear_any"]["best_pair_margin"]) < 1e-9,
        "only_scaled_target_attains": all(abs(m) < 1e-9 for m in num["linear_any"]["scaled_pair_margins"])
        and all(m < -TOL for m in num["linear_any"]["biased_pair_margins"])
        and num["linear_any"]["max_other_margin"] < -TOL,
        "label_correlation": label_correlation(kk) == label_correlation_enumerated(kk),
        "relu_clean": relu["clean_accuracy"] == 1.0,
        "relu_robust": relu["robust_accuracy"] == 1.0 and relu["pgd"]["robust_accuracy"] == 1.0,
        "relu_margin_bound": math.isclose(relu["min_attacked_margin"], relu["margin_bound"], rel_tol=1e-9),
        "relu_change_bound": relu["max_change"] <= relu["change_bound"] * (1 + 1e-9),
        "relu_pgd_not_better": relu["pgd_excess"] > -1e-9,
        "relu_no_crossings": relu["crossings"] == 0,
        "no_threshold_is_linear": flat["max_diff_from_linear"] < 1e-9
        and flat["robust_accuracy"] == lin["robust_accuracy"] == flat["pgd"]["robust_accuracy"],
        "curve_pgd_matches": all(num["curve"][f"{m}_pgd"] == num["curve"][f"{m}_exact"] for m in ("linear", "relu")),
    })
    claim = {key: latex(expr) for key, expr in CLAIMS.items()}  # printed once verified against sympy
    return {
        "dim": dim, "sparsity": kk, "threshold": bias, "samples": section.samples, "tau": num["tau"],
        "sqrt_dim": math.sqrt(dim),
        "pair_sum_latex": latex(sym["pair_sum"]),
        "linear_radius_latex": latex(sym["radius"]),
        "linear_attacked_latex": claim["linear_attacked"],
        "relu_attacked_latex": claim["relu_attacked"],
        "relu_radius_latex": latex(tau) + " < " + claim["relu_radius"],
        "d_condition_latex": "d > " + claim["d_condition"],
        "b_range_latex": claim["b_low"] + " < b < " + claim["b_high"],
        "b_high_latex": "b < " + claim["b_high"], "b_low_latex": "b > " + claim["b_low"],
        "b_nonempty_latex": "d > " + claim["b_nonempty"],
        "pair_at_bound_latex": [latex(m) for m in sym["pair_at_bound"]],
        "label_correlation_latex": latex(label_correlation(kk)),
        "label_correlation_general_latex": r"\binom{k-1}{(k-1)/2} 2^{1-k}",
        "crossings_latex": latex(sym["crossings"]),
        "ratio_latex": claim["sensitivity_ratio"],
        "pivotal_fraction_latex": latex(frac), "pivotal_fraction": float(frac),
        "d_condition_value": float(sym["d_condition"].subs(at)),
        "b_high_value": float(CLAIMS["b_high"].subs(at)),
        "relu_radius_value": float(CLAIMS["relu_radius"].subs(at)),
        "relu_radius_units": float(CLAIMS["relu_radius"].subs(at)) * math.sqrt(dim),
        "ratio_value": float(CLAIMS["sensitivity_ratio"].subs(at)),
        "numeric": num,
        "checks": checks, "all_checks": all(checks.values()),
    }


class ClaimError(Hw4Error):
    """A claim of the Q3 answer failed its check: the text would be wrong, so nothing is written."""


def run(section, out_path) -> None:
    """Edge: derive and write the results JSON, with the config section that produced it."""
    out = derive(section)
    failed = [name for name, ok in out["checks"].items() if not ok]
    if failed:
        raise ClaimError(f"sparse coding: checks failed: {', '.join(failed)}; see src/hw4/q3_sparse_coding/derivation.py")
    store.save_result(out_path, out, section)
