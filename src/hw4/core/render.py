"""Jinja2 for LaTeX: safe delimiters, strict variables, escaping by default.

Template values are LaTeX-escaped unless marked raw with the `latex` filter, so a string
from a results file can never break the document; numbers go through `num`/`pct`, which
produce siunitx markup. A missing variable stops the build naming template and line.
"""
from __future__ import annotations

import decimal
import math
import shutil
import traceback
from pathlib import Path

import jinja2
from pylatex import LongTable, NoEscape, Tabular
from pylatex.utils import escape_latex

from hw4.core import claims
from hw4.core.errors import RenderError
from hw4.core.store import atomic_path, load_json


def environment(templates_dir: Path | str, claim_book: dict | None = None) -> jinja2.Environment:
    """The templates' Jinja: LaTeX-safe delimiters, strict variables, escaping, and the claims
    `claim(name)` (true or false, for an if with an else), `require(name)` (stops if false) and
    `numbers(name)` (what a claim rests on)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        finalize=escape,
    )
    env.filters.update(latex=raw, num=num, pct=pct, atmost=atmost, atleast=atleast)
    env.globals.update(table=table, pick=pick)
    env.globals.update(claims_globals(claim_book or {}))
    return env


# ----------------------------------------------------------------------------- claims

class ClaimFalse(ValueError):
    """A `stop` claim is false where a template requires it (reported with the template line)."""


def claims_globals(claim_book: dict) -> dict:
    def lookup(name: str, kind: str) -> dict:
        if name not in claim_book:
            raise ValueError(f"unknown claim '{name}': no claims.json declares it (known: "
                             f"{', '.join(sorted(claim_book)) or 'none'})")
        record = claim_book[name]
        wanted = {"claim": "alternative", "require": "stop"}[kind]
        if record["if_false"] != wanted:
            other = "require" if kind == "claim" else "claim"
            raise ValueError(f"claim '{name}' is declared if_false='{record['if_false']}': use {other}('{name}')")
        return record

    def claim(name: str) -> bool:
        return lookup(name, "claim")["holds"]

    def require(name: str) -> NoEscape:
        record = lookup(name, "require")
        if not record["holds"]:
            raise ClaimFalse(claims.describe(record))
        return NoEscape("")

    def numbers(name: str) -> dict:
        """The numbers a claim rests on, to print beside its sentence."""
        if name not in claim_book:
            raise ValueError(f"unknown claim '{name}'")
        return claim_book[name]["numbers"]

    return {"claim": claim, "require": require, "numbers": numbers}


def claim_uses(env: jinja2.Environment, name: str) -> list[tuple[str, str, int]]:
    """(claim name, 'claim' or 'require', line) of every use in template `name`, after checking that
    each `claim(...)` is the whole test of an if/elif whose chain ends in an else."""
    source = env.loader.get_source(env, name)[0]
    try:
        tree = env.parse(source, name)
    except jinja2.TemplateSyntaxError as err:
        raise RenderError(f"templates/{name}:{err.lineno}: {err.message}") from None
    tested = set()
    elifs = {id(e) for node in tree.find_all(jinja2.nodes.If) for e in node.elif_}
    for node in tree.find_all(jinja2.nodes.If):
        chain = [node, *node.elif_]
        guarded = [n for n in chain if _claim_call(n.test, "claim")]
        tested.update(id(n.test) for n in guarded)
        if guarded and not node.else_ and id(node) not in elifs:
            raise RenderError(f"templates/{name}:{node.lineno}: if claim('{_claim_call(guarded[0].test, 'claim')}') "
                              f"has no else branch; print a true alternative when the claim is false")
    uses = []
    for call in tree.find_all(jinja2.nodes.Call):
        for kind in ("claim", "require"):
            claim_name = _claim_call(call, kind)
            if claim_name is None:
                continue
            if kind == "claim" and id(call) not in tested:
                raise RenderError(f"templates/{name}:{call.lineno}: claim('{claim_name}') may only be the whole "
                                  f"test of an if or elif")
            uses.append((claim_name, kind, call.lineno))
    return uses


def _claim_call(node, kind: str) -> str | None:
    """The claim name if `node` is `kind('name')` with a literal name, else None."""
    if isinstance(node, jinja2.nodes.Call) and isinstance(node.node, jinja2.nodes.Name) and node.node.name == kind:
        if len(node.args) != 1 or not isinstance(node.args[0], jinja2.nodes.Const) or node.kwargs:
            raise RenderError(f"line {node.lineno}: {kind}() takes one literal claim name")
        return node.args[0].value
    return None


def check_claims(env: jinja2.Environment, names: list[str], claim_book: dict) -> dict[str, list[str]]:
    """Every claim is used by some template and every used claim exists: claim name -> the
    templates that use it."""
    used: dict[str, list[str]] = {}
    for name in names:
        for claim_name, kind, line in claim_uses(env, name):
            if claim_name not in claim_book:
                raise RenderError(f"templates/{name}:{line}: unknown claim '{claim_name}'")
            expected = "claim" if claim_book[claim_name]["if_false"] == "alternative" else "require"
            if kind != expected:
                raise RenderError(f"templates/{name}:{line}: claim '{claim_name}' is declared if_false="
                                  f"'{claim_book[claim_name]['if_false']}'; use {expected}('{claim_name}')")
            used.setdefault(claim_name, [])
            if name not in used[claim_name]:
                used[claim_name].append(name)
    unused = [n for n in claim_book if n not in used]
    if unused:
        raise RenderError(f"claim '{unused[0]}' is computed but no template uses it; use it where its "
                          f"sentence is, or remove it from its claims.py")
    return used


def section_of(template: str) -> str:
    """'q5_2_gan.tex.j2' -> '5.2', 'q3_sparse_coding.tex.j2' -> '3'."""
    parts = template.split("_")
    return ".".join([parts[0][1:], *([parts[1]] if len(parts) > 2 and parts[1].isdigit() else [])])


def claims_rows(claim_book: dict, used: dict) -> list[dict]:
    """The appendix's claims table: name, sections, held, the numbers behind it."""
    return [{"name": NoEscape(escape_latex(name).replace("_", "_\\allowbreak{}").replace(".", ".\\allowbreak{}")),
             # two templates of one section (an answer and its appendix) name the section once
             "section": ", ".join(dict.fromkeys(section_of(t) for t in used.get(name, []))),
             "held": "yes" if r["holds"] else "no",
             "numbers": "; ".join(f"{k} = {claims._short(v)}" for k, v in r["numbers"].items())}
            for name, r in sorted(claim_book.items())]


