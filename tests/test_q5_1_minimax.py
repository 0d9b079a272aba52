"""Q5.1: every symbolic claim against sympy's derivation, again by grid search and finite
differences, and against deliberately wrong formulas (which must be caught)."""
import math

import numpy as np
import pytest
import sympy as sp

from hw4.core import config
from hw4.core.store import load_json
from hw4.q5_1_minimax import derivation as mm

# A small section with values other than hw4.toml's, so nothing depends on one lucky setting.
MM = config.Minimax(grid_x=401, grid_y=1601, fd_step=1e-5, deltas=[0.1, 0.01, 0.001], local_points=2001,
                    plot_x=21, plot_y=41)


@pytest.fixture(scope="module")
def mm_results(tmp_path_factory):
    path = tmp_path_factory.mktemp("q5_1") / "derivation.json"
    mm.run(MM, path)
    return load_json(path)


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


def test_minimax_local_maxima_grow_with_the_window(mm_results):
    """A window holds every grid point of a smaller one, so its maximum is never smaller (issue: the
    table once showed the max over h = pi/2 below the max over h = delta, from two grid spacings)."""
    rows = mm_results["numeric"]["local"]
    for row in rows:
        assert row["local_max_half_pi"] >= row["local_max_delta"]
        assert row["local_max_delta"] <= row["local_closed"] + 1e-12  # a grid never beats the true max
    step = mm_results["numeric"]["local_step"]
    assert step == pytest.approx(2 * min(MM.deltas) / (MM.local_points - 1))
    w = world()
    w["derivation"]["numeric"]["local"][0]["local_max_half_pi"] = rows[0]["local_max_delta"] - 1e-7
    record = {r["name"]: r for r in claims.CLAIMS.evaluate(w)}["q5_1_minimax.local_table"]
    assert record["holds"] is False and record["numbers"]["nested"] is False


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
    assert mm_results["settings"] == config.as_dict(MM)
    plot = mm_results["numeric"]["plot"]
    assert np.shape(plot["f"]) == (MM.plot_y, MM.plot_x)
    assert len(plot["phi"]) == MM.plot_x and min(plot["phi"]) == pytest.approx(1.0)
    assert r"\arcsin" in mm_results["phi_latex"]


def test_figure_is_written(mm_results, tmp_path):
    from hw4.core.store import save_json
    from hw4.q5_1_minimax.figures import minimax_landscape

    src = tmp_path / "derivation.json"
    save_json(src, mm_results)
    out = tmp_path / "minimax_landscape.pdf"
    minimax_landscape(src, out, task="q5_1_minimax:minimax_landscape", config_hash="test")
    assert out.read_bytes()[:5] == b"%PDF-" and out.stat().st_size > 10_000


# ----------------------------------------------------------------------------- claims (issue 9)

import copy  # noqa: E402
import functools  # noqa: E402

from claimcheck import Counterfactual, Harness  # noqa: E402

from hw4.core.store import _plain  # noqa: E402
from hw4.q5_1_minimax import claims  # noqa: E402


@functools.cache
def _derived() -> dict:
    return _plain({**mm.derive(MM), "settings": config.as_dict(MM)})


def world() -> dict:
    """The results the claims task reads, as derive() writes them: every claim holds."""
    return {"derivation": copy.deepcopy(_derived())}


def fail(check: str):
    def mutate(w):
        w["derivation"]["checks"][check] = False
    return mutate


def edit(fn):
    def mutate(w):
        fn(w["derivation"])
    return mutate


Q = "q5_1_minimax."
COUNTERFACTUALS = {
    Q + "phi": Counterfactual(fail("ends_lose"), "\\phi(x) = \\max_{y \\in [-2\\pi, 2\\pi]} f(x, y)"),
    Q + "global_points": Counterfactual(fail("phi_increasing"), "The global min-max points of"),
    Q + "derivatives": Counterfactual(fail("hess"), "and the Hessian $\\nabla^2 f(0, \\pm\\pi)$ has entries"),
    Q + "conditions": Counterfactual(edit(lambda d: d.update(first_order=True)), "the first-order necessary"),
    Q + "local_violation": Counterfactual(fail("local_split"), "a negative term plus a non-positive one"),
    Q + "grid_phi": Counterfactual(edit(lambda d: d["numeric"].update(phi_grid_max_err=1e-3)),
                                   "that the grid spacing allows"),
    Q + "grid_minimax": Counterfactual(edit(lambda d: d["numeric"].update(grid_x_star=0.5)), "search agrees"),
    Q + "fd_agrees": Counterfactual(edit(lambda d: d["numeric"]["fd"][1].update(hess_err=0.1)),
                                    "central finite differences reproduce"),
    Q + "local_table": Counterfactual(edit(lambda d: d["numeric"]["local"][0].update(global_max=0.99)),
                                      "the global ones above it"),
}

HARNESS = Harness(claims.CLAIMS, world, lambda w: {"q5_1_minimax": {"derivation": w["derivation"]}},
                  ("q5_1_minimax.tex.j2",))


def test_claims_hold_on_the_derivation_and_every_guarded_sentence_is_printed():
    HARNESS.check_covered(COUNTERFACTUALS)
    HARNESS.check_world(COUNTERFACTUALS)


@pytest.mark.parametrize("name", sorted(COUNTERFACTUALS))
def test_a_contradicted_claim_removes_its_sentence_or_stops(name):
    HARNESS.check_counterfactual(name, COUNTERFACTUALS[name])


def test_the_table_shows_the_point_at_plus_pi_only():
    text = HARNESS.render(world())
    table = text[text.index("\\label{tab:minimax-local}"):text.index("\\end{table}")]
    assert table.count("\\\\") == len(MM.deltas) + 1  # the header and one row per delta
