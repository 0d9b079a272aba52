"""Q4: every symbolic claim against sympy's derivation, again numerically, and against
deliberately wrong formulas (which must be caught)."""
import math

import numpy as np
import pytest
import sympy as sp

from hw4.core import config
from hw4.core.finite_diff import grad_hess
from hw4.core.store import load_json
from hw4.q4_batchnorm import derivation as bn

# A small section with values other than hw4.toml's, so nothing depends on one lucky setting.
BN = config.Batchnorm(lam=0.3, dim=6, angle_deg=50.0, r_min=1e-4, r_max=1.0, points=13, fd_step=1e-4, seed=3)


@pytest.fixture(scope="module")
def bn_got():
    return bn.derived()


@pytest.fixture(scope="module")
def bn_results(tmp_path_factory):
    path = tmp_path_factory.mktemp("q4") / "derivation.json"
    bn.run(BN, path)
    return load_json(path)


def _random_point(rng, dim, theta, radius):
    w_star = rng.standard_normal(dim)
    w_star /= np.linalg.norm(w_star)
    v = rng.standard_normal(dim)
    v -= (v @ w_star) * w_star
    v /= np.linalg.norm(v)
    return w_star, radius * (math.cos(theta) * w_star + math.sin(theta) * v)


def _closed(key, lam, theta, radius):
    return float(bn.CLAIMS[key].subs({bn.lam: lam, bn.t: theta, bn.r: radius}))


# ----------------------------------------------------------------------------- Q4 batch norm

def test_batchnorm_claims_match_sympy_derivation(bn_got):
    checks = bn.verify(bn.CLAIMS, bn_got)
    assert checks and all(checks.values()), {k: v for k, v in checks.items() if not v}


def test_batchnorm_reduced_forms_simplify_to_zero(bn_got):
    assert sp.simplify(bn_got["f"] - (2 - 2 * sp.cos(bn.t) + bn.lam * bn.r**2)) == 0
    norm2 = bn_got["grad"].dot(bn_got["grad"])
    assert sp.simplify(norm2 - 4 * (sp.sin(bn.t) ** 2 / bn.r**2 + bn.lam**2 * bn.r**2)) == 0
    eigs = bn_got["hess"].eigenvals()
    assert len(eigs) == 3 and all(m == 1 for m in eigs.values())
    expected = [bn.CLAIMS[k] for k in bn.EIGS]
    assert all(any(sp.simplify(e - x) == 0 for x in expected) for e in eigs)


@pytest.mark.parametrize("wrong", [
    {"f": 2 - 2 * bn.c + bn.lam * bn.r},
    {"grad_norm": 2 * sp.sqrt(bn.s**2 / bn.r**2 + bn.lam**2 * bn.r**4)},
    {"eig_plus": 2 * bn.lam + (bn.c + sp.sqrt(bn.c**2 + 3 * bn.s**2)) / bn.r**2},
    {"eig_minus": 2 * bn.lam + (bn.c - bn.ROOT) / (2 * bn.r**2)},
    {"eig_perp": 2 * bn.lam + bn.c / bn.r**2},
    {"hess": 2 * bn.lam * sp.eye(3) + 2 / bn.r**2 * sp.diag(0, bn.c, bn.c)},
    {"grad_rate": 2 * sp.Abs(bn.c)},
    {"hess_rate": 2 * sp.Abs(bn.c) + bn.ROOT},
])
def test_batchnorm_wrong_claims_are_caught(bn_got, wrong):
    checks = bn.verify({**bn.CLAIMS, **wrong}, bn_got)
    (key,) = wrong
    assert checks[key] is False


