"""GAN training: one discriminator step then one generator step per minibatch.

The objective is the min-max game of Goodfellow et al. (2014),
    min_G max_D  E_x log D(x) + E_z log(1 - D(G(z))),
with the generator's non-saturating loss -log D(G(z)), as in the reference notebook.
D returns logits l, so BCE(sigmoid(l), 1) = softplus(-l) and BCE(sigmoid(l), 0) = softplus(l):
the same losses, without overflow when D is confident.

What makes it fast on a CPU, with the same updates as the straightforward loop:
- the data is one tensor, shuffled by a permutation of indices: no DataLoader, no per-item work;
- the D step runs G without autograd (its gradient would be discarded) and scores real and
  fake images in one batch; the G step freezes D's parameters (only the gradient with
  respect to D's input is needed);
- dropout masks take 31 random bits per unit, two units per 64-bit draw, compared and scaled
  in place (the serial CPU generator is the largest cost after the matrix products); Adam is
  the fused kernel.

All randomness (shuffles, noise, dropout) comes from one explicit generator whose state is
checkpointed with the weights after every epoch, so a resumed run repeats, bit for bit on
CPU, what an uninterrupted run would have done.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from torch.nn import functional as F
from tqdm import tqdm

from hw4.core import config, store
from hw4.core.errors import Hw4Error
from hw4.q5_2_gan import experiment_settings, nets

STATS = ("d_loss", "g_loss", "d_real", "d_fake")  # per step: losses, mean D(x), mean D(G(z))


class Diverged(Hw4Error):
    """Training produced a non-finite loss: the run stops rather than train on NaNs."""


def adam(params, lr: float):
    """Adam with PyTorch's default betas (0.9, 0.999), as the reference uses."""
    return torch.optim.Adam(params, lr=lr, fused=True)


def d_step(G, D, opt_d, x, gen, noise_dim: int):
    """Ascend log D(x) + log(1 - D(G(z))) in D's parameters. Returns (loss, mean D(x), mean D(G(z)))."""
    n = len(x)
    z = torch.randn(n, noise_dim, generator=gen, device=x.device)
    with torch.no_grad():
        fake = G(z)
    logits = D(torch.cat((x, fake)), gen)
    real, fake = logits[:n], logits[n:]
    loss = F.softplus(-real).mean() + F.softplus(fake).mean()
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    with torch.no_grad():
        return loss.detach(), torch.sigmoid(real).mean(), torch.sigmoid(fake).mean()


def g_step(G, D, opt_g, n: int, gen, noise_dim: int, device):
    """Descend -log D(G(z)) (the non-saturating generator loss) in G's parameters."""
    z = torch.randn(n, noise_dim, generator=gen, device=device)
    D.requires_grad_(False)
    try:
        loss = F.softplus(-D(G(z), gen)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
    finally:
        D.requires_grad_(True)
    opt_g.step()
    return loss.detach()


def train_epoch(G, D, opt_g, opt_d, images, batch: int, gen, noise_dim: int, bar=None):
    """One pass over a fresh permutation of `images`; returns per-step stats (steps, 4)."""
    steps = len(images) // batch
    order = torch.randperm(len(images), generator=gen, device=images.device)
    stats = torch.empty(steps, len(STATS), device=images.device)
    for i in range(steps):
        x = images[order[i * batch:(i + 1) * batch]]
        d_loss, d_real, d_fake = d_step(G, D, opt_d, x, gen, noise_dim)
        g_loss = g_step(G, D, opt_g, batch, gen, noise_dim, images.device)
        stats[i] = torch.stack((d_loss, g_loss, d_real, d_fake))
        if bar is not None:
            bar.update()
    return stats


@torch.no_grad()
def generate(G, noise, chunk: int = 5000):
    return torch.cat([G(z) for z in noise.split(chunk)])


def to_uint8(images):
    """[-1, 1] images (N, 784) to uint8 (N, 28, 28): what a picture shows, at a quarter the size."""
    return images.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).reshape(-1, 28, 28).cpu()


