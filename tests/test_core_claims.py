"""The claims mechanism: predicates over results, how templates may use them, and that every claim
of every question is covered by a counterfactual test."""
import importlib
import importlib.util
import math
from pathlib import Path

import jinja2
import pytest

from hw4.core import claims, render
from hw4.core.claims import ClaimError, Registry
from hw4.core.errors import RenderError

ROOT = Path(__file__).resolve().parents[1]

REG = Registry("q9_demo")


@REG.claim("above", says="x is above the bar", if_false="alternative", holds=lambda x, bar: x > bar)
def _(run, **_):
    return {"x": run.x, "bar": run.bar}


@REG.claim("sound", says="the check passed", if_false="stop", holds=lambda check: check)
def _(run, **_):
    return {"check": run.check}


def evaluate(**run):
    return {r["name"]: r for r in REG.evaluate({"run": run})}


def test_a_claim_holds_or_not_with_its_numbers():
    r = evaluate(x=2.0, bar=1.0, check=True)
    assert r["q9_demo.above"]["holds"] is True and r["q9_demo.above"]["numbers"] == {"x": 2.0, "bar": 1.0}
    assert evaluate(x=0.5, bar=1.0, check=True)["q9_demo.above"]["holds"] is False


def test_nan_or_missing_numbers_make_a_claim_false():
    # `not (nan > 1)` would be True: a claim resting on NaN must still come out false
    r = evaluate(x=math.nan, bar=1.0, check=True)["q9_demo.above"]
    assert r["holds"] is False and r["numbers"]["x"] is None and r["unknown"] == ["x"]
    assert evaluate(x=None, bar=1.0, check=True)["q9_demo.above"]["holds"] is False


def test_a_missing_field_names_the_claim_the_file_and_the_field():
    with pytest.raises(ClaimError, match=r"claim q9_demo.above: run has no field 'bar'"):
        REG.evaluate({"run": {"x": 1.0, "check": True}})


def test_run_writes_the_claims_file_with_its_thresholds(tmp_path, monkeypatch):
    from hw4.core.store import load_json, save_json

    module = type(importlib)("q9_demo_claims")
    module.CLAIMS, module.BAR_TOL = REG, 0.25
    monkeypatch.setitem(importlib.sys.modules, "q9_demo_claims", module)
    save_json(tmp_path / "run.json", {"x": 3.0, "bar": 1.0, "check": False})
    claims.run("q9_demo_claims", {"run": tmp_path / "run.json"}, tmp_path / "claims.json")
    saved = load_json(tmp_path / "claims.json")
    assert saved["settings"] == {"thresholds": {"BAR_TOL": 0.25}}
    assert [(c["name"], c["holds"]) for c in saved["claims"]] == [("q9_demo.above", True), ("q9_demo.sound", False)]


# ----------------------------------------------------------------------------- templates

def render_text(tmp_path, source, **run):
    (tmp_path / "t.tex.j2").write_text(source)
    book = claims.book(REG.evaluate({"run": run}))
    env = render.environment(tmp_path, book)
    render.check_claims(env, ["t.tex.j2"], book)
    return render.render_one(env, "t.tex.j2", {})


GOOD = ("\\BLOCK{if claim('q9_demo.above')}above\\BLOCK{else}not above\\BLOCK{endif}"
        " and sound\\VAR{require('q9_demo.sound')}.")


def test_the_sentence_follows_the_claim(tmp_path):
    assert render_text(tmp_path, GOOD, x=2.0, bar=1.0, check=True) == "above and sound."
    assert render_text(tmp_path, GOOD, x=0.0, bar=1.0, check=True) == "not above and sound."


def test_a_false_stop_claim_stops_naming_it_its_numbers_and_the_line(tmp_path):
    with pytest.raises(RenderError, match=r"templates/t\.tex\.j2:1: claim 'q9_demo.sound' \(the check passed\) "
                                          r"is false: check = False"):
        render_text(tmp_path, GOOD, x=2.0, bar=1.0, check=False)


