"""Jinja2 for LaTeX: safe delimiters, strict variables, escaping by default.

Template values are LaTeX-escaped unless marked raw with the `latex` filter, so a string
from a results file can never break the document; numbers go through `num`/`pct`, which
produce siunitx markup. A missing variable stops the build naming template and line.
"""
from __future__ import annotations

import math
import shutil
import traceback
from pathlib import Path

import jinja2
from pylatex import NoEscape, Tabular
from pylatex.utils import escape_latex

from hw4.core.errors import RenderError
from hw4.core.store import atomic_path, load_json


def environment(templates_dir: Path | str) -> jinja2.Environment:
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
    env.filters.update(latex=raw, num=num, pct=pct)
    env.globals.update(table=table, pick=pick)
    return env


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


def significant(value, digits: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"num expects a number, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot print the non-finite number {value!r}")
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if -4 <= exponent < 6:  # plain decimals for everyday magnitudes
        decimals = digits - 1 - exponent
        return f"{round(value, decimals):.{max(decimals, 0)}f}"
    return f"{value:.{digits - 1}e}"


def table(header: list, rows: list, spec: str | None = None, keys: list | None = None) -> NoEscape:
    """A booktabs table via PyLaTeX; cells are escaped unless marked raw (`latex`/`num`).

    Rows are lists, or dicts whose `keys` give the columns; floats print with 3 digits.
    """
    spec = spec or "l" * len(header)
    if keys is not None:
        rows = [[row[k] for k in keys] for row in rows]
    tab = Tabular(spec, booktabs=True)
    tab.add_row([_cell(c) for c in header])
    tab.add_hline()
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
    """Fill every template from the declared results files plus the report's title block."""
    context = load_context(files, results_dir)
    clash = {"report", "profile", "config_hash"} & set(context)
    if clash:
        raise ValueError(f"results/{profile}/ may not hold a top-level entry named {sorted(clash)}")
    context.update(report=report, profile=profile, config_hash=config_hash)
    render_all(templates_dir, build_dir, context)
    with atomic_path(Path(build_dir) / bib.name) as tmp:
        shutil.copyfile(bib, tmp)


def render_all(templates_dir: Path | str, out_dir: Path | str, context: dict) -> list[Path]:
    """Render every `*.tex.j2` in `templates_dir` to `out_dir/*.tex`."""
    env = environment(templates_dir)
    written = []
    for template_path in sorted(Path(templates_dir).glob("*.tex.j2")):
        text = render_one(env, template_path.name, context)
        out = Path(out_dir) / template_path.name.removesuffix(".j2")
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
