"""Q5.2 speed: our GAN trainer against the straightforward reference-style loop, side by side.

The reference loop is written here the way the notebook does it: a DataLoader with per-item
ToTensor/Normalize, a sigmoid D scored by BCELoss on real and fake batches separately, the
D step backpropagating into an undetached G, and the G step computing D's parameter
gradients too. Both start from the same weights and are timed in alternating rounds, so
machine noise hits both alike. Printed, after a check that both loops make the same updates
(float64, dropout off, the same batches and noise):

1. one process on all threads, ours against the reference, at batch 100 and 1000: ms per
   step, the ratio, and achieved GFLOP/s (counting the matrix products a step needs) against
   this machine's 2048x2048 float32 matmul peak on those threads;
2. the whole machine's steps per second with one process on all threads (how the experiments
   ran before: one after another) against one single-threaded process per core at once (how
   the build runs them now), and the latter against the reference loop;
3. the fraction of the peak each full experiment's steps reach, before and after, and overall;
4. the ceiling: the same for a program that does a step's matrix products and its Adam updates
   and nothing else (no activations, dropout, losses or statistics), in the trainer's order and
   layouts, in the build's setting. No trainer built on these kernels takes less time per step,
   so its fraction of the peak bounds what any of them can reach on this machine. Measured while
   writing it, two runs of 12 rounds: the ceiling 59 to 61% of the peak at batch 100, 76 to 84% at
   1000, 67 to 71% over the three experiments; our trainer 46 to 51%, 64 to 69%, 54 to 60%, that is
   79 to 83% of the ceiling's speed.
   bench_gan_alternatives.py measures what was tried to close that gap.

    HW4_DATA_DIR=../shared/data/mnist python bench/bench_gan.py [--steps 10] [--rounds 12]

It exits non-zero if the updates differ or the build's setting is below 2.5 times the
reference loop at batch 100. Run it on a quiet machine: other work on the cores bends the
side-by-side numbers most.
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from hw4.core import config  # noqa: E402
from hw4.q5_2_gan import nets, train  # noqa: E402
from hw4.q5_2_gan.classifier import Classifier  # noqa: E402
from hw4.q5_2_gan.data import data_dir, load_mnist  # noqa: E402
from hw4.q5_2_gan.metrics import quality  # noqa: E402
from peak import matmul_peak  # noqa: E402  (bench/peak.py, beside this script)


# ----------------------------------------------------------------------------- the reference

class RefG(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(100, 256), nn.Linear(256, 512)
        self.fc3, self.fc4 = nn.Linear(512, 1024), nn.Linear(1024, 784)

    def forward(self, x):
        x = F.leaky_relu(self.fc1(x), 0.2)
        x = F.leaky_relu(self.fc2(x), 0.2)
        x = F.leaky_relu(self.fc3(x), 0.2)
        return torch.tanh(self.fc4(x))


class RefD(nn.Module):
    def __init__(self, p=0.3):
        super().__init__()
        self.p = p
        self.fc1, self.fc2 = nn.Linear(784, 1024), nn.Linear(1024, 512)
        self.fc3, self.fc4 = nn.Linear(512, 256), nn.Linear(256, 1)

    def forward(self, x):
        x = F.dropout(F.leaky_relu(self.fc1(x), 0.2), self.p)
        x = F.dropout(F.leaky_relu(self.fc2(x), 0.2), self.p)
        x = F.dropout(F.leaky_relu(self.fc3(x), 0.2), self.p)
        return torch.sigmoid(self.fc4(x))


def ref_step(G, D, opt_g, opt_d, x, criterion=nn.BCELoss()):
    """One D step then one G step, as the notebook writes them."""
    n = x.shape[0]
    D.zero_grad()
    x_real, y_real = x.view(-1, 784), torch.ones(n, 1)
    d_real_loss = criterion(D(x_real), y_real)
    z = torch.randn(n, 100)
    x_fake, y_fake = G(z), torch.zeros(n, 1)
    d_fake_loss = criterion(D(x_fake), y_fake)
    d_loss = d_real_loss + d_fake_loss
    d_loss.backward()
    opt_d.step()

    G.zero_grad()
    z = torch.randn(n, 100)
    g_loss = criterion(D(G(z)), torch.ones(n, 1))
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def ref_loader(batch):
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean=(0.5,), std=(0.5,))])
    dataset = datasets.MNIST(str(data_dir()), train=True, transform=tf, download=False)
    return torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True)


def copy_weights(src_g, src_d, dst_g, dst_d):
    """Our nets (ModuleList of Linear) into the reference's (fc1..fc4), or back."""
    def pairs(a, b):
        la = list(a.layers) if hasattr(a, "layers") else [a.fc1, a.fc2, a.fc3, a.fc4]
        lb = list(b.layers) if hasattr(b, "layers") else [b.fc1, b.fc2, b.fc3, b.fc4]
        return zip(la, lb)
    with torch.no_grad():
        for a, b in [*pairs(src_g, dst_g), *pairs(src_d, dst_d)]:
            b.weight.copy_(a.weight)
            b.bias.copy_(a.bias)


