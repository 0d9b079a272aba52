"""Q4 and Q5.1: every symbolic claim against sympy's derivation, again numerically, and against
deliberately wrong formulas (which must be caught)."""
import math

import numpy as np
import pytest
import sympy as sp

from hw4 import config
from hw4.derivations import batchnorm as bn
from hw4.derivations import minimax as mm
from hw4.derivations.finite_diff import grad_hess
from hw4.store import load_json

# Small sections with values other than hw4.toml's, so nothing depends on one lucky setting.
BN = config.Batchnorm(lam=0.3, dim=6, angle_deg=50.0, r_min=1e-4, r_max=1.0, points=13, fd_step=1e-4, seed=3)
MM = config.Minimax(grid_x=401, grid_y=1601, fd_step=1e-5, deltas=[0.1, 0.01, 0.001], local_points=2001,
                    plot_x=21, plot_y=41)


@pytest.fixture(scope="module")
def bn_got():
    return bn.derived()


@pytest.fixture(scope="module")
def bn_results(tmp_path_factory):
    path = tmp_path_factory.mktemp("derivations") / "batchnorm.json"
    bn.run(BN, path)
    return load_json(path)


@pytest.fixture(scope="module")
def mm_results(tmp_path_factory):
    path = tmp_path_factory.mktemp("derivations") / "minimax.json"
    mm.run(MM, path)
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
    assert bn_results["config"] == config.as_dict(BN)
    latex = {k: v for k, v in bn_results.items() if k.endswith("_latex")}
    assert len(latex) >= 15 and all(isinstance(v, str) and v for v in latex.values())
    assert len(bn_results["numeric"]["radii"]) == BN.points


# ----------------------------------------------------------------------------- Q5.1 min-max

def test_minimax_claims_match_sympy_derivation():
    checks = mm.verify(mm.CLAIMS, mm.best_response())
    assert checks and all(checks.values()), {k: v for k, v in checks.items() if not v}


@pytest.mark.parametrize("wrong, key", [
    ({"phi": sp.Abs(mm.x) * (sp.pi + sp.asin(mm.x / 5)) / 5 + sp.sqrt(1 - mm.x**2 / 25)}, "phi_negative_x"),
    ({"phi": mm.x * (sp.pi + sp.asin(mm.x / 5)) / 5 + sp.sqrt(1 - mm.x**2 / 25)}, "phi_negative_x"),
    ({"y_stars": [0, sp.pi]}, "y_stars"),
    ({"value": sp.Integer(2)}, "value"),
    ({"hess": sp.Matrix([[0, sp.Rational(1, 5)], [sp.Rational(1, 5), 1]])}, "hess"),
    ({"schur": sp.Rational(1, 5)}, "schur"),
    ({"grad": lambda ys: sp.Matrix([0, 0])}, "grad"),
])
def test_minimax_wrong_claims_are_caught(wrong, key):
    assert mm.verify({**mm.CLAIMS, **wrong}, mm.best_response())[key] is False


def test_minimax_phi_closed_form_against_brute_force():
    phi = sp.lambdify(mm.x, mm.CLAIMS["phi"], "numpy")
    xs = np.linspace(-1, 1, 41)
    ys = np.linspace(-2 * np.pi, 2 * np.pi, 200001)
    brute = mm.f_numeric(xs[:, None], ys[None, :]).max(axis=1)
    dy = ys[1] - ys[0]
    assert np.all(brute <= phi(xs) + 1e-12) and np.all(phi(xs) - brute <= dy**2 / 8 + 1e-12)
    wrong = sp.lambdify(mm.x, sp.Abs(mm.x) * sp.pi / 5 + sp.sqrt(1 - mm.x**2 / 25), "numpy")
    assert np.max(np.abs(wrong(xs) - brute)) > 1e-2  # a formula missing the arcsin term is noticed


def test_minimax_global_points_by_grid_search(mm_results):
    n = mm_results["numeric"]
    assert abs(n["grid_x_star"]) <= n["grid_dx"]
    assert n["grid_value"] == pytest.approx(1.0, abs=n["grid_dy"] ** 2)
    assert n["grid_argmax_y"] == pytest.approx([-math.pi, math.pi], abs=n["grid_dy"])
    assert n["grid_argmax_tie"] < 1e-9
    assert n["phi_grid_max_err"] <= n["phi_grid_err_bound"] + 1e-12
    assert mm_results["x_star"] == 0.0 and mm_results["value"] == 1.0
    assert mm_results["y_stars"] == pytest.approx([-math.pi, math.pi])


