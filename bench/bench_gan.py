"""Q5.2 speed: our GAN trainer against the straightforward reference-style loop, side by side.

The reference loop is written here the way the notebook does it: a DataLoader with per-item
ToTensor/Normalize, a sigmoid D scored by BCELoss on real and fake batches separately, the
D step backpropagating into an undetached G, and the G step computing D's parameter
gradients too. Both run candidate A at batch 100 from the same weights, alternating in rounds
so machine noise hits both alike. Printed: ms per step and per epoch, the ratio (>= 2 is
required), achieved GFLOP/s (counting the matrix products a step needs) against this machine's
2048x2048 float32 matmul peak, the machine's throughput with one process on all cores against
one single-threaded process per core, an estimate of the three full experiments, and a check
that both loops make the same updates (float64, dropout off, the same batches and noise).

    HW4_DATA_DIR=../shared/data/mnist python bench/bench_gan.py [--steps 100] [--rounds 3]
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


def _steps_per_second(threads: int, batch: int, steps: int, start, out) -> None:
    """Child process: train `steps` steps on random images with `threads` threads, after `start`."""
    torch.set_num_threads(threads)
    G, D = nets.build("A", 0)
    opt_g, opt_d = train.adam(G.parameters(), 2e-4), train.adam(D.parameters(), 2e-4)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(batch * steps, 784) * 2 - 1
    train.train_epoch(G, D, opt_g, opt_d, images[:batch * 3], batch, gen, 100)  # warm-up
    start.wait()
    t = time.perf_counter()
    train.train_epoch(G, D, opt_g, opt_d, images, batch, gen, 100)
    out.put(steps / (time.perf_counter() - t))


def side_by_side(batch: int, steps: int) -> tuple[float, float]:
    """Steps per second of the whole machine: one process on all cores, then one single-threaded
    process per core at once (what `doit -n <cores>` with cpu_threads = 1 does)."""
    ctx = multiprocessing.get_context("spawn")  # a fork would inherit torch's thread pool
    cores = torch.get_num_threads()
    rates = []
    for procs, threads in ((1, cores), (cores, 1)):
        start, out = ctx.Barrier(procs + 1), ctx.Queue()
        children = [ctx.Process(target=_steps_per_second, args=(threads, batch, steps, start, out))
                    for _ in range(procs)]
        for c in children:
            c.start()
        start.wait()
        rates.append(sum(out.get() for _ in children))
        for c in children:
            c.join()
    return rates[0], rates[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10, help="steps per timing round at batch 100")
    ap.add_argument("--rounds", type=int, default=20, help="rounds, each timing both loops")
    ap.add_argument("--check-steps", type=int, default=50, help="steps of the same-updates check")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = config.load(config.CONFIG_FILE, "full")
    preset = nets.PRESETS["A"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, MNIST from {data_dir()}")
    images = load_mnist(train=True)[0]  # first: a missing MNIST stops here, saying how to fix it

    peak = matmul_peak()
    print(f"matmul peak (2048x2048 float32): {peak:.1f} GFLOP/s")

    loader = ref_loader(100)
    check = same_updates(loader, args.check_steps)
    ok = max(check["G_rel_diff"], check["D_rel_diff"]) < 1e-6 * min(check["G_rel_change"], check["D_rel_change"])
    print(f"same updates after {check['steps']} steps (float64, dropout off): relative weight difference "
          f"G {check['G_rel_diff']:.2e}, D {check['D_rel_diff']:.2e} (weights moved by "
          f"G {check['G_rel_change']:.2e}, D {check['D_rel_change']:.2e}) -> {'OK' if ok else 'MISMATCH'}")

    G, D = nets.build("A", 0)
    rG, rD = RefG(), RefD()
    copy_weights(G, D, rG, rD)
    opt_g, opt_d = train.adam(G.parameters(), 2e-4), train.adam(D.parameters(), 2e-4)
    r_opt_g, r_opt_d = torch.optim.Adam(rG.parameters(), 2e-4), torch.optim.Adam(rD.parameters(), 2e-4)
    gen = torch.Generator().manual_seed(0)
    stream = batches(loader)
    time_ours(images, G, D, opt_g, opt_d, 100, 5, gen, preset.noise_dim)  # warm-up
    time_reference(stream, rG, rD, r_opt_g, r_opt_d, 5)
    ours, ref = [], []
    for r in range(args.rounds):  # short alternating rounds: both loops see the same machine load
        ref.append(time_reference(stream, rG, rD, r_opt_g, r_opt_d, args.steps))
        ours.append(time_ours(images, G, D, opt_g, opt_d, 100, args.steps, gen, preset.noise_dim))
    ratios = [a / b for a, b in zip(ref, ours)]
    print("  per-round ratios:", " ".join(f"{x:.2f}" for x in ratios))
    t_ref, t_ours = statistics.median(ref), statistics.median(ours)
    speedup = statistics.median(ratios)
    flops = step_flops(preset, 100)
    spe = 60000 // 100
    print(f"batch 100 (medians of {args.rounds} alternating rounds of {args.steps} steps; fastest rounds: "
          f"reference {min(ref) * 1e3:.1f} ms, ours {min(ours) * 1e3:.1f} ms):")
    print(f"  reference: {t_ref * 1e3:7.1f} ms/step = {t_ref * spe:6.1f} s/epoch, "
          f"{flops / t_ref / 1e9:6.1f} GFLOP/s ({flops / t_ref / 1e9 / peak:.0%} of peak)")
    print(f"  ours:      {t_ours * 1e3:7.1f} ms/step = {t_ours * spe:6.1f} s/epoch, "
          f"{flops / t_ours / 1e9:6.1f} GFLOP/s ({flops / t_ours / 1e9 / peak:.0%} of peak)")
    print(f"  speed-up: {speedup:.2f}x (median of the per-round ratios; required >= 2)")

    big = max(3, args.steps // 2)
    t_big = min(time_ours(images, G, D, opt_g, opt_d, 1000, big, gen, preset.noise_dim) for _ in range(3))
    print(f"batch 1000 (fastest of 3 rounds of {big} steps): {t_big * 1e3:.0f} ms/step, {step_flops(preset, 1000) / t_big / 1e9:.1f} GFLOP/s "
          f"({step_flops(preset, 1000) / t_big / 1e9 / peak:.0%} of peak)")

    cores = torch.get_num_threads()
    print(f"the whole machine, one process on {cores} threads against {cores} single-threaded processes at once:")
    for batch, steps in ((100, 20 * args.steps), (1000, 2 * args.steps)):
        one, many = side_by_side(batch, steps)
        print(f"  batch {batch}: {one:.1f} against {many:.1f} steps/s in all ({many / one:.2f}x), "
              f"{step_flops(preset, batch) * many / 1e9:.1f} GFLOP/s "
              f"({step_flops(preset, batch) * many / 1e9 / peak:.0%} of peak) side by side")

    t_judge = judge_seconds(cfg.gan.eval_samples)
    t_fast = min(ours)
    print("full experiments one at a time on all threads, estimated from the fastest rounds (a quiet machine):")
    total, work = 0.0, 0.0
    for name, exp in cfg.gan.experiments.items():
        steps = cfg.gan.train_images // exp.batch * exp.epochs
        per = t_fast if exp.batch == 100 else t_big if exp.batch == 1000 else t_fast * exp.batch / 100
        seconds = steps * per + exp.epochs * t_judge
        total += seconds
        work += steps * step_flops(preset, exp.batch)
        print(f"  {name}: {steps} steps x {per * 1e3:.0f} ms + {exp.epochs} evaluations x {t_judge:.2f} s "
              f"= {seconds / 60:.1f} min")
    print(f"estimated full GAN experiments: {total / 60:.1f} min ({work / 1e12:.0f} TFLOP of matrix "
          f"products, {work / total / 1e9:.0f} GFLOP/s overall = {work / total / 1e9 / peak:.0%} of peak)")
    if not ok or speedup < 2:
        sys.exit("FAILED: " + ("updates differ; " if not ok else "") +
                 ("speed-up below 2x" if speedup < 2 else ""))


if __name__ == "__main__":
    main()