# ----------------------------------------------------------------------------- arithmetic

def step_flops(preset: nets.Preset, batch: int) -> float:
    """Floating-point operations of the matrix products one step needs (2 per multiply-add):
    D step: G forward, D forward on 2B images, D's weight gradients and its input gradients
    (except the first layer's); G step: G and D forward, D's input gradients, G's weight
    gradients and input gradients (except the first layer's)."""
    g = (preset.noise_dim, *preset.g_hidden, nets.IMAGE)
    d = (nets.IMAGE, *preset.d_hidden, 1)
    gm = sum(a * b for a, b in zip(g[:-1], g[1:]))
    dm = sum(a * b for a, b in zip(d[:-1], d[1:]))
    d_step = gm + 2 * dm + 2 * dm + 2 * (dm - d[0] * d[1])
    g_step = gm + dm + dm + gm + (gm - g[0] * g[1])
    return 2.0 * batch * (d_step + g_step)


class Ceiling:
    """A step's matrix products and Adam updates and nothing else, on random inputs: the
    trainer's products in its order and layouts (forward addmm with W.t(), weight gradients
    g.t() @ h, input gradients g @ W; the same count as step_flops), then the same fused Adam.
    The weight gradients are written into buffers kept from step to step, so the ceiling does
    not pay for fresh memory the trainer's allocator would not hand it either."""

    def __init__(self, batch: int, preset: nets.Preset = nets.PRESETS["A"]):
        G, D = nets.build("A", 0)
        self.g, self.d = list(G.layers), list(D.layers)
        for p in (*G.parameters(), *D.parameters()):
            p.grad = torch.zeros_like(p)  # the bias gradients stay zero; their sums are not products
        self.opt_g, self.opt_d = train.adam(G.parameters(), 2e-4), train.adam(D.parameters(), 2e-4)
        self.x = torch.rand(batch, nets.IMAGE) * 2 - 1
        self.z = torch.randn(batch, preset.noise_dim)
        self.d_out, self.g_out = torch.randn(2 * batch, 1), torch.randn(batch, 1)  # dloss/dlogits

    @staticmethod
    def forward(layers, h):
        inputs = []
        for layer in layers:
            inputs.append(h)
            h = torch.addmm(layer.bias, h, layer.weight.t())
        return inputs, h

    @staticmethod
    def backward(layers, inputs, g, to_input: bool):
        for i in reversed(range(len(layers))):
            torch.mm(g.t(), inputs[i], out=layers[i].weight.grad)  # no allocation: nothing but the product
            if i > 0 or to_input:
                g = g @ layers[i].weight
        return g

    @torch.no_grad()
    def step(self):
        _, fake = self.forward(self.g, self.z)                       # D step
        inputs, _ = self.forward(self.d, torch.cat((self.x, fake)))
        self.backward(self.d, inputs, self.d_out, to_input=False)
        self.opt_d.step()
        g_inputs, fake = self.forward(self.g, self.z)                # G step
        self.forward(self.d, fake)
        g = self.g_out
        for layer in reversed(self.d):                               # D is frozen: input gradients only
            g = g @ layer.weight
        self.backward(self.g, g_inputs, g, to_input=False)
        self.opt_g.step()


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- measurements

