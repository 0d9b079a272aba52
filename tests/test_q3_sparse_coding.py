"""Q3: the claims of the sparse coding answer, checked symbolically and on attacked samples."""
import copy
import dataclasses
import functools
import math

import numpy as np
import pytest
import sympy as sp

from hw4.core import config
from hw4.q3_sparse_coding import derivation as sc
from hw4.core.store import load_json

SECTION = config.SparseCoding(dim=64, sparsity=3, threshold=0.5, samples=300, pgd_steps=10, pgd_restarts=2,
                              radius_max=3.5, radius_points=8, seed=0)


@pytest.fixture(scope="module")
def out():
    return sc.derive(SECTION)


def test_every_symbolic_claim_is_derived():
    checks = sc.symbolic()["checks"]
    assert checks and all(checks.values()), [k for k, v in checks.items() if not v]


@pytest.mark.parametrize("key, wrong", [
    ("linear_radius", 2 / sp.sqrt(sc.d)),
    ("relu_radius", (1 - sc.b) / sc.k),
    ("relu_attacked", (1 - sc.b) - sc.k * sc.tau),
    ("crossings", sc.tau / sc.b),
    ("b_high", 1 - sc.k / sc.d),
])
def test_a_wrong_claim_fails_its_check(monkeypatch, key, wrong):
    monkeypatch.setitem(sc.CLAIMS, key, wrong)
    checks = sc.symbolic.__wrapped__()["checks"]  # bypass the cache: derive again against the wrong claim
    assert not all(checks.values())


def test_linear_radius_is_one_over_sqrt_d():
    sym = sc.symbolic()
    assert sym["radius"] == (sc.tau < 1 / sp.sqrt(sc.d))
    assert sp.simplify(sc.CLAIMS["linear_attacked"].subs(sc.tau, 1 / sp.sqrt(sc.d))) == 0


def test_thresholded_relu_is_exactly_linear_on_active_and_zero_on_inactive_features():
    bias, tau_ = 0.5, 0.125
    for s_ in (-1.0, 1.0):
        e = np.linspace(-tau_, tau_, 101)
        t_ = s_ + e
        assert np.allclose(t_ - np.clip(t_, -bias, bias), s_ * (1 - bias) + e)  # linear piece
        assert np.all(e - np.clip(e, -bias, bias) == 0)  # inactive stays 0
    # sympy's T against the numeric one
    for tv in (-2.0, -0.3, 0.0, 0.4, 1.7):
        assert float(sc.T(sp.Float(tv), sp.Float(bias))) == pytest.approx(tv - np.clip(tv, -bias, bias))


def test_pivotal_fraction_formula_matches_enumeration():
    for k_ in (1, 3, 5, 7, 9):
        assert sc.pivotal_fraction(k_) == sc.pivotal_fraction_enumerated(k_)
    assert sc.pivotal_fraction(3) == sp.Rational(3, 4)


def test_linear_worst_case_flips_a_large_fraction(out):
    lin, num = out["numeric"]["linear"], out["numeric"]
    tau_ = 1 / math.sqrt(SECTION.dim)
    assert lin["clean_accuracy"] == 1.0
    assert lin["shift"] == pytest.approx(1.0)                       # tau ||M w*|| = tau sqrt(d) = 1
    assert lin["geometric_margin"] == pytest.approx(tau_)           # its margin is exactly tau
    assert lin["flipped"] > 0.5                                     # most inputs lose their label
    assert lin["robust_accuracy"] == pytest.approx(1 - num["pivotal_sampled"])
    assert abs(num["pivotal_sampled"] - 0.75) < 0.1
    assert lin["pgd"]["robust_accuracy"] == lin["robust_accuracy"]  # PGD finds the same


def test_no_linear_classifier_is_robust(out):
    anyl = out["numeric"]["linear_any"]
    assert anyl["classifiers"] > SECTION.samples and anyl["robust"] == 0
    assert anyl["max_pair_margin"] <= sc.TOL