def train(images, *, preset: str, seed: int, lr_g: float, lr_d: float, batch: int, epochs: int,
          curve_points: int, fixed_noise, judge=None, checkpoint: Path | str | None = None,
          key: str = "", label: str = "gan", progress: bool | None = None) -> dict:
    """Train a GAN on `images` (N, 784) in [-1, 1] and return its history.

    After every epoch: the epoch's mean losses and D outputs, `curve_points` finer means for
    the training curves, the samples G makes from `fixed_noise`, `judge(G)` (a dict of
    sample-quality numbers, if given), and a checkpoint (if a path is given). A checkpoint
    whose `key` and settings match is resumed from; any other is ignored.
    Returns {"epochs": [...], "curves": {...}, "samples": uint8 (epochs, n, 28, 28), "G", "D"}.
    """
    device = images.device
    noise_dim = nets.PRESETS[preset].noise_dim
    ident = config.digest({"key": key, "preset": preset, "seed": seed, "lr_g": lr_g, "lr_d": lr_d,
                           "batch": batch, "epochs": epochs, "curve_points": curve_points,
                           "images": len(images)})
    G, D = nets.build(preset, seed, device)
    opt_g, opt_d = adam(G.parameters(), lr_g), adam(D.parameters(), lr_d)
    gen = torch.Generator(device).manual_seed(seed)
    history, curves, samples = [], {"epoch": [], **{s: [] for s in STATS}}, []

    saved = store.load_checkpoint(checkpoint)  # None if absent; set aside if damaged
    if saved is not None and saved.get("ident") == ident:
        G.load_state_dict(saved["G"])
        D.load_state_dict(saved["D"])
        opt_g.load_state_dict(saved["opt_g"])
        opt_d.load_state_dict(saved["opt_d"])
        gen.set_state(saved["rng"])
        history, curves, samples = saved["history"], saved["curves"], saved["samples"]
    elif saved is not None:
        tqdm.write(f"{label}: ignoring {checkpoint}, written with other settings; starting afresh")

    steps = len(images) // batch
    if steps == 0:
        raise Hw4Error(f"{label}: batch {batch} is larger than the {len(images)} training images")
    bar = tqdm(total=epochs * steps, initial=len(history) * steps, desc=label,
               disable=None if progress is None else not progress)
    for epoch in range(len(history) + 1, epochs + 1):
        start = time.perf_counter()
        stats = train_epoch(G, D, opt_g, opt_d, images, batch, gen, noise_dim, bar)
        seconds = time.perf_counter() - start
        try:
            _check_finite(stats, epoch, label)
        except Diverged as err:
            err.history = history  # the epochs before, for the results file
            raise
        means = stats.mean(0).tolist()
        for k, part in enumerate(stats.tensor_split(min(curve_points, steps))):
            curves["epoch"].append(epoch - 1 + (k + 1) / min(curve_points, steps))
            for name, value in zip(STATS, part.mean(0).tolist()):
                curves[name].append(value)
        samples.append(to_uint8(generate(G, fixed_noise)))
        spread = stats[:, :2].std(0).tolist() if steps > 1 else [0.0, 0.0]
        record = {"epoch": epoch, "step": epoch * steps, **dict(zip(STATS, means)),
                  "d_loss_std": spread[0], "g_loss_std": spread[1],  # across the epoch's updates
                  "train_seconds": round(seconds, 2)}
        if judge is not None:
            record.update(judge(G))
        history.append(record)
        bar.set_postfix({k: f"{record[k]:.3g}" for k in ("d_loss", "g_loss", "fd") if k in record})
        if checkpoint:
            store.save_torch(checkpoint, {"ident": ident, "G": G.state_dict(), "D": D.state_dict(),
                                          "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                                          "rng": gen.get_state(), "history": history,
                                          "curves": curves, "samples": samples})
    bar.close()
    return {"epochs": history, "curves": curves, "samples": torch.stack(samples), "G": G, "D": D}


