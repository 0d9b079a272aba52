"""Q3's tasks: the sympy derivation with the attacks that check it, its figure, and the claims the
prose rests on."""
from __future__ import annotations

from hw4.core.build import Build

QUESTION = "q3_sparse_coding"


def tasks(b: Build):
    out = b.out(QUESTION, "derivation.json")
    yield b.task(QUESTION, "derive", "hw4.q3_sparse_coding.derivation:run", b.cfg.sparse_coding, out,
                 targets=[out], settings=b.settings("sparse_coding"),
                 doc=f"sympy derivation and l2 attacks -> {out}")
    yield b.figure_task(QUESTION, "sparse_coding_robustness", "hw4.q3_sparse_coding.figures:robustness",
                        [out], ["sparse_coding"])
    yield b.claims_task(QUESTION, "hw4.q3_sparse_coding.claims", {"derivation": out})
