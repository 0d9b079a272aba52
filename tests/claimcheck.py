"""Counterfactual checks of a question's claims, shared by the questions' test files.

A question's test file gives a *world*: its results files as Python data (key -> JSON-like data,
the keys its claims task uses) in which every claim holds, a function that turns the world into
the context its template reads, and for every claim a `Counterfactual`: a mutation of the world
that contradicts the claim, and a phrase of the sentence the claim guards. `Harness` checks that
the world makes every claim hold and prints every phrase, and that each counterfactual makes its
claim false and its phrase disappear (or, for a `stop` claim, makes the render stop naming it).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from hw4.core import render
from hw4.core.claims import Registry
from hw4.core.errors import RenderError

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@dataclass(frozen=True)
class Counterfactual:
    mutate: Callable[[dict], None]   # edits a copy of the world so that the claim is contradicted
    phrase: str                      # words of the sentence the claim guards: gone when it is false


def flat(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Harness:
    registry: Registry
    world: Callable[[], dict]              # a fresh world in which every claim holds
    context: Callable[[dict], dict]        # the template context for a world (claims are added)
    templates: tuple[str, ...]             # the templates that use the question's claims
    foreign: dict | None = None            # other questions' claims a template uses: name -> if_false

    def records(self, world: dict) -> dict:
        return {r["name"]: r for r in self.registry.evaluate(world)}

    def render(self, world: dict) -> str:
        """The templates rendered from `world`; other questions' claims (if any) hold."""
        book = {**self.records(world), **{name: {"name": name, "says": "", "if_false": kind, "holds": True,
                                                 "numbers": {}, "unknown": []}
                                          for name, kind in (self.foreign or {}).items()}}
        env = render.environment(TEMPLATES, book)
        context = {**self.context(world), "profile": "full"}
        return "\n".join(render.render_one(env, name, context) for name in self.templates)

    def check_covered(self, counterfactuals: dict) -> None:
        """Every claim has a counterfactual, and every counterfactual a claim."""
        claims, tested = set(self.registry.claims), set(counterfactuals)
        assert not claims - tested, f"claims without a counterfactual: {sorted(claims - tested)}"
        assert not tested - claims, f"counterfactuals of unknown claims: {sorted(tested - claims)}"

    def check_world(self, counterfactuals: dict) -> None:
        records = self.records(self.world())
        false = {n: r["numbers"] for n, r in records.items() if not r["holds"]}
        assert not false, f"the world must make every claim hold; false: {false}"
        text = flat(self.render(self.world()))
        missing = {n: cf.phrase for n, cf in counterfactuals.items() if flat(cf.phrase) not in text}
        assert not missing, f"phrases not printed when their claims hold: {missing}"

    def check_counterfactual(self, name: str, cf: Counterfactual) -> None:
        world = copy.deepcopy(self.world())
        cf.mutate(world)
        record = self.records(world)[name]
        assert record["holds"] is False, f"{name} still holds on its counterfactual: {record['numbers']}"
        if record["if_false"] == "stop":
            with pytest.raises(RenderError, match=re.escape(f"claim '{name}'")):
                self.render(world)
        else:
            assert flat(cf.phrase) not in flat(self.render(world)), f"'{cf.phrase}' printed though {name} is false"