def _check_finite(stats, epoch: int, label: str):
    bad = ~torch.isfinite(stats)
    if bad.any():
        step, col = (int(i) for i in bad.nonzero()[0])
        raise Diverged(f"{label}: training diverged in epoch {epoch} at step {step + 1}: "
                       f"{STATS[col]} is {stats[step, col].item()}; lower the learning rates in "
                       f"hw4.toml [gan.experiments.{label}] or check the data")


def fixed_noise(seed: int, noise_dim: int, grid: int, evaluation: int):
    """The noise vectors shared by every experiment: `grid` for the sample grids and
    `evaluation` for the quality numbers. Drawn on the CPU from their own stream, so the
    training stream is untouched and every device sees the same vectors."""
    gen = torch.Generator().manual_seed(seed + 1)
    return torch.randn(grid, noise_dim, generator=gen), torch.randn(evaluation, noise_dim, generator=gen)


def summarize(history: list[dict], compare_epoch: int) -> dict:
    """Headline numbers for the report: the comparison epoch, the last epoch, the best FD and
    how often an epoch made the FD worse (a sign of the game oscillating rather than settling)."""
    fd = [r["fd"] for r in history]
    best = min(range(len(fd)), key=fd.__getitem__)
    return {"compare": history[compare_epoch - 1], "final": history[-1],
            "best_fd": fd[best], "best_fd_epoch": history[best]["epoch"],
            "fd_rises": sum(b > a for a, b in zip(fd[:-1], fd[1:])),  # epochs that made it worse
            "train_seconds": round(sum(r["train_seconds"] for r in history), 1)}


def run_experiment(gan, name: str, classifier_path: Path | str, out_dir: Path | str) -> None:
    """Task edge: train experiment `name` of the `gan` config section, judge it with the saved
    classifier, and write metrics.json, samples.pt and weights.pt to `out_dir`.
    An interrupted run resumes from out_dir/checkpoint.pt; a diverged run is recorded."""
    from hw4.core import device as dev
    from hw4.q5_2_gan.classifier import load_judge
    from hw4.q5_2_gan.data import load_mnist
    from hw4.q5_2_gan.metrics import quality

    out_dir = Path(out_dir)
    exp = gan.experiments[name]
    settings = experiment_settings(gan, name)
    device = dev.pick()
    images = load_mnist(train=True)[0][:gan.train_images].to(device)
    judge = load_judge(classifier_path, device)
    grid_noise, eval_noise = fixed_noise(gan.seed, nets.PRESETS[gan.model].noise_dim,
                                         gan.grid_samples, gan.eval_samples)
    grid_noise, eval_noise = grid_noise.to(device), eval_noise.to(device)

    def score(G):
        return quality(generate(G, eval_noise), judge, gan.mode_share)

    checkpoint = out_dir / "checkpoint.pt"
    common = {"experiment": name, "device": device.type, "steps_per_epoch": len(images) // exp.batch,
              "compare_epoch": gan.compare_epoch, "network": nets.describe(gan.model)}
    try:
        with dev.cpu_threads(gan.cpu_threads):
            run = train(images, preset=gan.model, seed=gan.seed, lr_g=exp.lr_g, lr_d=exp.lr_d,
                        batch=exp.batch, epochs=exp.epochs, curve_points=gan.curve_points,
                        fixed_noise=grid_noise, judge=score, checkpoint=checkpoint,
                        key=config.digest({"settings": settings, "judge": _file_digest(classifier_path)}),
                        label=name)
    except Diverged as err:
        store.save_result(out_dir / "metrics.json", {**common, "status": "diverged", "message": str(err),
                                                     "epochs": err.history}, settings)
        raise
    store.save_torch(out_dir / "samples.pt", {"epochs": list(range(1, exp.epochs + 1)),
                                              "images": run["samples"]})
    store.save_torch(out_dir / "weights.pt", {"G": run["G"].cpu().state_dict(),
                                              "D": run["D"].cpu().state_dict()})
    store.save_result(out_dir / "metrics.json", {**common, "status": "ok", "epochs": run["epochs"],
                                                 "curves": run["curves"],
                                                 **summarize(run["epochs"], gan.compare_epoch)}, settings)
    checkpoint.unlink(missing_ok=True)  # the final weights and history are saved above


def _file_digest(path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
