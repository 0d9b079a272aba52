"""Q4's tasks: the sympy derivation with its numeric checks, its figure, and the claims the prose
rests on."""
from __future__ import annotations

from hw4.core.build import Build

QUESTION = "q4_batchnorm"


def tasks(b: Build):
    out = b.out(QUESTION, "derivation.json")
    yield b.task(QUESTION, "derive", "hw4.q4_batchnorm.derivation:run", b.cfg.batchnorm, out,
                 targets=[out], settings=b.settings("batchnorm"),
                 doc=f"sympy derivation and finite-difference checks -> {out}")
    yield b.figure_task(QUESTION, "batchnorm_norms", "hw4.q4_batchnorm.figures:batchnorm_norms",
                        [out], ["batchnorm"])
    yield b.claims_task(QUESTION, "hw4.q4_batchnorm.claims", {"derivation": out})
