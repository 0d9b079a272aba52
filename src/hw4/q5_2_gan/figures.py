"""Figures for Q5.2. Each takes the experiments' metrics.json files (and, for the sample grids,
the samples.pt beside each) and writes one PDF."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hw4.core.plot import PALETTE, TEXT_WIDTH_IN, figure, plt, save
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


DYNAMICS_VECTORS = 4            # fixed noise vectors followed through training (rows of each panel)
NICE_STEPS = (1, 2, 3, 5)        # epochs shown: 1, 2, 3, 5, 10, 20, 30, 50, ... up to the last, and the last
TILE_IN = 0.42                   # printed size of one 28 x 28 sample in the dynamics figure


def dynamics_epochs(last: int) -> list[int]:
    """Roughly log-spaced epochs from 1 to `last` (included), on round numbers: dense where the
    samples change fast (the first epochs), sparse later."""
    shown, scale = [], 1
    while scale <= last:
        shown += [n * scale for n in NICE_STEPS if n * scale <= last]
        scale *= 10
    return sorted(set(shown) | {last})


def fill_epochs(shown: list[int], columns: int) -> list[int]:
    """`shown` with epochs added, each in the middle of the widest remaining gap (on a multiple of
    5 where one is near), until there are `columns` or no gap is left: a panel that has room for
    more columns shows more of its run instead of blank paper."""
    shown = sorted(shown)
    while 1 < len(shown) < columns:
        gap, a = max((b - a, a) for a, b in zip(shown, shown[1:]))
        if gap < 2:
            break
        mid = a + gap / 2
        rounded = 5 * round(mid / 5)
        shown = sorted(set(shown) | {rounded if a < rounded < a + gap else int(mid)})
    return shown


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
    Panels go two to a row, with every sample at the same printed size, large enough to read.
    Args: metrics.json files, then the output PDF."""
    *inputs, out_pdf = paths
    runs = _runs(inputs)
    saved_runs = [load_torch(Path(path).parent / "samples.pt") for path in inputs]
    lasts = [list(saved["epochs"])[-1] for saved in saved_runs]
    shown_runs = [dynamics_epochs(last) for last in lasts]
    # two panels to a row; a panel alone on its row gets the row's columns (the widest pair's)
    width = max(sum(len(s) for s in shown_runs[i:i + 2]) for i in range(0, len(shown_runs), 2))
    if len(shown_runs) % 2:
        shown_runs[-1] = fill_epochs(shown_runs[-1], width)
    panels = []
    for saved, shown, (name, metrics, cfg) in zip(saved_runs, shown_runs, runs):
        epochs = list(saved["epochs"])
        images = saved["images"][[epochs.index(e) for e in shown], :DYNAMICS_VECTORS].numpy()
        title = f"{name}: batch {cfg['batch']}, $\\eta_G$ {cfg['lr_g']:g}, $\\eta_D$ {cfg['lr_d']:g}"
        panels.append((tiles(images.transpose(1, 0, 2, 3)), shown, title, images.shape[1]))
    bands = [panels[i:i + 2] for i in range(0, len(panels), 2)]
    band_in = TILE_IN * max(p[3] for p in panels) + 0.55
    fig = plt.figure(figsize=(TEXT_WIDTH_IN, band_in * len(bands)), layout="constrained")
    rows = fig.subfigures(len(bands), 1, squeeze=False)[:, 0]
    columns = max(sum(len(p[1]) for p in band) for band in bands)
    for row, band in zip(rows, bands):
        widths = [len(p[1]) for p in band]
        axes = row.subplots(1, len(band) + 1, width_ratios=[*widths, max(columns - sum(widths), 1e-3)],
                            squeeze=False)[0]
        axes[-1].axis("off")
        for ax, (img, shown, title, _) in zip(axes, band):
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


def quality(*paths, task: str, config_hash: str) -> None:
    """Sample quality and the discriminator's verdict after every epoch, on the same generated
    images in every experiment: Fréchet distance against epochs and against generator updates,
    digits covered, entropy of the predicted digits, and D's mean output on real and on generated
    images. Args: metrics.json files, then the output PDF."""
    *inputs, out_pdf = paths
    fig, axes = figure(ncols=3, nrows=2, height_in=4.4)
    (ax_fd, ax_steps, ax_m), (ax_h, ax_real, ax_fake) = axes
    runs = _runs(inputs)
    for color, (name, metrics, cfg) in zip(PALETTE, runs):
        rows = metrics["epochs"]
        e = [r["epoch"] for r in rows]
        kw = {"color": color, "marker": "o", "ms": 2, "lw": 1.2, "label": _label(name, cfg)}
        ax_fd.plot(e, [r["fd"] for r in rows], **kw)
        ax_steps.plot([r["step"] for r in rows], [r["fd"] for r in rows], **kw)
        ax_m.plot(e, [r["modes"] for r in rows], **kw)
        ax_h.plot(e, [r["entropy_bits"] for r in rows], **kw)
        ax_real.plot(e, [r["d_real"] for r in rows], **kw)
        ax_fake.plot(e, [r["d_fake"] for r in rows], **kw)
    compare = runs[0][1]["compare_epoch"]
    for ax in (ax_fd, ax_m, ax_h, ax_real, ax_fake):
        ax.axvline(compare, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel("epoch")
    ax_fd.set(yscale="log", ylabel="Fréchet distance", title="FD to the test set")
    ax_steps.set(xscale="log", yscale="log", xlabel="generator updates", title="FD against updates")
    share = runs[0][2]["mode_share"]
    ax_m.set(ylabel="digits", ylim=(0, 10.5), yticks=np.arange(0, 11, 2),
             title=f"digits with $\\geq$ {share:.0%} of samples")
    ax_h.axhline(LOG2_10, color="0.5", lw=0.8, ls="--")
    ax_h.set(ylabel="bits", ylim=(0, LOG2_10 * 1.05), title="entropy of predicted digits")
    for ax, title in ((ax_real, "mean $D(x)$, real images"), (ax_fake, "mean $D(G(z))$, generated")):
        ax.axhline(0.5, color="0.5", lw=0.8, ls="--")
        ax.set(ylim=(0, 1), ylabel="discriminator output", title=title)
    handles, labels = ax_fd.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(runs), 3), fontsize=7,
               frameon=False)
    save(fig, out_pdf, task=task, config_hash=config_hash)