def batches(loader):
    """The loader's batches, epoch after epoch (a new shuffle each epoch, as in training)."""
    while True:
        yield from loader


def time_reference(stream, G, D, opt_g, opt_d, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        x, _ = next(stream)
        ref_step(G, D, opt_g, opt_d, x)
    return (time.perf_counter() - start) / steps


def time_ours(images, G, D, opt_g, opt_d, batch: int, steps: int, gen, noise_dim: int) -> float:
    subset = images[torch.randperm(len(images), generator=gen)[:steps * batch]]
    start = time.perf_counter()
    stats = train.train_epoch(G, D, opt_g, opt_d, subset, batch, gen, noise_dim)
    stats.sum().item()
    return (time.perf_counter() - start) / steps


def same_updates(loader, steps: int, seed: int = 0) -> dict:
    """Both loops from the same weights on the same batches with dropout off: the noise streams
    then coincide (each step draws z for D, then z for G), so the weights must agree up to
    floating-point rounding. In float64, because Adam divides by the root of tiny second moments
    and so magnifies float32 rounding into differences of the order of its step size."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _same_updates(loader, steps, seed)
    finally:
        torch.set_default_dtype(before)


def _same_updates(loader, steps: int, seed: int) -> dict:
    preset = dataclasses.replace(nets.PRESETS["A"], dropout=0.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G, D = nets.Generator(preset), nets.Discriminator(preset)
    rG, rD = RefG(), RefD(p=0.0)
    copy_weights(G, D, rG, rD)
    batches = [x.view(-1, 784).double() for x, _ in _take(loader, steps)]

    opt_g, opt_d = train.adam(G.parameters(), 2e-4), train.adam(D.parameters(), 2e-4)
    gen = torch.Generator().manual_seed(seed)
    for x in batches:
        train.d_step(G, D, opt_d, x, gen, preset.noise_dim)
        train.g_step(G, D, opt_g, len(x), gen, preset.noise_dim, x.device)

    r_opt_g = torch.optim.Adam(rG.parameters(), lr=2e-4)
    r_opt_d = torch.optim.Adam(rD.parameters(), lr=2e-4)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for x in batches:
            ref_step(rG, rD, r_opt_g, r_opt_d, x)

    def gap(a, b):
        la, lb = list(a.parameters()), list(b.parameters())
        moved = max((p - q).abs().max().item() for p, q in zip(la, lb))
        scale = max(p.abs().max().item() for p in la)
        return moved / scale
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        start_g, start_d = nets.Generator(preset), nets.Discriminator(preset)
    return {"steps": steps, "G_rel_diff": gap(G, rG), "D_rel_diff": gap(D, rD),
            "G_rel_change": gap(G, start_g), "D_rel_change": gap(D, start_d)}


def _take(loader, n):
    it = iter(loader)
    return [next(it) for _ in range(n)]


def judge_seconds(samples: int) -> float:
    """One per-epoch quality evaluation: generate `samples` images and score them."""
    preset = nets.PRESETS["A"]
    G = nets.Generator(preset)
    model = Classifier().eval()
    feats = torch.randn(2000, 128)
    judge = (model, feats.double().mean(0), torch.cov(feats.double().T))
    noise = torch.randn(samples, preset.noise_dim)
    quality(train.generate(G, noise), judge, 0.01)
    return min(_time(lambda: quality(train.generate(G, noise), judge, 0.01)) for _ in range(3))


def _worker(threads: int, batch: int, program: str, go, out) -> None:
    """Child process: with `threads` threads, run `steps` steps of `program` ("trainer": our
    trainer on random images; "ceiling": Ceiling) whenever `go` hands it a step count (None:
    stop), and put its steps per second on `out`."""
    torch.set_num_threads(threads)
    if program == "ceiling":
        ceiling = Ceiling(batch)

        def run(steps):
            for _ in range(steps):
                ceiling.step()
    else:
        G, D = nets.build("A", 0)
        opt_g, opt_d = train.adam(G.parameters(), 2e-4), train.adam(D.parameters(), 2e-4)
        gen = torch.Generator().manual_seed(0)
        images = torch.rand(batch * 40, 784) * 2 - 1

        def run(steps):
            train.train_epoch(G, D, opt_g, opt_d, images[:batch * steps], batch, gen, 100)
    run(3)  # warm-up
    out.put(None)
    while (steps := go.get()) is not None:
        t = time.perf_counter()
        run(steps)
        out.put(steps / (time.perf_counter() - t))


def side_by_side(batch: int, steps: int, rounds: int) -> tuple[list[float], list[float], list[float]]:
    """Steps per second of the whole machine, in alternating rounds: our trainer as one process
    on all cores (how the experiments ran before, one after another), then as one single-threaded
    process per core at once (how the build runs them now), then the ceiling program in the
    build's setting. Returns the three lists of rates."""
    ctx = multiprocessing.get_context("spawn")  # a fork would inherit torch's thread pool
    cores = torch.get_num_threads()
    setups = []
    for procs, threads, program in ((1, cores, "trainer"), (cores, 1, "trainer"), (cores, 1, "ceiling")):
        out = ctx.Queue()
        gos = [ctx.Queue() for _ in range(procs)]
        children = [ctx.Process(target=_worker, args=(threads, batch, program, go, out)) for go in gos]
        for c in children:
            c.start()
        for _ in children:
            out.get()  # warmed up
        setups.append((gos, out, children))
    rates = ([], [], [])
    for _ in range(rounds):
        for k, (gos, out, _) in enumerate(setups):
            for go in gos:
                go.put(steps)
            rates[k].append(sum(out.get() for _ in gos))
    for gos, _, children in setups:
        for go in gos:
            go.put(None)
        for c in children:
            c.join()
    return rates


def alternate(rounds: int, **timers) -> dict[str, list[float]]:
    """Seconds per step of each timer, in alternating rounds, so machine noise hits all alike."""
    times = {name: [] for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            times[name].append(timer())
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10, help="steps per timing round at batch 100 (a tenth at 1000)")
    ap.add_argument("--rounds", type=int, default=12, help="alternating rounds of each comparison")
    ap.add_argument("--check-steps", type=int, default=50, help="steps of the same-updates check")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default, all cores)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = config.load(config.CONFIG_FILE, "full")
    preset = nets.PRESETS["A"]
    cores = torch.get_num_threads()
    print(f"torch {torch.__version__}, {cores} threads, MNIST from {data_dir()}")
    images = load_mnist(train=True)[0]  # first: a missing MNIST stops here, saying how to fix it

    torch.set_num_threads(1)
    peak1 = matmul_peak()
    torch.set_num_threads(cores)
    peak = matmul_peak()
    print(f"matmul peak (2048x2048 float32): {peak:.1f} GFLOP/s on {cores} threads, {peak1:.1f} on one")

    check = same_updates(ref_loader(100), args.check_steps)
    ok = max(check["G_rel_diff"], check["D_rel_diff"]) < 1e-6 * min(check["G_rel_change"], check["D_rel_change"])
    print(f"same updates after {check['steps']} steps (float64, dropout off): relative weight difference "
          f"G {check['G_rel_diff']:.2e}, D {check['D_rel_diff']:.2e} (weights moved by "
          f"G {check['G_rel_change']:.2e}, D {check['D_rel_change']:.2e}) -> {'OK' if ok else 'MISMATCH'}")

    print(f"\n1. one process on {cores} threads, ours against the reference loop (medians of {args.rounds} "
          f"alternating rounds):")
    per_step = {}
    for batch, steps in ((100, args.steps), (1000, max(2, args.steps // 10))):
        G, D = nets.build("A", 0)
        rG, rD = RefG(), RefD()
        copy_weights(G, D, rG, rD)
        opt_g, opt_d = train.adam(G.parameters(), 2e-4), train.adam(D.parameters(), 2e-4)
        r_opt_g, r_opt_d = torch.optim.Adam(rG.parameters(), 2e-4), torch.optim.Adam(rD.parameters(), 2e-4)
        gen = torch.Generator().manual_seed(0)
        stream = batches(ref_loader(batch))
        time_ours(images, G, D, opt_g, opt_d, batch, 2, gen, preset.noise_dim)  # warm-up
        time_reference(stream, rG, rD, r_opt_g, r_opt_d, 2)
        t = alternate(args.rounds,
                      reference=lambda: time_reference(stream, rG, rD, r_opt_g, r_opt_d, steps),
                      ours=lambda: time_ours(images, G, D, opt_g, opt_d, batch, steps, gen, preset.noise_dim))
        ratio = statistics.median(a / b for a, b in zip(t["reference"], t["ours"]))
        ref, ours = statistics.median(t["reference"]), statistics.median(t["ours"])
        per_step[batch] = {"reference": ref, "ours": ours}
        flops = step_flops(preset, batch)
        print(f"  batch {batch:4d}: reference {ref * 1e3:6.1f} ms/step, ours {ours * 1e3:6.1f} ms/step "
              f"({flops / ours / 1e9:.0f} GFLOP/s, {flops / ours / 1e9 / peak:.0%} of peak): {ratio:.2f}x")

    print(f"\n2. the whole machine: one process on {cores} threads (before) against {cores} single-threaded "
          f"processes at once (the build now), and the ceiling program in the build's setting, medians of "
          f"{args.rounds} alternating rounds:")
    machine = {}
    for batch, steps in ((100, 2 * args.steps), (1000, max(2, args.steps // 5))):
        one, many, ceiling = side_by_side(batch, steps, args.rounds)
        gain = statistics.median(b / a for a, b in zip(one, many))
        share = statistics.median(b / c for b, c in zip(many, ceiling))
        one, many, ceiling = statistics.median(one), statistics.median(many), statistics.median(ceiling)
        machine[batch] = {"before": 1 / one, "after": 1 / many, "ceiling": 1 / ceiling}  # machine seconds per step
        flops = step_flops(preset, batch)
        print(f"  batch {batch:4d}: {one:.1f} against {many:.1f} steps/s ({gain:.2f}x); side by side "
              f"{flops * many / 1e9:.0f} GFLOP/s ({flops * many / 1e9 / peak:.0%} of the {cores}-thread peak), "
              f"{per_step[batch]['reference'] * many:.2f}x the reference loop's steps on {cores} threads")
        print(f"              ceiling {ceiling:.1f} steps/s, {flops * ceiling / 1e9:.0f} GFLOP/s "
              f"({flops * ceiling / 1e9 / peak:.0%} of peak); the trainer runs at {share:.0%} of the ceiling's speed")
    ratio100 = per_step[100]["reference"] * (1 / machine[100]["after"])

    t_judge = judge_seconds(cfg.gan.eval_samples)
    print(f"\n3. the full experiments, from the medians above (steps only; each epoch adds an evaluation of "
          f"{t_judge:.2f} s on {cores} threads), and 4. the ceiling:")
    setups = ("before", "after", "ceiling")
    totals = {setup: [0.0, 0.0] for setup in setups}  # [step seconds of the machine, flops]
    for name, exp in cfg.gan.experiments.items():
        steps = cfg.gan.train_images // exp.batch * exp.epochs
        flops = steps * step_flops(preset, exp.batch)
        line = []
        for setup in setups:
            seconds = steps * machine[exp.batch][setup]  # machine time: after, the cores share the work
            totals[setup][0] += seconds
            totals[setup][1] += flops
            line.append(f"{setup} {flops / seconds / 1e9 / peak:.0%}")
        print(f"  {name} (batch {exp.batch}, {steps} steps): fraction of the {cores}-thread peak " + ", ".join(line))
    for setup, (seconds, flops) in totals.items():
        print(f"  overall {setup}: {flops / 1e12:.0f} TFLOP in {seconds / 60:.1f} machine-minutes of steps: "
              f"{flops / seconds / 1e9:.0f} GFLOP/s = {flops / seconds / 1e9 / peak:.0%} of peak")
    print(f"\nbatch 100, the build's setting against the reference loop on {cores} threads: {ratio100:.2f}x "
          f"(required >= 2.5)")
    if not ok or ratio100 < 2.5:
        sys.exit("FAILED: " + ("updates differ; " if not ok else "") +
                 ("below 2.5x the reference at batch 100" if ratio100 < 2.5 else ""))


if __name__ == "__main__":
    main()
