"""Q4: the batch-normalized ridge objective is neither Lipschitz nor smooth near w = 0.
derivation.py (sympy and finite differences), figures.py, tasks.py."""