def escape(value):
    """Every value printed by a template passes here: raw LaTeX only if explicitly marked."""
    if isinstance(value, NoEscape):
        return value
    if isinstance(value, bool) or value is None:
        raise TypeError(f"refusing to print {value!r}: say in words what it means")
    if isinstance(value, float):
        raise TypeError(f"print the number {value!r} through the num filter, e.g. \\VAR{{x|num(3)}}")
    return escape_latex(str(value))


def raw(value) -> NoEscape:
    """Mark a string as LaTeX (e.g. sympy.latex output) so it is not escaped."""
    return NoEscape(str(value))


def num(value, digits: int = 3) -> NoEscape:
    """A number as siunitx `\\num{...}`, rounded to `digits` significant digits (ints exact)."""
    return NoEscape(rf"\num{{{significant(value, digits)}}}")


def pct(value, digits: int = 3) -> NoEscape:
    """A fraction in [0, 1] as a percentage."""
    return NoEscape(rf"\SI{{{significant(100 * value, digits)}}}{{\percent}}")


def atmost(value, digits: int = 2) -> NoEscape:
    """An upper bound as `\\num`: rounded *up* to `digits` significant digits, so that "at most x"
    stays true of the printed x (rounding to nearest can print a bound the value exceeds)."""
    return NoEscape(rf"\num{{{significant(value, digits, decimal.ROUND_CEILING)}}}")


def atleast(value, digits: int = 2) -> NoEscape:
    """A lower bound as `\\num`: rounded *down* to `digits` significant digits."""
    return NoEscape(rf"\num{{{significant(value, digits, decimal.ROUND_FLOOR)}}}")


def significant(value, digits: int, rounding: str = decimal.ROUND_HALF_EVEN) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"num expects a number, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot print the non-finite number {value!r}")
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if rounding != decimal.ROUND_HALF_EVEN:  # directed: exactly, in decimal, then as a float
        value = float(decimal.Decimal(repr(value)).quantize(decimal.Decimal(1).scaleb(exponent - digits + 1),
                                                            rounding=rounding))
        exponent = math.floor(math.log10(abs(value))) if value else exponent
    if -4 <= exponent < 6:  # plain decimals for everyday magnitudes
        decimals = digits - 1 - exponent
        return f"{round(value, decimals):.{max(decimals, 0)}f}"
    return f"{value:.{digits - 1}e}"