def test_weakest_pair_is_not_robust_for_random_classifiers():
    data = sc.sample(32, 3, 10, seed=1)
    rng = np.random.default_rng(0)
    tau_ = 1 / math.sqrt(32)
    for _ in range(50):
        w = data["M"] @ rng.standard_normal(32)
        margins = sc.weakest_pair(data["M"], data["w_star"], w, rng.standard_normal(), tau_, 3)
        assert min(margins) <= sc.TOL
    # but a radius well below 1/sqrt(d) can be survived by M w*: the pair argument is tight
    margins = sc.weakest_pair(data["M"], data["w_star"], data["M"] @ data["w_star"], 0.0, 0.5 * tau_, 3)
    assert min(margins) > 0


def test_relu_with_threshold_is_robust_and_the_bounds_hold(out):
    relu = out["numeric"]["relu"]
    tau_ = 1 / math.sqrt(SECTION.dim)
    assert relu["clean_accuracy"] == 1.0
    assert relu["robust_accuracy"] == 1.0 and relu["pgd"]["robust_accuracy"] == 1.0
    assert relu["flipped"] == 0.0
    bound = (1 - SECTION.threshold) - math.sqrt(SECTION.sparsity) * tau_
    assert relu["min_attacked_margin"] == pytest.approx(bound)      # the exact attack meets the bound
    assert relu["pgd"]["min_attacked_margin"] >= bound - 1e-9        # PGD cannot beat it
    assert relu["max_change"] <= math.sqrt(SECTION.sparsity) * tau_ * (1 + 1e-9)
    assert relu["crossings"] == 0


def test_removing_the_threshold_loses_robustness(out):
    flat, lin = out["numeric"]["no_threshold"], out["numeric"]["linear"]
    assert flat["max_diff_from_linear"] < 1e-9                      # b = 0 is the linear classifier
    assert flat["robust_accuracy"] == pytest.approx(lin["robust_accuracy"])
    assert flat["robust_accuracy"] < 0.5
    # the same network with b = 0, attacked along its own gradient: the pivotal inputs are lost
    data = sc.sample(SECTION.dim, SECTION.sparsity, 200, seed=3)
    x, y = data["x"], data["y"]
    for bias, robust in ((0.0, False), (SECTION.threshold, True)):
        value, g = sc.relu_net(x, data["M"], data["w_star"], bias)
        delta = -y[:, None] * g / np.linalg.norm(g, axis=1, keepdims=True) / math.sqrt(SECTION.dim)
        attacked = y * sc.relu_net(x + delta, data["M"], data["w_star"], bias)[0]
        assert np.all(y * value > 0)
        assert bool(np.all(attacked > sc.TOL)) is robust
    with pytest.raises(config.ConfigError, match="threshold"):       # b below tau is refused, not faked
        sc.derive(dataclasses.replace(SECTION, threshold=0.1))


def test_curves_exact_and_pgd_agree(out):
    c = out["numeric"]["curve"]
    assert c["relu_pgd"] == c["relu_exact"] and c["linear_pgd"] == c["linear_exact"]
    radius = np.array(c["radius_fine"])
    lin, relu = np.array(c["linear"]), np.array(c["relu"])
    assert np.all(lin[radius < 1] == 1.0) and np.all(lin[radius >= 1] < 0.5)
    assert np.all(relu[radius < c["relu_radius"] - 1e-9] == 1.0)
    assert c["relu_radius"] == pytest.approx(0.5 * math.sqrt(64 / 3))


def test_all_checks_pass_and_run_writes_the_config(out, tmp_path):
    assert out["all_checks"] and all(out["checks"].values())
    path = tmp_path / "sc.json"
    sc.run(SECTION, path)
    saved = load_json(path)
    assert saved["settings"] == config.as_dict(SECTION)
    assert saved["numeric"]["relu"]["robust_accuracy"] == 1.0


def test_run_refuses_to_write_a_failed_claim(monkeypatch, tmp_path):
    real = sc.derive(SECTION)
    monkeypatch.setattr(sc, "derive", lambda section: {**real, "checks": {**real["checks"], "relu_robust": False}})
    with pytest.raises(sc.ClaimError, match="relu_robust"):
        sc.run(SECTION, tmp_path / "sc.json")
    assert not (tmp_path / "sc.json").exists()


