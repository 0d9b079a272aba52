"""Figures for Q5.2. Each takes the experiments' metrics.json files (and, for the sample grids,
the samples.pt beside each) and writes one PDF."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hw4.core.plot import PALETTE, TEXT_WIDTH_IN, figure, save
from hw4.core.store import load_json, load_torch

LOG2_10 = math.log2(10)


def _runs(paths):
    """(name, metrics, settings) for each experiment, in the order given."""
    return [(m["experiment"], m, m["settings"]) for m in map(load_json, paths)]


def _label(name, cfg):
    return f"{name} ($\\eta_G$ {cfg['lr_g']:g}, $\\eta_D$ {cfg['lr_d']:g}, batch {cfg['batch']})"


def samples(*paths, task: str, config_hash: str) -> None:
    """Samples from the fixed noise vectors (the same in every experiment) at the comparison
    epoch, and at the last epoch where an experiment runs longer. Args: metrics.json files, then the output PDF."""
    *inputs, out_pdf = paths
    from torchvision.utils import make_grid

    panels = []
    for path, (name, metrics, cfg) in zip(inputs, _runs(inputs)):
        saved = load_torch(Path(path).parent / "samples.pt")
        epochs = saved["epochs"]
        shown = [metrics["compare_epoch"]] + ([epochs[-1]] if epochs[-1] != metrics["compare_epoch"] else [])
        for epoch in shown:
            imgs = saved["images"][epochs.index(epoch)]
            grid = make_grid(imgs.unsqueeze(1).float().div(255), nrow=int(round(math.sqrt(len(imgs)))),
                             padding=1, pad_value=1.0)[0]
            title = f"{name}, epoch {epoch}"  # the settings are in the report's table
            panels.append((grid.numpy(), title))
    # one row of square panels across the page (two rows beyond four panels): digits stay legible
    ncols = min(len(panels), 4)
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = figure(ncols=ncols, nrows=nrows, height_in=(TEXT_WIDTH_IN / ncols + 0.45) * nrows, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (img, title) in zip(axes.flat, panels):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=7)
    save(fig, out_pdf, task=task, config_hash=config_hash)


DYNAMICS_VECTORS = 6            # fixed noise vectors followed through training (rows of each panel)
NICE_STEPS = (1, 2, 3, 5)        # epochs shown: 1, 2, 3, 5, 10, 20, 30, 50, ... up to the last, and the last


def dynamics_epochs(last: int) -> list[int]:
    """Roughly log-spaced epochs from 1 to `last` (included), on round numbers: dense where the
    samples change fast (the first epochs), sparse later."""
    shown, scale = [], 1
    while scale <= last:
        shown += [n * scale for n in NICE_STEPS if n * scale <= last]
        scale *= 10
    return sorted(set(shown) | {last})


def tiles(images, pad: int = 2) -> np.ndarray:
    """A (rows, cols, h, w) uint8 array as one float image in [0, 1], tiles separated by white."""
    rows, cols, h, w = images.shape
    out = np.ones((rows * (h + pad) - pad, cols * (w + pad) - pad))
    for i in range(rows):
        for j in range(cols):
            out[i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w] = images[i, j] / 255.0
    return out


def dynamics(*paths, task: str, config_hash: str) -> None:
    """Samples of the same few noise vectors across the epochs, one panel per experiment (rows:
    noise vectors, columns: epochs chosen by `dynamics_epochs` up to each experiment's last).
    Args: metrics.json files, then the output PDF."""
    *inputs, out_pdf = paths
    panels = []
    for path, (name, metrics, cfg) in zip(inputs, _runs(inputs)):
        saved = load_torch(Path(path).parent / "samples.pt")
        epochs = list(saved["epochs"])
        shown = dynamics_epochs(epochs[-1])
        images = saved["images"][[epochs.index(e) for e in shown], :DYNAMICS_VECTORS].numpy()
        title = f"{name}, batch {cfg['batch']}\n$\\eta_G$ {cfg['lr_g']:g}, $\\eta_D$ {cfg['lr_d']:g}"
        panels.append((tiles(images.transpose(1, 0, 2, 3)), shown, title))
        rows = images.shape[1]
    widths = [len(shown) for _, shown, _ in panels]
    fig, axes = figure(ncols=len(panels), height_in=0.42 * rows + 0.75, squeeze=False,
                       gridspec_kw={"width_ratios": widths})
    for ax, (img, shown, title) in zip(axes[0], panels):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        step = img.shape[1] / len(shown)
        ax.set_xticks([(j + 0.5) * step for j in range(len(shown))], [str(e) for e in shown])
        ax.tick_params(length=0, pad=2)
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel("epoch", labelpad=1)
        ax.set_title(title, fontsize=8)
    save(fig, out_pdf, task=task, config_hash=config_hash)


def curves(*paths, task: str, config_hash: str) -> None:
    """The two players' losses and the discriminator's mean outputs on real and generated
    images, against epochs (10 means per epoch). Args: metrics.json files, then the output PDF."""
    *inputs, out_pdf = paths
    fig, (ax_loss, ax_d) = figure(ncols=2, height_in=3.1)
    for color, (name, metrics, cfg) in zip(PALETTE, _runs(inputs)):
        c = metrics["curves"]
        ax_loss.plot(c["epoch"], c["d_loss"], color=color, label=f"{name} D")
        ax_loss.plot(c["epoch"], c["g_loss"], "--", color=color, label=f"{name} G")
        ax_d.plot(c["epoch"], c["d_real"], color=color, label=f"{name} $D(x)$")
        ax_d.plot(c["epoch"], c["d_fake"], "--", color=color, label=f"{name} $D(G(z))$")
    ax_loss.set(xlabel="epoch", ylabel="loss (BCE)", yscale="log", title="losses: D solid, G dashed")
    ax_d.set(xlabel="epoch", ylabel="mean discriminator output", ylim=(0, 1),
             title="D on real $x$ (solid) and on $G(z)$ (dashed)")
    ax_d.axhline(0.5, color="0.5", lw=0.8, ls=":")
    for ax in (ax_loss, ax_d):
        ax.legend(ncols=3, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False,
                  handlelength=1.5, columnspacing=1.0)
    save(fig, out_pdf, task=task, config_hash=config_hash)


def quality(*paths, task: str, config_hash: str) -> None:
    """Sample quality after every epoch, measured by the MNIST classifier on the same generated
    images in every experiment: Fréchet distance against epochs and against generator updates,
    confidence, entropy and coverage of the predicted digits, and the digit shares at the
    comparison epoch (and the last, where later). Args: metrics.json files, then the output PDF."""
    *inputs, out_pdf = paths
    fig, axes = figure(ncols=3, nrows=2, height_in=4.9)
    (ax_fd, ax_steps, ax_c), (ax_h, ax_m, ax_share) = axes
    runs = _runs(inputs)
    bars = []
    for color, (name, metrics, cfg) in zip(PALETTE, runs):
        rows = metrics["epochs"]
        e = [r["epoch"] for r in rows]
        kw = {"color": color, "marker": "o", "ms": 2, "lw": 1.2, "label": _label(name, cfg)}
        ax_fd.plot(e, [r["fd"] for r in rows], **kw)
        ax_steps.plot([r["step"] for r in rows], [r["fd"] for r in rows], **kw)
        ax_c.plot(e, [r["confidence"] for r in rows], **kw)
        ax_h.plot(e, [r["entropy_bits"] for r in rows], **kw)
        ax_m.plot(e, [r["modes"] for r in rows], **kw)
        bars.append((f"{name}, epoch {metrics['compare']['epoch']}", metrics["compare"]["digit_share"], color, None))
        if metrics["final"]["epoch"] != metrics["compare"]["epoch"]:
            bars.append((f"{name}, epoch {metrics['final']['epoch']}", metrics["final"]["digit_share"], color, "//"))
    compare = runs[0][1]["compare_epoch"]
    for ax in (ax_fd, ax_c, ax_h, ax_m):
        ax.axvline(compare, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel("epoch")
    ax_fd.set(yscale="log", ylabel="Fréchet distance", title="FD to the test set")
    ax_steps.set(xscale="log", yscale="log", xlabel="generator updates", title="FD against updates")
    ax_c.set(ylabel="mean top probability", ylim=(0, 1), title="classifier confidence")
    ax_h.axhline(LOG2_10, color="0.5", lw=0.8, ls="--")
    ax_h.set(ylabel="bits", ylim=(0, LOG2_10 * 1.05), title="entropy of predicted digits")
    share = runs[0][2]["mode_share"]
    ax_m.set(ylabel="digits", ylim=(0, 10.5), yticks=np.arange(0, 11, 2),
             title=f"digits with $\\geq$ {share:.0%} of samples")
    width = 0.8 / len(bars)
    for k, (label, shares, color, hatch) in enumerate(bars):
        ax_share.bar(np.arange(10) + (k - (len(bars) - 1) / 2) * width, shares, width, color=color,
                     hatch=hatch, edgecolor="white" if hatch is None else "black", lw=0.3, label=label)
    ax_share.axhline(0.1, color="0.5", lw=0.8, ls="--")
    top = max(max(b[1]) for b in bars)
    ax_share.set(xticks=range(10), xlabel="predicted digit", ylabel="share of samples",
                 ylim=(0, 1.05 * top), title="digit shares (uniform: 0.1)")
    # No legend of its own: the colours are the figure's, and the caption explains the hatching.
    handles, labels = ax_fd.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(runs), 2), fontsize=7,
               frameon=False)
    save(fig, out_pdf, task=task, config_hash=config_hash)
