"""Q5.2 speed, alternatives measured and not taken: ways to close the gap between our trainer and
the ceiling of bench_gan.py (a step's matrix products and Adam updates alone).

Each alternative trains with train.train_epoch's signature and makes its updates: checked first,
in float64 with dropout on, the same batches and the same random stream, against our trainer.
Then it is timed against our trainer in alternating rounds, one thread (the build's setting),
in CPU time. The alternatives:

- by hand: the step written out without autograd: each layer's gradient by its own products,
  leaky ReLU and dropout folded into one saved factor per layer, loss gradients in closed form;
- compiled: torch.compile (inductor) of G's forward and of both losses, with the dropout masks
  drawn outside, in the trainer's order (needs a C++ compiler; skipped, saying why, without one);
- Adam in backward: each parameter's Adam step run by a hook the moment its gradient is ready,
  while the gradient is still in cache, instead of one fused step over all of them afterwards.

Measured while writing it, speed against ours at batch 100 / 1000, two runs of this script:
by hand 0.96x / 0.94x both times, compiled 0.85x both times / not run, Adam in backward
0.97 to 0.98x / 0.98 to 1.00x. None pays: what the step does besides its products is the
dropout masks' random bits, Adam's pass over memory and a few element-wise passes, and none of
these alternatives removes one of them.

    HW4_DATA_DIR=../shared/data/mnist python bench/bench_gan_alternatives.py [--rounds 6] [--skip-compile]
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


# ----------------------------------------------------------------------------- by hand

def _d_forward(D, x, gen):
    """Logits, and per layer its input and the factor d(output)/d(pre-activation): leaky ReLU's
    slope times the dropout mask, drawn as the module draws it."""
    saved, h = [], x
    for layer in D.layers[:-1]:
        a = torch.addmm(layer.bias, h, layer.weight.t())
        mask = D._mask(a, gen)
        factor = torch.where(a > 0, mask, mask * D.slope)
        saved.append((h, factor))
        h = a.mul_(factor)
    saved.append((h, None))
    return torch.addmm(D.layers[-1].bias, h, D.layers[-1].weight.t()), saved


def _g_forward(G, z, keep: bool):
    saved, h = [], z
    for layer in G.layers[:-1]:
        a = torch.addmm(layer.bias, h, layer.weight.t())
        factor = torch.where(a > 0, 1.0, G.slope).to(a.dtype) if keep else None
        saved.append((h, factor))
        h = a.mul_(factor) if keep else F.leaky_relu_(a, G.slope)
    saved.append((h, None))
    return torch.addmm(G.layers[-1].bias, h, G.layers[-1].weight.t()).tanh_(), saved


def _backward(layers, saved, g, weights: bool, to_input: bool):
    """Back from the output gradient g: weight and bias gradients into .grad (if `weights`);
    returns the gradient with respect to the first layer's input (if `to_input`)."""
    for i in reversed(range(len(layers))):
        h, layer = saved[i][0], layers[i]
        if weights:
            layer.weight.grad = g.t() @ h
            layer.bias.grad = g.sum(0)
        if i == 0 and not to_input:
            return None
        g = g @ layer.weight
        if i > 0:
            g.mul_(saved[i - 1][1])
    return g


