"""Where a Q1.2 run ends: continue it on the exact loss to a critical point, then measure the
curvature there.

A run ends at one of three kinds of point, and telling them apart needs more than the final loss:
a global minimum (f = 0), a spurious local minimum (f > 0, gradient 0, Hessian positive definite)
or a saddle (a negative Hessian eigenvalue). Every function takes W shaped (seeds, m, d) in
float64 and works on all seeds at once; runs that are done drop out of the batch.

- `descend`: plain gradient descent with a given step (the protocol's own), handing a run over
  to Newton's method once the exact Hessian is positive definite and the Newton step is short,
  i.e. once the basin is decided and only the slow approach to its bottom is left.
- `lbfgs`: limited-memory BFGS on the exact loss, for runs still descending (a power law near
  the degenerate global minima of a wide network, where gradient descent crawls).
- `newton`: Newton steps on the exact Hessian, to bring a run at a minimum to a gradient norm
  at the level of rounding.
- `smallest_eigenvalue`: dense where m d is small, Lanczos on Hessian-vector products otherwise.
"""
from __future__ import annotations

import math

import torch

from hw4.q1_2_overparam.loss import exact_grad, hessian, hessian_operator, loss_and_grad, target_energy


def _norm(X: torch.Tensor) -> torch.Tensor:
    return X.flatten(1).norm(dim=1)


