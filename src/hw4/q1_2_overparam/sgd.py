"""Q1.2's training: plain mini-batch SGD on fresh Gaussian samples, as the assignment asks,
batched over seeds, with the exact loss evaluated on a log grid of steps."""
from __future__ import annotations

import math
import time

import torch

from hw4.core.device import pick
from hw4.q1_2_overparam.loss import exact_grad, exact_loss, mc_loss


def init(seeds: int, m: int, d: int, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """The assignment's initialisation: each w_i ~ N(0, I/d), independently for every seed."""
    return torch.randn(seeds, m, d, generator=generator, dtype=dtype) / math.sqrt(d)


def sgd_step(Wt: torch.Tensor, x: torch.Tensor, lr: float) -> torch.Tensor:
    """One SGD step, in place, on the mini-batch loss mean_b (h(W, x_b) - y(x_b))^2.

    Wt is W transposed, (S, d, m), so both products below read contiguous memory; x is (S, B, d).
    The gradient with respect to w_i is (2/B) sum_b r_b 1[<w_i, x_b> > 0] x_b with r the residual,
    i.e. (r x)^T @ 1[x W^T > 0]: two batched matmuls and a few in-place elementwise passes.
    """
    active = torch.bmm(x, Wt).relu_()                               # (S, B, m)
    residual = active.sum(-1).sub_(x.relu().sum(-1))                # (S, B)
    grad_t = torch.bmm((x * residual[..., None]).transpose(-1, -2), active.sign_())  # (S, d, m)
    return Wt.sub_(grad_t, alpha=2 * lr / x.shape[-2])


def lr_at(step: int, steps: int, lr: float, anneal_frac: float, anneal_to: float) -> float:
    """Constant step, then a geometric decay to lr * anneal_to over the last anneal_frac of the run.

    The decay removes the SGD noise at the end, so the final point sits at the bottom of its basin
    and its exact gradient norm tells a minimum from a point still on its way.
    """
    start = steps * (1 - anneal_frac)
    if step < start:
        return lr
    return lr * anneal_to ** ((step - start) / max(steps - start, 1))


def train(W: torch.Tensor, *, lr: float, batch: int, steps: int, anneal_frac: float,
          anneal_to: float, evals: int, seed: int, mc_at: tuple[int, ...] = (),
          mc_samples: int = 0, dtype=torch.float32, progress: str | None = None) -> dict:
    """Mini-batch SGD from W, all seeds at once, with f evaluated exactly on a log grid of steps.

    Returns the evaluation steps, the exact loss there (seeds x evals), Monte Carlo estimates
    at the steps in `mc_at`, and the final W (float64) with its exact gradient norm. The SGD
    samples and the Monte Carlo samples come from two generators seeded by `seed`, so
    checkpoints never change the trajectory and a run is reproducible bit for bit on a device.
    """
    from tqdm import tqdm

    S, m, d = W.shape
    dev = pick()
    data = torch.Generator(device=dev).manual_seed(seed)
    check = torch.Generator(device=dev).manual_seed(seed + 1)
    Wt = W.transpose(-1, -2).to(dev, dtype).contiguous()
    at = sorted(set(log_grid(steps, evals)) | set(mc_at))
    loss, mc = [], []
    t0 = time.perf_counter()
    step = 0
    with tqdm(total=steps, desc=progress, disable=None if progress else True, leave=False) as bar:
        for target in at:
            while step < target:
                x = torch.randn(S, batch, d, generator=data, dtype=dtype, device=dev)
                sgd_step(Wt, x, lr_at(step, steps, lr, anneal_frac, anneal_to))
                step += 1
            bar.update(target - bar.n)
            W64 = Wt.transpose(-1, -2).double()
            loss.append(exact_loss(W64).cpu())
            if step in mc_at:
                mean, se = mc_loss(W64, mc_samples, check)
                mc.append({"step": step, "mean": mean.cpu(), "se": se.cpu()})
    W64 = Wt.transpose(-1, -2).double()
    return {"steps": at, "loss": torch.stack(loss, 1), "mc": mc, "W": W64.cpu(),
            "grad_norm": exact_grad(W64).flatten(1).norm(dim=1).cpu(),
            "seconds": time.perf_counter() - t0}


def log_grid(steps: int, evals: int) -> list[int]:
    """About `evals` evaluation points, evenly spaced on a log scale from step 0 to `steps`."""
    points = torch.logspace(0, math.log10(steps), evals, dtype=torch.float64).round().long().tolist()
    return sorted({0, *points, steps})