def test_bad_sections_are_refused_with_the_key_to_change():
    with pytest.raises(config.ConfigError, match="sparsity"):
        sc.check_section(dataclasses.replace(SECTION, sparsity=65, dim=64))
    with pytest.raises(config.ConfigError, match="radius_max"):
        sc.check_section(dataclasses.replace(SECTION, radius_max=5.0))


def test_figure_is_written(out, tmp_path):
    from hw4.q3_sparse_coding.figures import robustness

    sc.run(SECTION, tmp_path / "sc.json")
    robustness(tmp_path / "sc.json", tmp_path / "fig.pdf", task="figures:test", config_hash="abc")
    assert (tmp_path / "fig.pdf").read_bytes()[:4] == b"%PDF"


# ----------------------------------------------------------------------------- claims (issue 9)

from claimcheck import Counterfactual, Harness  # noqa: E402

from hw4.core.store import _plain  # noqa: E402
from hw4.q3_sparse_coding import claims  # noqa: E402


@functools.cache
def _derived() -> dict:
    return _plain({**sc.derive(SECTION), "settings": config.as_dict(SECTION)})


def world() -> dict:
    """The results the claims task reads, as derive() writes them: every claim holds."""
    return {"derivation": copy.deepcopy(_derived())}


def fail(check: str):
    """A counterfactual for a stop claim: the derivation's check behind it came out false."""
    def mutate(w):
        w["derivation"]["checks"][check] = False
    return mutate


def set_numeric(path: str, value):
    def mutate(w):
        node = w["derivation"]["numeric"]
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    return mutate


Q = "q3_sparse_coding."
COUNTERFACTUALS = {
    Q + "linear_radius": Counterfactual(fail("linear_radius"), "and as $\\sum_i u_i^2 = \\|w\\|_2^2$, only if"),
    Q + "only_scaled_target_attains": Counterfactual(fail("only_scaled_target_attains"),
                                                     "misclassifies some input strictly"),
    Q + "linear_attacked": Counterfactual(fail("linear_margin_is_tau"), "and negative for every larger"),
    Q + "linear_loses_pivotal": Counterfactual(set_numeric("linear.flipped", 0.5),
                                               "the exact attack puts exactly these"),
    Q + "relu_bound": Counterfactual(fail("crossings_below_one"), "\\min_{x,\\ \\|\\delta\\|_2 \\le \\tau}"),
    Q + "threshold_interval": Counterfactual(fail("b_nonempty"), "an interval that is non-empty when"),
    Q + "relu_robust_measured": Counterfactual(fail("relu_robust"), "on our samples loses no input at"),
    Q + "pgd_agrees": Counterfactual(fail("relu_pgd_not_better"), "projected gradient descent with restarts finds nothing worse"),
    Q + "sensitivity_ratio": Counterfactual(fail("sensitivity_ratio"), "a worst-case sensitivity smaller by the factor"),
    Q + "no_threshold_is_linear": Counterfactual(fail("no_threshold_is_linear"), "with the same failures"),
    Q + "label_correlation": Counterfactual(fail("label_correlation"), "the probability that the other"),
}

HARNESS = Harness(claims.CLAIMS, world, lambda w: {"q3_sparse_coding": {"derivation": w["derivation"]}},
                  ("q3_sparse_coding.tex.j2",))


def test_claims_hold_on_the_derivation_and_every_guarded_sentence_is_printed():
    HARNESS.check_covered(COUNTERFACTUALS)
    HARNESS.check_world(COUNTERFACTUALS)


@pytest.mark.parametrize("name", sorted(COUNTERFACTUALS))
def test_a_contradicted_claim_removes_its_sentence_or_stops(name):
    HARNESS.check_counterfactual(name, COUNTERFACTUALS[name])


def test_the_linear_alternative_is_true_when_the_attack_does_not_match_the_pivotal_inputs():
    w = world()
    set_numeric("linear.flipped", 0.5)(w)
    text = " ".join(HARNESS.render(w).split())
    assert "of the inputs non-robust, against" in text and "puts exactly these" not in text
