"""Q5.1's tasks: the sympy derivation with its grid-search checks, its figure, and the claims the
prose rests on."""
from __future__ import annotations

from hw4.core.build import Build

QUESTION = "q5_1_minimax"


def tasks(b: Build):
    out = b.out(QUESTION, "derivation.json")
    yield b.task(QUESTION, "derive", "hw4.q5_1_minimax.derivation:run", b.cfg.minimax, out,
                 targets=[out], settings=b.settings("minimax"),
                 doc=f"sympy derivation and grid-search checks -> {out}")
    yield b.figure_task(QUESTION, "minimax_landscape", "hw4.q5_1_minimax.figures:minimax_landscape",
                        [out], ["minimax"])
    yield b.claims_task(QUESTION, "hw4.q5_1_minimax.claims", {"derivation": out})