def _dot(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    return (X * Y).flatten(1).sum(1)


def _col(x: torch.Tensor) -> torch.Tensor:
    return x[:, None, None]


def rounding_noise(d: int) -> float:
    """How much two evaluations of f at nearby points can differ by rounding alone: f is a sum of
    terms of size up to f(0) ~ d^2 / (2 pi), each exact to ~1e-16 relative."""
    return 1e-12 * target_energy(d)


# ----------------------------------------------------------------------------- Newton's method

def newton_step(W: torch.Tensor):
    """The Newton step H^-1 grad f for each seed, and whether H is positive definite there
    (a failed Cholesky factorisation says it is not; the step is then zero)."""
    S, m, d = W.shape
    _, g = loss_and_grad(W)
    L, info = torch.linalg.cholesky_ex(hessian(W))
    pd = info == 0
    step = torch.zeros_like(W)
    if pd.any():
        step[pd] = torch.cholesky_solve(g[pd].reshape(-1, m * d, 1), L[pd]).reshape(-1, m, d)
    return step, pd


def newton(W: torch.Tensor, grad_tol: float, steps: int) -> torch.Tensor:
    """Newton's method from points where the Hessian is positive definite, until |grad f| <= grad_tol.

    A step is kept only if it lowers the gradient norm (f itself is flat to rounding there);
    otherwise it is halved, at most 30 times. Returns the new W (a copy).
    """
    W = W.clone()
    for _ in range(steps):
        _, g = loss_and_grad(W)
        todo = (_norm(g) > grad_tol).nonzero()[:, 0]
        if todo.numel() == 0:
            break
        w, gn = W[todo], _norm(g[todo])
        step, pd = newton_step(w)
        t = torch.ones(len(todo), dtype=W.dtype)
        keep = ~pd  # no step where H is not positive definite
        for _ in range(30):
            _, g_new = loss_and_grad(w - _col(t) * step)
            keep |= _norm(g_new) < gn
            if keep.all():
                break
            t = torch.where(keep, t, t / 2)
        ok = pd & keep
        W[todo[ok]] = (w - _col(t) * step)[ok]
        if not ok.any():
            break
    return W


# ----------------------------------------------------------------------------- gradient descent

def descend(W: torch.Tensor, lr: float, steps: int, section, check_every: int = 50, handover: bool = True) -> dict:
    """Plain gradient descent W <- W - lr grad f on the exact loss, run by run until it is decided.

    Every `check_every` steps, a run leaves when f < loss_tol (it reached a global minimum), or
    when |grad f| < newton_grad, its Hessian is positive definite (m d <= dense_max), the
    Newton step is shorter than newton_radius and Newton's method then lands on a minimum
    (|grad f| <= grad_tol, Hessian still positive definite): it was inside the quadratic bowl of
    that minimum, which gradient descent would also reach, only slowly. With handover=False
    there is no Newton's method: a run leaves once |grad f| <= grad_tol (plain gradient descent to
    the end, to check that the handover changes nothing). A run whose loss becomes non-finite or
    rises above its start leaves as 'diverged' (the step is too large for it). Runs still
    undecided after `steps` steps are returned as they are.

    Returns the final W, the step at which each run left (None: not decided), how, and the point
    where each run was handed to Newton's method (NaN for the others).
    """
    W = W.clone()
    S, m, d = W.shape
    left_at: list[int | None] = [None] * S
    how: list[str | None] = [None] * S
    active = torch.arange(S)
    dense = m * d <= section.dense_max
    start = loss_and_grad(W)[0]
    # a run is tested for the handover again only once its gradient norm has halved since its
    # last failed test, so that a run resting near a saddle is not tested at every check
    retest_below = torch.full((S,), section.newton_grad, dtype=W.dtype)
    handed = torch.full_like(W, math.nan)
    for step in range(steps + 1):
        w = W[active]
        if step % check_every == 0 or step == steps:
            f, g = loss_and_grad(w)
            diverged = ~torch.isfinite(f) | (f > start[active])
            gn = _norm(g)
            done = ((f < section.loss_tol) | (not handover and gn <= section.grad_tol)) & ~diverged
            newton_ok = torch.zeros_like(done)
            near = ~done & ~diverged & (gn < retest_below[active])
            if handover and dense and near.any():
                idx = near.nonzero()[:, 0]
                retest_below[active[idx]] = gn[idx] / 2
                nstep, pd = newton_step(w[idx])
                idx = idx[pd & (_norm(nstep) < section.newton_radius)]
                if idx.numel():
                    # Newton must land on a minimum: |grad f| <= grad_tol with H still positive
                    # definite; where it does not (a nearly flat, degenerate region), the run goes
                    # on with gradient descent from where it was
                    landed = newton(w[idx], section.grad_tol, section.newton_steps)
                    ok = (_norm(loss_and_grad(landed)[1]) <= section.grad_tol) & newton_step(landed)[1]
                    W[active[idx[ok]]] = landed[ok]
                    handed[active[idx[ok]]] = w[idx[ok]]
                    newton_ok[idx[ok]] = True
            for i, run in enumerate(active.tolist()):
                if done[i] or newton_ok[i] or diverged[i]:
                    left_at[run] = step
                    how[run] = "diverged" if diverged[i] else "gd" if done[i] else "gd+newton"
            keep = ~(done | newton_ok | diverged)
            active, w, g = active[keep], w[keep], g[keep]
            if active.numel() == 0 or step == steps:
                break
        else:
            g = exact_grad(w)
        W[active] = w - lr * g
    return {"W": W, "left_at": left_at, "how": how, "handed": handed}


# ----------------------------------------------------------------------------- L-BFGS

def lbfgs(W: torch.Tensor, iters: int, memory: int, first_step: float, section) -> dict:
    """Limited-memory BFGS on the exact loss, all seeds at once, each with its own curvature pairs
    and backtracking line search, until f < loss_tol or |grad f| <= grad_tol.

    A trial step is accepted if it lowers f by the Armijo rule, or, once f is flat to rounding,
    if it keeps f within rounding and lowers the gradient norm. A run with no acceptable step in
    40 halvings stops where it is. The first step is `first_step` times the gradient.
    """
    W = W.clone()
    S = W.shape[0]
    noise = rounding_noise(W.shape[-1])
    f, g = loss_and_grad(W)
    pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []   # (s, y, 1/<y, s> or 0)
    running = (f >= section.loss_tol) & (_norm(g) > section.grad_tol)
    iterations = torch.zeros(S, dtype=torch.long)
    for _ in range(iters):
        if not running.any():
            break
        q, coef = g.clone(), []
        for s, y, rho in reversed(pairs):
            a = rho * _dot(s, q)
            q -= _col(a) * y
            coef.append(a)
        gamma = torch.full((S,), first_step, dtype=W.dtype)
        for s, y, rho in reversed(pairs):  # the latest pair with positive curvature sets the scale
            gamma = torch.where((rho > 0) & (gamma == first_step), _dot(s, y) / _dot(y, y).clamp_min(1e-300), gamma)
        q *= _col(gamma)
        for (s, y, rho), a in zip(pairs, reversed(coef)):
            q += _col(a - rho * _dot(y, q)) * s
        direction = -q
        slope = _dot(g, direction)
        uphill = slope >= 0
        direction[uphill] = -first_step * g[uphill]
        slope = _dot(g, direction)
        t = torch.ones(S, dtype=W.dtype)
        accepted = ~running
        gn = _norm(g)
        for _ in range(40):
            f_new, g_new = loss_and_grad(W + _col(t) * direction)
            ok = (f_new <= f + 1e-4 * t * slope) | ((f_new <= f + noise) & (_norm(g_new) < gn))
            accepted = accepted | ok
            if accepted.all():
                break
            t = torch.where(accepted, t, t / 2)
        move = running & accepted
        W_new = torch.where(_col(move), W + _col(t) * direction, W)
        f_new, g_new = loss_and_grad(W_new)
        s, y = W_new - W, g_new - g
        sy = _dot(s, y)
        rho = torch.where(move & (sy > 1e-12 * _norm(s) * _norm(y)), 1 / sy.clamp_min(1e-300), torch.zeros_like(sy))
        pairs = [*pairs[-(memory - 1):], (s, y, rho)] if memory > 1 else [(s, y, rho)]
        W, f, g = W_new, f_new, g_new
        iterations += move.long()
        running = move & (f >= section.loss_tol) & (_norm(g) > section.grad_tol)
    return {"W": W, "iterations": iterations.tolist()}


# ----------------------------------------------------------------------------- curvature

def lanczos_smallest(W: torch.Tensor, iters: int, tol: float, generator: torch.Generator):
    """The smallest eigenvalue of each Hessian by Lanczos on Hessian-vector products (with full
    reorthogonalisation), and a bound on its error: the smallest Ritz value theta and the residual
    norm r of its Ritz vector, so that an eigenvalue lies in [theta - r, theta]. theta is a
    Rayleigh quotient, an upper bound on the smallest eigenvalue; that the eigenvalue within r of
    it is the smallest one holds unless the random start is orthogonal to its eigenvector.
    """
    S, m, d = W.shape
    n = m * d
    q = torch.randn(S, n, dtype=W.dtype, generator=generator)
    Q = [q / q.norm(dim=1, keepdim=True)]
    alphas, betas = [], []
    theta = torch.full((S,), math.nan, dtype=W.dtype)
    resid = torch.full((S,), math.inf, dtype=W.dtype)
    done = torch.zeros(S, dtype=torch.bool)
    steps = min(iters, n)
    apply = hessian_operator(W)
    for j in range(steps):
        v = apply(Q[-1].view(S, m, d)).reshape(S, n)
        alphas.append((v * Q[-1]).sum(1))
        basis = torch.stack(Q, 1)                                   # (S, j + 1, n)
        for _ in range(2):                                          # twice is enough
            v = v - torch.bmm(basis.transpose(1, 2), torch.bmm(basis, v[..., None]))[..., 0]
        beta = v.norm(dim=1)
        scale = torch.stack(alphas, 1).abs().amax(1)  # a lower bound on |H|, for relative tests
        broken = ~done & (beta < 1e-10 * (1 + scale))
        if j % 10 == 9 or j == steps - 1 or bool(broken.any()):
            T = torch.diag_embed(torch.stack(alphas, 1))
            if betas:
                off = torch.stack(betas, 1)
                T = T + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
            vals, vecs = torch.linalg.eigh(T)
            r = (beta * vecs[:, -1, 0]).abs()
            new = ~done
            theta[new], resid[new] = vals[new, 0], r[new]
            done |= r <= tol * (1 + vals.abs().amax(1))
            if bool(done.all()):
                break
        # a seed whose Krylov space closed (an invariant subspace) goes on from a fresh random
        # vector orthogonal to it, with a zero coupling: its Ritz values stay exact
        broken = beta < 1e-10 * (1 + scale)
        if broken.any():
            fresh = torch.randn(S, n, dtype=W.dtype, generator=generator)
            for _ in range(2):
                fresh = fresh - torch.bmm(basis.transpose(1, 2), torch.bmm(basis, fresh[..., None]))[..., 0]
            v = torch.where(broken[:, None], fresh / fresh.norm(dim=1, keepdim=True), v / beta.clamp_min(1e-300)[:, None])
            beta = torch.where(broken, torch.zeros_like(beta), beta)
        else:
            v = v / beta[:, None]
        betas.append(beta)
        Q.append(v)
    return theta, resid


def smallest_eigenvalue(W: torch.Tensor, section, generator: torch.Generator):
    """The smallest Hessian eigenvalue at each W and its accuracy: exact (dense, eigvalsh) where
    m d <= dense_max, Lanczos otherwise."""
    S, m, d = W.shape
    if S == 0:
        return torch.zeros(0, dtype=W.dtype), torch.zeros(0, dtype=W.dtype)
    if m * d <= section.dense_max:
        H = hessian(W)
        vals = torch.linalg.eigvalsh(H)
        # eigvalsh is backward stable: each eigenvalue is exact for a matrix within ~eps |H|
        return vals[:, 0], 1e3 * torch.finfo(W.dtype).eps * vals.abs().amax(1)
    return lanczos_smallest(W, section.lanczos_iters, section.lanczos_tol, generator)


# ----------------------------------------------------------------------------- the whole continuation

def settle(W: torch.Tensor, lr: float, gd_steps: int, section) -> dict:
    """Continue runs on the exact loss until each is at a critical point or below loss_tol.

    First up to `gd_steps` steps of plain gradient descent with step `lr` (`descend`), then
    L-BFGS for the runs gradient descent left undecided, then Newton steps for any run at a
    minimum that L-BFGS left short of grad_tol (where m d <= dense_max). Runs that diverged under
    gradient descent are counted and left where they are. Returns the end points and, per run,
    how it got there ('gd', 'gd+newton', 'lbfgs', 'lbfgs+newton' or 'diverged').
    """
    S, m, d = W.shape
    out = descend(W, lr, gd_steps, section) if gd_steps > 0 else {
        "W": W.clone(), "left_at": [None] * S, "how": [None] * S, "handed": torch.full_like(W, math.nan)}
    W, how = out["W"], list(out["how"])
    diverged = torch.tensor([h == "diverged" for h in how], dtype=torch.bool)
    lbfgs_iters = [0] * S
    rest = [i for i in range(S) if how[i] is None]
    if rest:
        res = lbfgs(W[rest], section.lbfgs_iters, section.lbfgs_memory, lr, section)
        W[rest] = res["W"]
        for i, n in zip(rest, res["iterations"]):
            how[i], lbfgs_iters[i] = "lbfgs", n
    f, g = loss_and_grad(W)
    short = (f >= section.loss_tol) & (_norm(g) > section.grad_tol) & ~diverged
    if m * d <= section.dense_max and short.any():
        W[short] = newton(W[short], section.grad_tol, section.newton_steps)
        for i in short.nonzero()[:, 0].tolist():
            how[i] = f"{how[i]}+newton"
    return {"W": W, "how": how, "gd_steps": out["left_at"], "lbfgs_iters": lbfgs_iters,
            "diverged": int(diverged.sum()), "handed": out["handed"]}
