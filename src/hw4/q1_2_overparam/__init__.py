"""Q1.2: learning y(x) = sum_j relu(x_j) with h(W, x) = sum_i relu(<w_i, x>), x ~ N(0, I_d), by SGD.

loss.py holds the exact population loss and its gradient; sgd.py the batched trainer;
endpoints.py how a run ended; experiments.py the step-size rule, the two settings and the sweep;
figures.py the figures; tasks.py the doit tasks.
"""
