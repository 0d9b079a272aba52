"""Sympy derivations of the purely mathematical questions, each cross-checked numerically."""
