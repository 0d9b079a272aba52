"""Q5.2 speed, an alternative not taken: train experiments 1 and 2 as one batched program.

Experiments 1 and 2 share the batch size, the data order, the noise and the dropout masks; only
their learning rates differ. Stacked, each layer of both generators (and of both discriminators)
is one batched matrix product, the random draws are made once, and a per-copy Adam applies each
copy's own learning rate. Printed: a check that the stacked pair makes exactly the updates of
two separate runs of our trainer (float64, dropout on, N steps), and the time per experiment-step
of our single-experiment trainer, of the stacked code with one copy, and of the stacked pair,
in alternating rounds. With one thread per experiment (how the build runs them), measured while
writing it: the pair 5% faster per experiment-step than our trainer at batch 100 (4 of those
points with one copy already: the batched product's kernels), 3% at batch 1000. Running the
experiments side by side in separate processes, one core each, is what pays (bench_gan.py);
the build does that, and this is a few percent more on top.

    HW4_DATA_DIR=../shared/data/mnist python bench/bench_gan_stacked.py [--threads 1] [--rounds 8]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from hw4.q5_2_gan import nets, train  # noqa: E402
from bench_gan import alternate  # noqa: E402  (beside this script)

G_SLOPE = nets.PRESETS["A"].g_slope


def stack(modules) -> list[list[torch.Tensor]]:
    """Layer i of K networks as [weight (K, in, out), bias (K, 1, out)], leaves that want gradients."""
    return [[torch.stack([m.layers[i].weight.detach().T for m in modules]).contiguous().requires_grad_(),
             torch.stack([m.layers[i].bias.detach()[None] for m in modules]).contiguous().requires_grad_()]
            for i in range(len(modules[0].layers))]


def generate(z, layers, slope):
    """K generators on the same noise (n, noise_dim) -> (K, n, 784)."""
    h = z.expand(len(layers[0][0]), *z.shape)
    for w, b in layers[:-1]:
        h = F.leaky_relu(torch.baddbmm(b, h, w), slope, inplace=True)
    w, b = layers[-1]
    return torch.tanh(torch.baddbmm(b, h, w))


def discriminate(x, layers, D, gen):
    """K discriminators, copy k on x[k]; one dropout mask per layer (D's own), shared by the copies."""
    h = x
    for w, b in layers[:-1]:
        h = F.leaky_relu(torch.baddbmm(b, h, w), D.slope)
        if D.dropout > 0:
            h = h * D._mask(torch.empty(h.shape[1:], dtype=h.dtype), gen)
    w, b = layers[-1]
    return torch.baddbmm(b, h, w)


class StackedAdam:
    """torch's fused Adam with copy k's slices as parameter group k, at its own learning rate."""

    def __init__(self, stacked, lrs):
        self.stacked = stacked
        self.slices = [[t.detach()[k] for t in stacked] for k in range(len(lrs))]
        self.opt = torch.optim.Adam([{"params": s, "lr": lr} for s, lr in zip(self.slices, lrs)], fused=True)

    def step(self):
        for k, slices in enumerate(self.slices):
            for s, t in zip(slices, self.stacked):
                s.grad = t.grad[k]
        self.opt.step()
        for t in self.stacked:
            t.grad = None


def stacked_epoch(g, d, D, opt_g, opt_d, images, batch, gen, noise_dim):
    """train.train_epoch for K stacked copies: the same batches, noise and masks for all."""
    order = torch.randperm(len(images), generator=gen)
    frozen = [t for layer in d for t in layer]
    for i in range(len(images) // batch):
        x = images[order[i * batch:(i + 1) * batch]]
        z = torch.randn(batch, noise_dim, generator=gen, dtype=x.dtype)
        with torch.no_grad():
            fake = generate(z, g, G_SLOPE)
        logits = discriminate(torch.cat((x.expand(len(fake), *x.shape), fake), 1), d, D, gen)
        (F.softplus(-logits[:, :batch]).mean((1, 2)) + F.softplus(logits[:, batch:]).mean((1, 2))).sum().backward()
        opt_d.step()
        z = torch.randn(batch, noise_dim, generator=gen, dtype=x.dtype)
        for t in frozen:
            t.requires_grad_(False)
        F.softplus(-discriminate(generate(z, g, G_SLOPE), d, D, gen)).mean((1, 2)).sum().backward()
        for t in frozen:
            t.requires_grad_(True)
        opt_g.step()


def same_updates(images, steps: int, lrs=((2e-4, 2e-4), (1e-4, 1e-3)), batch: int = 100) -> float:
    """Largest relative difference (to how far the weights moved) between the stacked pair and two
    separate runs of train.train_epoch, in float64."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        x = images[:steps * batch].double()
        singles = []
        for lr_g, lr_d in lrs:
            G, D = nets.build("A", 0)
            G, D = G.double(), D.double()
            train.train_epoch(G, D, train.adam(G.parameters(), lr_g), train.adam(D.parameters(), lr_d), x, batch,
                              torch.Generator().manual_seed(0), 100)
            singles.append((G, D))
        G0, D0 = (m.double() for m in nets.build("A", 0))
        g, d = stack([G0] * len(lrs)), stack([D0] * len(lrs))
        stacked_epoch(g, d, D0, StackedAdam([t for l in g for t in l], [a for a, _ in lrs]),
                      StackedAdam([t for l in d for t in l], [b for _, b in lrs]), x, batch,
                      torch.Generator().manual_seed(0), 100)
        worst = 0.0
        for k, (G, D) in enumerate(singles):
            for layers, net, start in ((g, G, G0), (d, D, D0)):
                for (w, b), layer, first in zip(layers, net.layers, start.layers):
                    moved = (layer.weight - first.weight).abs().max().item()
                    worst = max(worst, (w[k].T - layer.weight).abs().max().item() / moved,
                                (b[k, 0] - layer.bias).abs().max().item() / moved)
        return worst
    finally:
        torch.set_default_dtype(before)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the build runs the GAN on 1)")
    ap.add_argument("--rounds", type=int, default=8, help="alternating rounds")
    ap.add_argument("--check-steps", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from hw4.q5_2_gan.data import load_mnist

    images = load_mnist(train=True)[0]
    worst = same_updates(images, args.check_steps)
    print(f"stacked pair against two separate runs, {args.check_steps} steps (float64, dropout on): largest "
          f"difference {worst:.1e} of how far the weights moved -> {'OK' if worst < 1e-9 else 'MISMATCH'}")
    clock = time.process_time if args.threads == 1 else time.perf_counter  # CPU time: robust to other tenants
    for batch, steps in ((100, 20), (1000, 3)):
        x = torch.rand(batch * steps, 784) * 2 - 1
        runs = {}
        G, D = nets.build("A", 0)
        opts = train.adam(G.parameters(), 2e-4), train.adam(D.parameters(), 2e-4)
        gen = torch.Generator().manual_seed(0)
        runs["single"] = (1, lambda G=G, D=D, o=opts, gen=gen: train.train_epoch(G, D, *o, x, batch, gen, 100))
        for copies in (1, 2):
            G, D = nets.build("A", 0)
            g, d = stack([G] * copies), stack([D] * copies)
            og = StackedAdam([t for l in g for t in l], [2e-4] * copies)
            od = StackedAdam([t for l in d for t in l], [2e-4] * copies)
            gen = torch.Generator().manual_seed(0)
            runs[f"stacked x{copies}"] = (copies, lambda g=g, d=d, D=D, og=og, od=od, gen=gen:
                                          stacked_epoch(g, d, D, og, od, x, batch, gen, 100))
        for _, run in runs.values():
            run()  # warm-up

        def per_step(copies, run):
            start = clock()
            run()
            return (clock() - start) / steps / copies
        times = alternate(args.rounds, **{name: partial(per_step, *run) for name, run in runs.items()})
        base = statistics.median(times["single"])
        print(f"batch {batch}, {args.threads} thread(s), ms per experiment-step (medians of {args.rounds} rounds): " +
              ", ".join(f"{name} {statistics.median(t) * 1e3:.1f} ({base / statistics.median(t):.3f}x)"
                        for name, t in times.items()))


if __name__ == "__main__":
    main()
