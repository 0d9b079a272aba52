"""Claims: every sentence that interprets a result is a named predicate computed from the results.

A question's claims module holds a `Registry` named CLAIMS and registers each claim with
`@CLAIMS.claim(name, says=..., if_false=..., holds=predicate)`. The decorated function gathers the
numbers the claim rests on from the question's results files (keyword arguments, each wrapped in
`Fields`, so that a missing field stops the build naming the claim, the file and the field) and
returns them as a dict; `holds` is a predicate of those numbers (it takes the ones it needs by
name; the others are context for the text), so the numbers recorded are all that decided it. The author decides, per claim, what a false claim does:

- `if_false="alternative"`: the template prints the sentence under `\\BLOCK{if claim('name')}` and a
  true alternative under `\\BLOCK{else}`;
- `if_false="stop"`: the template marks the sentence with `\\VAR{require('name')}`; if the claim is
  false the build stops there, naming the claim, its numbers and the template line.

A claim whose numbers include a NaN or a missing value (None) is false, never true: its predicate
is not even called. Each question's
claims task writes results/<profile>/<question>/claims.json; the render step (`core.render`) reads
them, checks every template's use of them (`check_usage`), and lists them in the appendix.
"""
from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hw4.core.errors import Hw4Error

IF_FALSE = ("alternative", "stop")


class ClaimError(Hw4Error):
    """A claim cannot be computed, is used wrongly by a template, or is false where that stops the build."""


@dataclass(frozen=True)
class Claim:
    name: str            # '<question>.<name>', unique in the report
    says: str            # what the guarded sentence asserts, in a few words (the appendix shows it)
    if_false: str        # 'alternative' or 'stop'
    numbers: Callable    # (**results as Fields) -> {name: number}
    holds: Callable      # (**numbers) -> bool


class Registry:
    """The claims of one question, in the order they are declared."""

    def __init__(self, question: str):
        self.question = question
        self.claims: dict[str, Claim] = {}

    def claim(self, name: str, *, says: str, if_false: str, holds: Callable):
        if if_false not in IF_FALSE:
            raise ValueError(f"claim {name}: if_false must be one of {IF_FALSE}, not {if_false!r}")

        def register(numbers):
            full = f"{self.question}.{name}"
            if full in self.claims:
                raise ValueError(f"claim {full} is declared twice")
            self.claims[full] = Claim(full, says, if_false, numbers, holds)
            return numbers
        return register

    def evaluate(self, results: dict) -> list[dict]:
        """Every claim's record, from the results (key -> loaded JSON, or Fields naming its file)."""
        fields = {key: data if isinstance(data, Fields) else Fields(data, key) for key, data in results.items()}
        return [evaluate(c, fields) for c in self.claims.values()]


def evaluate(c: Claim, results: dict) -> dict:
    """One claim's record: name, says, if_false, holds, numbers (NaN stored as None), unknown."""
    needed = [p.name for p in inspect.signature(c.numbers).parameters.values()
              if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty]
    absent = [name for name in needed if name not in results]
    if absent:
        raise ClaimError(f"claim {c.name} reads the results '{absent[0]}', which its claims task does not "
                         f"declare (it has: {', '.join(results) or 'none'})")
    try:
        numbers = {k: plain(v) for k, v in c.numbers(**results).items()}
    except MissingField as err:
        raise ClaimError(f"claim {c.name}: {err.file} has no field '{err.field}'; rebuild the task "
                         f"that writes it, or fix the claim in its claims.py") from None
    unknown = sorted(k for k, v in numbers.items() if _missing(v))
    holds = not unknown and bool(c.holds(**arguments(c.holds, numbers)))
    return {"name": c.name, "says": c.says, "if_false": c.if_false, "holds": holds,
            "numbers": numbers, "unknown": unknown}


def arguments(predicate, numbers: dict) -> dict:
    """The numbers a predicate takes by name (all of them if it takes **kwargs); the others are
    context printed beside the sentence."""
    params = inspect.signature(predicate).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return numbers
    missing = [p.name for p in params if p.name not in numbers]
    if missing:
        raise ClaimError(f"the predicate takes {missing}, which the claim's numbers do not hold")
    return {p.name: numbers[p.name] for p in params}


def _missing(value) -> bool:
    if isinstance(value, (list, tuple)):
        return any(map(_missing, value))
    return value is None or (isinstance(value, float) and math.isnan(value))


def plain(value):
    """A value for the claims file: Fields unwrapped, tensors and numpy scalars to Python, NaN to None."""
    if isinstance(value, Fields):
        value = value.raw
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class MissingField(KeyError):
    def __init__(self, file: str, field: str):
        super().__init__(field)
        self.file, self.field = file, field


class Fields:
    """Read-only access to a results file by attribute or key. A missing field raises MissingField
    naming the file and the field's full path (e.g. 'epochs.3.fd'); values are returned as they are,
    dicts and lists wrapped again."""

    __slots__ = ("raw", "file", "path")

    def __init__(self, raw, file: str, path: str = ""):
        self.raw, self.file, self.path = raw, file, path

    def _child(self, key) -> str:
        return f"{self.path}.{key}" if self.path else str(key)

    def __getitem__(self, key):
        try:
            value = self.raw[key]
        except (KeyError, IndexError, TypeError):
            raise MissingField(self.file, self._child(key)) from None
        return Fields(value, self.file, self._child(key)) if isinstance(value, (dict, list)) else value

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        return self[key]

    def __contains__(self, key):
        return key in self.raw

    def __iter__(self):
        if isinstance(self.raw, list):
            return (self[i] for i in range(len(self.raw)))
        return iter(self.raw)

    def __len__(self):
        return len(self.raw)

    def __repr__(self):
        return f"Fields({self.file}:{self.path or '/'})"


def registry(module: str) -> Registry:
    """The CLAIMS registry of a question's claims module ('hw4.<question>.claims')."""
    return getattr(importlib.import_module(module), "CLAIMS")


def run(module: str, files: dict, out: Path | str) -> None:
    """Task edge: compute a question's claims from its results files (key -> path); write claims.json
    with the thresholds the module names (its upper-case float and int constants) as its settings."""
    from hw4.core.store import load_json, save_result

    mod = importlib.import_module(module)
    results = {key: Fields(load_json(path), str(path)) for key, path in files.items()}
    thresholds = {k: v for k, v in vars(mod).items()
                  if k.isupper() and isinstance(v, (int, float)) and not isinstance(v, bool)}
    save_result(out, {"question": mod.CLAIMS.question, "claims": mod.CLAIMS.evaluate(results)},
                {"thresholds": thresholds})


# ----------------------------------------------------------------------------- the templates' side

def book(records: list[dict]) -> dict[str, dict]:
    """All questions' claim records by name."""
    out = {}
    for record in records:
        if record["name"] in out:
            raise ClaimError(f"claim {record['name']} is computed twice")
        out[record["name"]] = record
    return out


def describe(record: dict) -> str:
    """'name' (says) with its numbers: what a stop message and the appendix show."""
    numbers = ", ".join(f"{k} = {_short(v)}" for k, v in record["numbers"].items())
    return f"claim '{record['name']}' ({record['says']}) is false: {numbers or 'no numbers'}"


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_short, value)) + "]"
    return "unknown (NaN or missing)" if value is None else str(value)
