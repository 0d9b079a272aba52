"""Q1.2: learning y(x) = sum_j relu(x_j) with h(W, x) = sum_i relu(<w_i, x>), x ~ N(0, I_d), by SGD.

loss.py holds the exact population loss, its gradient and Hessian; sgd.py the batched trainer;
settle.py the continuation of a run on the exact loss to a critical point and the smallest Hessian
eigenvalue there; endpoints.py the certificate of how a run ended and the per-width summary;
streams.py the named random streams; experiments.py the step-size rule, the two settings, the
sweep and the protocols compared; safran.py Safran & Shamir's protocol; claims.py what the text
says about the results; figures.py the figures; tasks.py the doit tasks.
"""
