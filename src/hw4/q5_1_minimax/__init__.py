"""Q5.1: the global min-max points of f(x, y) = 0.2 x y - cos(y), and why they are not local
min-max points. derivation.py (sympy and grid search), figures.py, tasks.py."""
