"""Q3: lecture 24's sparse coding example: why no linear function is robust at tau = 1/sqrt(d)
and a thresholded ReLU network is. derivation.py (sympy and attacks), figures.py, tasks.py."""