@pytest.mark.parametrize("source, message", [
    ("\\BLOCK{if claim('q9_demo.above')}above\\BLOCK{endif}\\VAR{require('q9_demo.sound')}", "has no else branch"),
    ("\\BLOCK{if x}a\\BLOCK{elif claim('q9_demo.above')}b\\BLOCK{endif}\\VAR{require('q9_demo.sound')}",
     "has no else branch"),
    ("\\VAR{claim('q9_demo.above')}\\VAR{require('q9_demo.sound')}", "may only be the whole test of an if"),
    ("\\BLOCK{if claim('q9_demo.above') and 1}a\\BLOCK{else}b\\BLOCK{endif}\\VAR{require('q9_demo.sound')}",
     "may only be the whole test of an if"),
    ("\\BLOCK{if claim('q9_demo.sound')}a\\BLOCK{else}b\\BLOCK{endif}\\BLOCK{if claim('q9_demo.above')}a"
     "\\BLOCK{else}b\\BLOCK{endif}", "use require\\('q9_demo.sound'\\)"),
    ("\\BLOCK{if claim('q9_demo.above')}a\\BLOCK{else}b\\BLOCK{endif}", "'q9_demo.sound' is computed but no template"),
    (GOOD + "\\VAR{require('q9_demo.typo')}", "unknown claim 'q9_demo.typo'"),
])
def test_templates_must_use_claims_as_declared(tmp_path, source, message):
    with pytest.raises(RenderError, match=message):
        render_text(tmp_path, source, x=2.0, bar=1.0, check=True)


def test_sections_of_templates():
    assert render.section_of("q5_2_gan.tex.j2") == "5.2"
    assert render.section_of("q3_sparse_coding.tex.j2") == "3"
    assert render.section_of("q1_1_intuition.tex.j2") == "1.1"


def test_the_claims_table_names_each_section_once_in_order_of_use():
    book = claims.book(REG.evaluate({"run": {"x": 2.0, "bar": 1.0, "check": True}}))
    used = {"q9_demo.above": ["q1_2_overparam.tex.j2", "q1_2_overparam_appendix.tex.j2", "q1_1_intuition.tex.j2"],
            "q9_demo.sound": ["q3_sparse_coding.tex.j2"]}
    rows = {str(r["name"]).replace("\\allowbreak{}", ""): r["section"] for r in render.claims_rows(book, used)}
    assert rows == {"q9\\_demo.above": "1.2, 1.1", "q9\\_demo.sound": "3"}


# ----------------------------------------------------------------------------- the project's claims

def claims_modules() -> list[str]:
    return sorted(f"hw4.{p.parent.name}.claims" for p in (ROOT / "src" / "hw4").glob("q*/claims.py"))


def test_every_claim_of_every_question_has_a_counterfactual():
    """A claim added without a counterfactual in its question's test file fails here."""
    for module in claims_modules():
        question = module.split(".")[1]
        test_file = ROOT / "tests" / f"test_{question}.py"
        assert test_file.exists(), f"{module} has claims but there is no {test_file.name}"
        spec = importlib.util.spec_from_file_location(f"_counterfactuals_{question}", test_file)
        tests = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tests)
        counterfactuals = getattr(tests, "COUNTERFACTUALS", None)
        assert counterfactuals is not None, f"{test_file.name} defines no COUNTERFACTUALS"
        declared = set(claims.registry(module).claims)
        assert declared == set(counterfactuals), (
            f"{question}: claims without a counterfactual {sorted(declared - set(counterfactuals))}, "
            f"counterfactuals without a claim {sorted(set(counterfactuals) - declared)}")


def test_templates_hold_no_thresholds():
    """Comparisons of results against numbers belong in claims: no ordering comparison and no
    numeric literal other than 0 and 1 (pluralisation, emptiness) in any template's tests."""
    env = render.environment(ROOT / "templates")
    for path in sorted((ROOT / "templates").glob("*.tex.j2")):
        tree = env.parse(path.read_text())
        for node in tree.find_all(jinja2.nodes.Compare):
            for op in node.ops:
                assert op.op in ("eq", "ne", "in", "notin"), \
                    f"{path.name}:{node.lineno}: an ordering comparison ({op.op}) is a threshold; make it a claim"
            for const in [node.expr, *(op.expr for op in node.ops)]:
                if isinstance(const, jinja2.nodes.Const) and isinstance(const.value, (int, float)) \
                        and not isinstance(const.value, bool):
                    assert const.value in (0, 1) and isinstance(const.value, int), \
                        f"{path.name}:{node.lineno}: the literal {const.value} is a threshold; make it a claim"
