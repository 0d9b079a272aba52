"""One look for every figure: print-size widths, a colour-blind-safe palette, PDF metadata.

Each submodule holds one function per figure. A figure function reads results files only
and writes one PDF through `save`, which stamps the task and config hash into its metadata.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hw4.core.store import atomic_path  # noqa: E402

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
TEXT_WIDTH_IN = 6.3  # the report's \textwidth (a4paper, 2.5 cm margins), so fonts print at true size

plt.rcParams.update({
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
    "figure.constrained_layout.use": True,
})


def figure(ncols: int = 1, nrows: int = 1, height_in: float = 2.6, width_frac: float = 1.0, **kw):
    """A figure sized for the page, so it is never scaled and its fonts stay legible."""
    return plt.subplots(nrows, ncols, figsize=(TEXT_WIDTH_IN * width_frac, height_in), **kw)


def save(fig, path: Path | str, *, task: str, config_hash: str) -> None:
    """Write the figure atomically as PDF, recording which task and config made it."""
    meta = {"Title": Path(path).stem, "Subject": f"made by doit task {task}; config {config_hash}",
            "Creator": "hw4", "Keywords": f"task={task} config={config_hash}"}
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="pdf", metadata=meta)
    plt.close(fig)