def test_batchnorm_closed_forms_against_finite_differences_at_random_points():
    rng = np.random.default_rng(7)
    for _ in range(5):
        dim, lam_ = int(rng.integers(3, 9)), float(rng.uniform(0.01, 2))
        theta, radius = float(rng.uniform(0.1, math.pi - 0.1)), float(10 ** rng.uniform(-3, 0.5))
        w_star, w = _random_point(rng, dim, theta, radius)
        g, H = grad_hess(lambda z: bn.f_numeric(z, w_star, lam_), w, 1e-4 * radius)
        assert bn.f_numeric(w, w_star, lam_) == pytest.approx(_closed("f", lam_, theta, radius), rel=1e-12)
        assert np.linalg.norm(g) == pytest.approx(_closed("grad_norm", lam_, theta, radius), rel=1e-6)
        exact = sorted([_closed("eig_plus", lam_, theta, radius), _closed("eig_minus", lam_, theta, radius)]
                       + [_closed("eig_perp", lam_, theta, radius)] * (dim - 2))
        scale = max(abs(e) for e in exact)
        assert np.max(np.abs(np.linalg.eigvalsh(H) - exact)) / scale < 1e-5


def test_batchnorm_infimum_is_zero_approached_along_w_star_and_not_attained(bn_results):
    assert bn_results["f_star"] == 0.0 and bn_results["f_star_latex"] == "0"
    assert bn_results["limit_latex"] == "0"
    assert bn_results["attained"] is False
    f_eps = sp.simplify(bn.objective(bn.eps * bn.W_STAR))  # recomputed from the definition
    assert sp.simplify(f_eps - bn.lam * bn.eps**2) == 0 and sp.limit(f_eps, bn.eps, 0, "+") == 0
    rng = np.random.default_rng(0)
    w_star = rng.standard_normal(5)
    w_star /= np.linalg.norm(w_star)
    eps_ = np.logspace(-6, 0, 13)
    along = bn.f_numeric(eps_[:, None] * w_star, w_star, BN.lam)
    assert np.allclose(along, BN.lam * eps_**2, rtol=1e-6, atol=1e-15)   # f(eps w*) = lambda eps^2 -> 0
    w = rng.standard_normal((20000, 5)) * 10.0 ** rng.uniform(-6, 1, (20000, 1))
    assert np.all(bn.f_numeric(w, w_star, BN.lam) > 0)                    # positive everywhere: not attained


def test_batchnorm_rates_symbolic_and_fitted(bn_results):
    assert bn_results["grad_slope"] == -1.0 and bn_results["hess_slope"] == -2.0
    assert bn_results["hess_slopes"] == [-2.0, -2.0]
    assert bn_results["along_grad_slope"] == 1.0
    n = bn_results["numeric"]
    assert n["grad_slope_fit"] == pytest.approx(-1.0, abs=1e-3)
    assert n["hess_slope_fit"] == pytest.approx(-2.0, abs=1e-3)
    assert n["along_hess_slope_fit"] == pytest.approx(-2.0, abs=1e-3)
    r0 = n["radii"][0]  # the leading constants: r ||grad|| -> 2 sin(theta), r^2 ||hess|| -> |c| + root
    theta = math.radians(BN.angle_deg)
    assert r0 * n["grad_fd"][0] == pytest.approx(2 * math.sin(theta), rel=1e-4)
    root = math.sqrt(1 + 3 * math.sin(theta) ** 2)
    assert r0**2 * n["hess_fd"][0] == pytest.approx(abs(math.cos(theta)) + root, rel=1e-4)
    assert max(n["max_rel_err"].values()) < 1e-5


def test_batchnorm_hessian_norm_at_least_two_over_r_squared_in_every_direction():
    theta = np.linspace(0, math.pi, 2001)
    rate = np.abs(np.cos(theta)) + np.sqrt(1 + 3 * np.sin(theta) ** 2)
    assert rate.min() == pytest.approx(2.0, abs=1e-12) and np.all(rate >= 2 - 1e-12)
    for th in (0.0, 0.3, math.pi / 2, 2.5, math.pi):  # along w*, across, and against it
        eigs = [_closed(k, 0.5, th, 1e-3) for k in bn.EIGS]
        assert max(abs(e) for e in eigs) >= 2 / 1e-6 - 2 * 0.5


def test_batchnorm_not_lipschitz_jump_across_zero(bn_results):
    assert bn_results["jump_latex"] == "4" and bn_results["ratio_latex"] == r"\frac{2}{\epsilon}"
    assert bn_results["numeric"]["jump_fd"] == pytest.approx(4.0, abs=1e-9)
    assert bn_results["checks"]["jump_unbounded"] is True


