"""Q3's claims: which check of derivation.py backs which statement of the answer.

Most of Q3 is mathematics that sympy derives (derivation.symbolic) and the attacks confirm
(derivation.numeric). Each `stop` claim below names the statement of templates/q3_sparse_coding.tex.j2
it stands for and the checks (derivation.json's `checks`) that prove it; the template marks the
statement with require(...). Where the sentence reports what the attacks found on our samples, the
claim reads the measured numbers.
"""
from __future__ import annotations

from hw4.core.claims import Registry

CLAIMS = Registry("q3_sparse_coding")
EXACT = 1e-12  # two fractions of the same sample that are equal by construction agree to rounding


def _checks(derivation, *names) -> dict:
    """The named checks of derivation.json, as the claim's numbers (True/False each)."""
    return {name: derivation.checks[name] for name in names}


def _all(**checks) -> bool:
    return all(checks.values())


@CLAIMS.claim("linear_radius", if_false="stop", holds=_all,
              says="no linear classifier is robust at tau >= 1/sqrt(d): the pivotal pair's margins sum to "
                   "2 u_i - 2 tau ||w||")
def _(derivation, **_):
    return _checks(derivation, "pair_sum", "linear_radius")


@CLAIMS.claim("only_scaled_target_attains", if_false="stop", holds=_all,
              says="at tau = 1/sqrt(d) only alpha M w* (alpha > 0) with c = 0 attains the bound, with margin "
                   "exactly 0; every other linear classifier fails strictly")
def _(derivation, **_):
    return _checks(derivation, "bound_needs_zero_bias", "only_scaled_target_attains")


@CLAIMS.claim("linear_attacked", if_false="stop", holds=_all,
              says="M w* has geometric margin tau and keeps 1 - tau sqrt(d) on |<w*, z>| = 1: 0 at tau = 1/sqrt(d)")
def _(derivation, **_):
    return _checks(derivation, "linear_attacked_zero", "linear_margin_is_tau", "linear_shift")


@CLAIMS.claim("linear_loses_pivotal", if_false="alternative",
              holds=lambda flipped, pivotal_sampled, robust, tol: abs(flipped - pivotal_sampled) <= tol
              and abs(robust + pivotal_sampled - 1) <= tol,
              says="the exact attack on M w* puts exactly the sampled inputs with |<w*, z>| = 1 on the boundary")
def _(derivation, **_):
    n = derivation.numeric
    return {"flipped": n.linear.flipped, "pivotal_sampled": n.pivotal_sampled,
            "robust": n.linear.robust_accuracy, "tol": EXACT}


@CLAIMS.claim("relu_bound", if_false="stop", holds=_all,
              says="F_b's worst attacked margin is (1 - b) - sqrt(k) tau, robust iff tau < (1 - b)/sqrt(k), "
                   "given b > tau (no absent feature crosses) and tau < 1 - b")
def _(derivation, **_):
    return _checks(derivation, "relu_active_linear", "relu_odd", "relu_inactive_zero", "crossings",
                   "crossings_below_one", "relu_attacked", "relu_radius")


@CLAIMS.claim("threshold_interval", if_false="stop", holds=_all,
              says="at tau = 1/sqrt(d): d > k/(1 - b)^2 iff b < 1 - sqrt(k/d); with b > 1/sqrt(d) the interval "
                   "is non-empty iff d > (1 + sqrt(k))^2")
def _(derivation, **_):
    return _checks(derivation, "d_condition", "b_range", "b_nonempty")


@CLAIMS.claim("relu_robust_measured", if_false="stop", holds=_all,
              says="on our samples F_b is robust under the exact attack and PGD, meets its margin bound, moves by "
                   "at most sqrt(k) tau, and no absent feature crosses its threshold")
def _(derivation, **_):
    return _checks(derivation, "relu_clean", "relu_robust", "relu_margin_bound", "relu_change_bound",
                   "relu_no_crossings")


@CLAIMS.claim("pgd_agrees", if_false="stop", holds=_all,
              says="projected gradient descent with restarts finds nothing worse than the closed-form worst case")
def _(derivation, **_):
    return _checks(derivation, "relu_pgd_not_better", "linear_pgd_exact", "curve_pgd_matches")


@CLAIMS.claim("sensitivity_ratio", if_false="stop", holds=_all,
              says="the linear function's worst-case sensitivity is sqrt(d/k) times F_b's")
def _(derivation, **_):
    return _checks(derivation, "sensitivity_ratio")


@CLAIMS.claim("no_threshold_is_linear", if_false="stop", holds=_all,
              says="with b = 0 the network is the linear classifier M w*, with the same failures")
def _(derivation, **_):
    return _checks(derivation, "no_bias_is_linear", "no_threshold_is_linear")


@CLAIMS.claim("label_correlation", if_false="stop", holds=_all,
              says="given feature j present, E[y w*_j z_j] = binom(k-1, (k-1)/2) 2^(1-k)")
def _(derivation, **_):
    return _checks(derivation, "label_correlation")