def table(header: list, rows: list, spec: str | None = None, keys: list | None = None,
          long: bool = False) -> NoEscape:
    """A booktabs table via PyLaTeX; cells are escaped unless marked raw (`latex`/`num`).

    Rows are lists, or dicts whose `keys` give the columns; floats print with 3 digits. A `long`
    table (longtable) breaks across pages and repeats its header.
    """
    spec = spec or "l" * len(header)
    if keys is not None:
        rows = [[row[k] for k in keys] for row in rows]
    tab = (LongTable if long else Tabular)(spec, booktabs=True)
    tab.add_row([_cell(c) for c in header])
    tab.add_hline()
    if long:
        tab.end_table_header()
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"table row {row!r} has {len(row)} cells, the header {len(header)}")
        tab.add_row([_cell(c) for c in row])
    return NoEscape(tab.dumps())


def pick(records: list, **match):
    """The one record of a list whose fields equal `match`, e.g. pick(sweep.widths, m=30)."""
    found = [r for r in records if all(r.get(k) == v for k, v in match.items())]
    if len(found) != 1:
        raise ValueError(f"pick: {len(found)} records match {match}, expected exactly one")
    return found[0]


def _cell(value):
    if isinstance(value, float):
        return num(value, 3)
    return value if isinstance(value, NoEscape) else escape(value)


def load_context(files, results_dir: Path | str) -> dict:
    """The declared results files, and nothing else: `results/<profile>/a/b.json` becomes
    `context['a']['b']`, so a template can only read what its task declares as inputs."""
    results_dir = Path(results_dir)
    context: dict = {}
    for path in sorted(map(Path, files)):
        *folders, stem = path.relative_to(results_dir).with_suffix("").parts
        node = context
        for folder in folders:
            node = node.setdefault(folder, {})
        node[stem] = load_json(path)
    return context


def render(files, results_dir: Path, templates_dir: Path, bib: Path, build_dir: Path, *,
           report: dict, profile: str, config_hash: str) -> None:
    """Fill every template from the declared results files plus the report's title block; the
    claims files among them decide the guarded sentences and fill the appendix's claims table."""
    context = load_context(files, results_dir)
    clash = {"report", "profile", "config_hash", "claims_table"} & set(context)
    if clash:
        raise ValueError(f"results/{profile}/ may not hold a top-level entry named {sorted(clash)}")
    claim_book = claims.book([r for f in files if Path(f).name == "claims.json"
                              for r in load_json(f)["claims"]])
    env = environment(templates_dir, claim_book)
    used = check_claims(env, template_names(templates_dir), claim_book)
    context.update(report=report, profile=profile, config_hash=config_hash,
                   claims_table=claims_rows(claim_book, used))
    render_all(templates_dir, build_dir, context, env)
    with atomic_path(Path(build_dir) / bib.name) as tmp:
        shutil.copyfile(bib, tmp)


def template_names(templates_dir: Path | str) -> list[str]:
    return sorted(p.name for p in Path(templates_dir).glob("*.tex.j2"))


def render_all(templates_dir: Path | str, out_dir: Path | str, context: dict,
               env: jinja2.Environment | None = None) -> list[Path]:
    """Render every `*.tex.j2` in `templates_dir` to `out_dir/*.tex`."""
    env = env or environment(templates_dir)
    written = []
    for name in template_names(templates_dir):
        text = render_one(env, name, context)
        out = Path(out_dir) / name.removesuffix(".j2")
        with atomic_path(out) as tmp:
            tmp.write_text(text)
        written.append(out)
    return written


def render_one(env: jinja2.Environment, name: str, context: dict) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as err:
        raise RenderError(f"templates/{err.name or name}:{err.lineno}: {err.message}") from None
    except jinja2.UndefinedError as err:
        raise RenderError(f"{_where(err, name)}: undefined variable: {err.message}; "
                          f"is the results file that provides it built?") from None
    except (TypeError, ValueError) as err:
        raise RenderError(f"{_where(err, name)}: {err}") from None


def _where(err: Exception, name: str) -> str:
    """The template line being rendered when `err` was raised (Jinja maps frames to templates)."""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename.endswith(".j2"):
            return f"templates/{Path(frame.filename).name}:{frame.lineno}"
    return f"templates/{name}"