@torch.no_grad()
def by_hand_epoch(G, D, opt_g, opt_d, images, batch, gen, noise_dim):
    order = torch.randperm(len(images), generator=gen)
    for i in range(len(images) // batch):
        x = images[order[i * batch:(i + 1) * batch]]
        z = torch.randn(batch, noise_dim, generator=gen, dtype=x.dtype)
        fake, _ = _g_forward(G, z, keep=False)
        logits, saved = _d_forward(D, torch.cat((x, fake)), gen)
        g = torch.sigmoid(logits)  # d/dl softplus(-l) = sigmoid(l) - 1, d/dl softplus(l) = sigmoid(l)
        g[:batch] -= 1
        _backward(D.layers, saved, g.div_(batch), weights=True, to_input=False)
        opt_d.step()
        z = torch.randn(batch, noise_dim, generator=gen, dtype=x.dtype)
        fake, g_saved = _g_forward(G, z, keep=True)
        logits, saved = _d_forward(D, fake, gen)
        g = _backward(D.layers, saved, torch.sigmoid(logits).sub_(1).div_(batch), weights=False, to_input=True)
        _backward(G.layers, g_saved, g.mul_(1 - fake * fake), weights=True, to_input=False)
        opt_g.step()


# ----------------------------------------------------------------------------- compiled

def compiled_epoch_factory():
    """An epoch function whose losses run through torch.compile; compiled on its first call."""
    cache = {}

    def losses(G, D):
        if (id(G), id(D)) not in cache:
            def d_forward(h, masks):
                for layer, mask in zip(D.layers[:-1], masks):
                    h = F.leaky_relu(layer(h), D.slope) * mask
                return D.layers[-1](h)

            def d_loss(x, fake, masks):
                logits = d_forward(torch.cat((x, fake)), masks)
                return F.softplus(-logits[:len(x)]).mean() + F.softplus(logits[len(x):]).mean()

            cache[id(G), id(D)] = (torch.compile(G), torch.compile(d_loss),
                                   torch.compile(lambda z, masks: F.softplus(-d_forward(G(z), masks)).mean()))
        return cache[id(G), id(D)]

    def masks(D, rows, gen, dtype):
        return [D._mask(torch.empty(rows, layer.out_features, dtype=dtype), gen) for layer in D.layers[:-1]]

    def epoch(G, D, opt_g, opt_d, images, batch, gen, noise_dim):
        generate, d_loss, g_loss = losses(G, D)
        order = torch.randperm(len(images), generator=gen)
        for i in range(len(images) // batch):
            x = images[order[i * batch:(i + 1) * batch]]
            z = torch.randn(batch, noise_dim, generator=gen, dtype=x.dtype)
            with torch.no_grad():
                fake = generate(z)
            loss = d_loss(x, fake, masks(D, 2 * batch, gen, x.dtype))
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            opt_d.step()
            z = torch.randn(batch, noise_dim, generator=gen, dtype=x.dtype)
            D.requires_grad_(False)
            loss = g_loss(z, masks(D, batch, gen, x.dtype))
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            D.requires_grad_(True)
            opt_g.step()
    return epoch


# ----------------------------------------------------------------------------- Adam in backward

class _Done:
    """The optimizer train.train_epoch calls after backward, with nothing left to do."""

    def zero_grad(self, set_to_none=True):
        pass

    def step(self):
        pass


def adam_in_backward(G, D, lr_g: float, lr_d: float):
    """One fused Adam per parameter, stepped by a hook as soon as its gradient is accumulated."""
    for net, lr in ((G, lr_g), (D, lr_d)):
        for p in net.parameters():
            opt = train.adam([p], lr)

            def step(p, opt=opt):
                opt.step()
                p.grad = None
            p.register_post_accumulate_grad_hook(step)
    return _Done(), _Done()


# ----------------------------------------------------------------------------- measurements

def setups(compile_too: bool):
    """name -> function(G, D) returning (epoch function, opt_g, opt_d) for fresh nets."""
    def plain(epoch):
        return lambda G, D: (epoch, train.adam(G.parameters(), 2e-4), train.adam(D.parameters(), 2e-4))
    out = {"ours": plain(train.train_epoch), "by hand": plain(by_hand_epoch)}
    if compile_too:
        out["compiled"] = plain(compiled_epoch_factory())
    out["Adam in backward"] = lambda G, D: (train.train_epoch, *adam_in_backward(G, D, 2e-4, 2e-4))
    return out


def same_updates(images, steps: int, compile_too: bool) -> dict[str, float]:
    """Largest weight difference from our trainer's after `steps` steps, relative to how far the
    weights moved, for each alternative (float64, dropout on, the same batches and stream)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        x = images[:steps * 100].double()
        start = [m.double() for m in nets.build("A", 0)]
        finals = {}
        for name, make in setups(compile_too).items():
            G, D = (m.double() for m in nets.build("A", 0))
            epoch, opt_g, opt_d = make(G, D)
            epoch(G, D, opt_g, opt_d, x, 100, torch.Generator().manual_seed(0), 100)
            finals[name] = [p.detach() for p in (*G.parameters(), *D.parameters())]
        ours, first = finals.pop("ours"), [p.detach() for m in start for p in m.parameters()]
        moved = max((a - b).abs().max().item() for a, b in zip(ours, first))
        return {name: max((a - b).abs().max().item() for a, b in zip(ps, ours)) / moved
                for name, ps in finals.items()}
    finally:
        torch.set_default_dtype(before)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=6, help="alternating rounds (after one of warm-up)")
    ap.add_argument("--check-steps", type=int, default=3)
    ap.add_argument("--skip-compile", action="store_true", help="leave out torch.compile (slow to compile)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from hw4.q5_2_gan.data import load_mnist

    compile_too = not args.skip_compile
    if compile_too:
        try:
            torch.compile(lambda t: t * 2)(torch.ones(2))
        except Exception as err:  # no C++ compiler, or inductor unavailable here
            print(f"compiled: not measured ({type(err).__name__}: {str(err).splitlines()[0][:100]})")
            compile_too = False
    images = load_mnist(train=True)[0]
    gaps = same_updates(images, args.check_steps, compile_too)
    print(f"same updates as our trainer after {args.check_steps} steps (float64, dropout on), largest difference "
          "relative to how far the weights moved: " +
          ", ".join(f"{name} {gap:.1e} ({'OK' if gap < 1e-9 else 'MISMATCH'})" for name, gap in gaps.items()))
    for batch, steps in ((100, 20), (1000, 3)):
        x = torch.rand(batch * steps, 784) * 2 - 1
        runs = {}
        for name, make in setups(compile_too and batch == 100).items():  # compile once: batch 100
            G, D = nets.build("A", 0)
            epoch, opt_g, opt_d = make(G, D)
            gen = torch.Generator().manual_seed(0)
            runs[name] = (lambda e=epoch, G=G, D=D, og=opt_g, od=opt_d, gen=gen:
                          e(G, D, og, od, x, batch, gen, 100))
        for run in runs.values():
            run()  # warm-up (and, for compiled, the compilation)

        def per_step(run):  # CPU time of one thread: robust to other tenants
            start = time.process_time()
            run()
            return (time.process_time() - start) / steps
        times = alternate(args.rounds, **{name: partial(per_step, run) for name, run in runs.items()})
        base = statistics.median(times["ours"])
        print(f"batch {batch}, 1 thread, ms per step (medians of {args.rounds} rounds; speed against ours): " +
              ", ".join(f"{name} {statistics.median(t) * 1e3:.1f} ({base / statistics.median(t):.2f}x)"
                        for name, t in times.items()))


if __name__ == "__main__":
    main()