def test_batchnorm_numeric_catches_a_wrong_eigenvalue():
    wrong = {**bn.CLAIMS, "eig_perp": 2 * bn.lam + bn.c / bn.r**2}
    assert bn.numeric(BN, wrong)["max_rel_err"]["hess_eigs"] > 0.1
    assert bn.numeric(BN)["max_rel_err"]["hess_eigs"] < 1e-5


def test_batchnorm_results_file(bn_results):
    assert bn_results["all_checks"] is True
    assert bn_results["settings"] == config.as_dict(BN)
    latex = {k: v for k, v in bn_results.items() if k.endswith("_latex")}
    assert len(latex) >= 15 and all(isinstance(v, str) and v for v in latex.values())
    assert len(bn_results["numeric"]["radii"]) == BN.points


def test_figure_is_written(bn_results, tmp_path):
    from hw4.core.store import save_json
    from hw4.q4_batchnorm.figures import batchnorm_norms

    src = tmp_path / "derivation.json"
    save_json(src, bn_results)
    out = tmp_path / "batchnorm_norms.pdf"
    batchnorm_norms(src, out, task="q4_batchnorm:batchnorm_norms", config_hash="test")
    assert out.read_bytes()[:5] == b"%PDF-" and out.stat().st_size > 10_000


# ----------------------------------------------------------------------------- claims (issue 9)

import copy  # noqa: E402
import functools  # noqa: E402

from claimcheck import Counterfactual, Harness  # noqa: E402

from hw4.core.store import _plain  # noqa: E402
from hw4.q4_batchnorm import claims  # noqa: E402


@functools.cache
def _derived() -> dict:
    return _plain({**bn.derive(BN), "settings": config.as_dict(BN)})


def world() -> dict:
    """The results the claims task reads, as derive() writes them: every claim holds."""
    return {"derivation": copy.deepcopy(_derived())}


def fail(check: str):
    def mutate(w):
        w["derivation"]["checks"][check] = False
    return mutate


def set_numeric(key: str, value, sub: str | None = None):
    def mutate(w):
        node = w["derivation"]["numeric"]
        if sub:
            node = node[sub]
        node[key] = value
    return mutate


Q = "q4_batchnorm."
COUNTERFACTUALS = {
    Q + "infimum": Counterfactual(fail("f_star"), "along the ray of $w^*$"),
    Q + "not_attained": Counterfactual(fail("not_attained"), "no $w$ attains it"),
    Q + "gradient_unbounded": Counterfactual(fail("grad_rate"), "is not Lipschitz} there"),
    Q + "jump": Counterfactual(fail("jump_unbounded"), "makes $f$ continuous at $0$"),
    Q + "hessian_unbounded": Counterfactual(fail("hess_rate_min"), "is not smooth}"),
    Q + "scale_invariant": Counterfactual(fail("scale_invariant"), "(checked symbolically"),
    Q + "fd_agrees": Counterfactual(set_numeric("hess_eigs", 0.5, "max_rel_err"), "which agree with the closed forms"),
    Q + "slopes_match": Counterfactual(set_numeric("hess_slope_fit", -1.5), "the fitted slopes are"),
}

HARNESS = Harness(claims.CLAIMS, world, lambda w: {"q4_batchnorm": {"derivation": w["derivation"]}},
                  ("q4_batchnorm.tex.j2",))


def test_claims_hold_on_the_derivation_and_every_guarded_sentence_is_printed():
    HARNESS.check_covered(COUNTERFACTUALS)
    HARNESS.check_world(COUNTERFACTUALS)


@pytest.mark.parametrize("name", sorted(COUNTERFACTUALS))
def test_a_contradicted_claim_removes_its_sentence_or_stops(name):
    HARNESS.check_counterfactual(name, COUNTERFACTUALS[name])


def test_a_nan_slope_stops_the_build_rather_than_calling_it_a_match():
    w = world()
    set_numeric("hess_slope_fit", float("nan"))(w)
    record = HARNESS.records(w)[Q + "slopes_match"]
    assert record["holds"] is False and record["unknown"] == ["hess_fit"]
