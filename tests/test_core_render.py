"""Templates: values escaped by default, raw LaTeX only when marked, missing values fail clearly."""
import json

import pytest
from pylatex import NoEscape

from hw4.core.errors import RenderError
from hw4.core import render as templates


def render(tmp_path, source, **context):
    (tmp_path / "t.tex.j2").write_text(source)
    return templates.render_one(templates.environment(tmp_path), "t.tex.j2", context)


def test_strings_are_escaped_by_default(tmp_path):
    out = render(tmp_path, r"\VAR{s}", s="50% of x_1 & {y} #2 ~ $")
    assert out == r"50\% of x\_1 \& \{y\} \#2 \textasciitilde{} \$"


def test_raw_latex_only_when_marked(tmp_path):
    assert render(tmp_path, r"$\VAR{e|latex}$", e=r"\frac{1}{x}") == r"$\frac{1}{x}$"
    assert render(tmp_path, r"\VAR{e}", e=r"\frac") == r"\textbackslash{}frac"


def test_numbers_go_through_num(tmp_path):
    assert render(tmp_path, r"\VAR{x|num(3)}", x=0.123456) == r"\num{0.123}"
    assert render(tmp_path, r"\VAR{x|num(2)}", x=1234.5) == r"\num{1200}"
    assert render(tmp_path, r"\VAR{x|num(3)}", x=1.5e-7) == r"\num{1.50e-07}"
    assert render(tmp_path, r"\VAR{n}", n=12000) == "12000"
    assert render(tmp_path, r"\VAR{p|pct(2)}", p=0.5) == r"\SI{50}{\percent}"
    with pytest.raises(RenderError, match=r"templates/t\.tex\.j2:1: print the number 0\.5 through the num filter"):
        render(tmp_path, r"\VAR{x}", x=0.5)


def test_missing_variable_names_template_line_and_variable(tmp_path):
    with pytest.raises(RenderError, match=r"templates/t\.tex\.j2:3: undefined variable: .*'nope'"):
        render(tmp_path, "a\nb\n\\VAR{results.nope}\n", results={"yes": 1})


def test_syntax_error_names_line(tmp_path):
    with pytest.raises(RenderError, match=r"templates/t\.tex\.j2:2: "):
        render(tmp_path, "ok\n\\BLOCK{if x}\n")


def test_table_is_booktabs_and_escapes_cells():
    out = templates.table(["name", "value"], [["a_b", NoEscape(r"$\alpha$")], ["c", 3]])
    assert r"\toprule" in out and r"\bottomrule" in out
    assert r"a\_b" in out and r"$\alpha$" in out
    by_keys = templates.table(["x", "t"], [{"t": 0.123456, "x": "y"}], keys=["x", "t"])
    assert r"y&\num{0.123}" in by_keys
    with pytest.raises(ValueError, match="has 1 cells"):
        templates.table(["a", "b"], [["x"]])


def test_context_holds_the_declared_files_only(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c.json").write_text(json.dumps({"k": 1}))
    (tmp_path / "top.json").write_text(json.dumps([1, 2]))
    (tmp_path / "a" / "undeclared.json").write_text(json.dumps({"secret": 1}))
    declared = [tmp_path / "a" / "b" / "c.json", tmp_path / "top.json"]
    context = templates.load_context(declared, tmp_path)
    assert context == {"a": {"b": {"c": {"k": 1}}}, "top": [1, 2]}
    with pytest.raises(RenderError, match=r"undefined variable: .*'undeclared'"):
        render(tmp_path, r"\VAR{a.undeclared.secret}", **context)


def test_pick_finds_one_record(tmp_path):
    rows = [{"m": 20, "x": 1}, {"m": 30, "x": 2}]
    assert render(tmp_path, r"\VAR{pick(rows, m=30).x}", rows=rows) == "2"
    with pytest.raises(RenderError, match="0 records match"):
        render(tmp_path, r"\VAR{pick(rows, m=40).x}", rows=rows)


def test_render_all_writes_every_template(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "one.tex.j2").write_text(r"\VAR{x}")
    (src / "two.tex.j2").write_text(r"\BLOCK{if x == 'a'}yes\BLOCK{endif}")
    written = templates.render_all(src, out, {"x": "a"})
    assert [p.name for p in written] == ["one.tex", "two.tex"]
    assert (out / "two.tex").read_text() == "yes"


def test_bounds_round_outward_so_the_printed_bound_stays_true():
    """'at most x' prints x rounded up, 'at least x' rounded down; rounding to nearest would print
    9.9e-10 for 9.904e-10 and make 'at most' false."""
    from hw4.core.render import atleast, atmost, num

    assert atmost(9.904e-10, 2) == r"\num{1.0e-09}" and num(9.904e-10, 2) == r"\num{9.9e-10}"
    assert atleast(0.02297, 2) == r"\num{0.022}" and atmost(0.02297, 2) == r"\num{0.023}"
    assert atmost(-0.8165, 2) == r"\num{-0.81}" and atleast(-0.8165, 2) == r"\num{-0.82}"
    assert atmost(0.5, 2) == atleast(0.5, 2) == r"\num{0.50}"  # exact values stay as they are
    for value in (3.14159, 2.387e-7, 0.00123456, 98765.4321, -0.0456):
        for digits in (1, 2, 3):
            up, down = (float(f(value, digits)[5:-1]) for f in (atmost, atleast))
            assert down <= value <= up