def test_minimax_gradient_and_hessian_at_the_points(mm_results):
    for row in mm_results["numeric"]["fd"]:
        assert row["grad_fd"] == pytest.approx([math.copysign(math.pi / 5, row["y"]), 0.0], abs=1e-8)
        assert np.allclose(row["hess_fd"], [[0, 0.2], [0.2, -1]], atol=1e-5)
    assert mm_results["hess"] == [[0.0, 0.2], [0.2, -1.0]]
    assert mm_results["schur"] == pytest.approx(0.04) and mm_results["hyy"] == -1.0


def test_minimax_first_order_fails_second_order_holds(mm_results):
    assert len(mm_results["points"]) == 2
    for pt in mm_results["points"]:
        assert pt["interior"] is True
        assert pt["first_order"] is False and abs(pt["grad"][0]) == pytest.approx(math.pi / 5)
        assert pt["grad"][1] == 0.0
        assert pt["second_order_necessary"] is True
        assert pt["curvature_sufficient"] is True and pt["second_order_sufficient"] is False
    assert mm_results["first_order"] is False and mm_results["second_order_necessary"] is True


def test_minimax_conditions_react_to_a_stationary_point():
    """The same logic certifies a point that is stationary with the same curvature."""
    stationary = {**mm.CLAIMS, "grad": lambda ys: sp.Matrix([0, 0])}
    for row in mm.conditions(stationary)["points"]:
        assert row["first_order"] and row["second_order_sufficient"]
    concave_x = {**mm.CLAIMS, "schur": sp.Rational(-1, 25)}
    for row in mm.conditions(concave_x)["points"]:
        assert not row["second_order_necessary"]


def test_minimax_local_definition_is_violated(mm_results):
    rows = mm_results["numeric"]["local"]
    assert len(rows) == 2 * len(MM.deltas)
    for row in rows:
        assert row["x"] == -row["delta"] * math.copysign(1, row["y_star"])
        assert row["local_max_delta"] < 1 and row["local_max_half_pi"] < 1 and row["gap"] < 0
        assert row["local_max_delta"] == pytest.approx(row["local_closed"], abs=1e-9)
        assert row["global_max"] > 1 and row["global_closed"] > 1
        assert abs(row["global_argmax_y"] + row["y_star"]) < 0.1  # the best response jumps branch
        assert row["gap"] == pytest.approx(-math.pi / 5 * row["delta"], rel=2 * row["delta"])
    # any shrinking window h(delta) gives the same verdict, e.g. h = sqrt(delta)
    for d in MM.deltas:
        ys = np.linspace(math.pi - math.sqrt(d), math.pi + math.sqrt(d), 20001)
        assert mm.f_numeric(-d, ys).max() < 1
        assert mm.f_numeric(0.0, ys).max() <= 1  # the y side of the definition does hold
    assert "\\delta^{2}}{50}" in mm_results["local_series_latex"]


def test_minimax_local_closed_form_symbolic():
    lv = mm.local_violation(mm.best_response())
    assert lv["symmetric"] and lv["split"] and lv["inside"]
    assert sp.simplify(lv["series"] - (-sp.pi * mm.delta / 5 + mm.delta**2 / 50)) == 0
    gap = sp.lambdify(mm.delta, lv["gap"], "numpy")(np.linspace(1e-6, 1, 1001))
    assert np.all(gap < 0)


def test_derive_refuses_an_unconfirmed_claim(monkeypatch):
    monkeypatch.setitem(mm.CLAIMS, "schur", sp.Rational(1, 5))
    with pytest.raises(RuntimeError, match="schur"):
        mm.derive(MM)


def test_minimax_results_file(mm_results):
    assert mm_results["all_checks"] is True
    assert mm_results["config"] == config.as_dict(MM)
    plot = mm_results["numeric"]["plot"]
    assert np.shape(plot["f"]) == (MM.plot_y, MM.plot_x)
    assert len(plot["phi"]) == MM.plot_x and min(plot["phi"]) == pytest.approx(1.0)
    assert r"\arcsin" in mm_results["phi_latex"]


# ----------------------------------------------------------------------------- figures

def test_figures_are_written(bn_results, mm_results, tmp_path):
    from hw4.plots import derivations as figs
    from hw4.store import save_json

    for name, res, fn in (("batchnorm", bn_results, figs.batchnorm_norms),
                          ("minimax", mm_results, figs.minimax_landscape)):
        src = tmp_path / f"{name}.json"
        save_json(src, res)
        out = tmp_path / f"{name}.pdf"
        fn(src, out, task=f"figures:{name}", config_hash="test")
        assert out.read_bytes()[:5] == b"%PDF-" and out.stat().st_size > 10_000
