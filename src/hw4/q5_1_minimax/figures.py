"""Q5.1 figure: the landscape of f with both best-response branches, and phi(x) = max_y f."""
from __future__ import annotations

import numpy as np

from hw4.core.plot import PALETTE, figure, save
from hw4.core.store import load_json

GRID_EVERY = 4  # the right panel marks every GRID_EVERY-th x of the grid search


def minimax_landscape(results_json, out_pdf, task: str, config_hash: str) -> None:
    """f on the box with both best-response branches, and phi(x) = max_y f with its kink at 0."""
    res = load_json(results_json)
    pl = res["numeric"]["plot"]
    x, y = np.asarray(pl["x"]), np.asarray(pl["y"])
    fig, (ax_f, ax_p) = figure(ncols=2, height_in=2.6, gridspec_kw={"width_ratios": [1.3, 1]})
    filled = ax_f.contourf(x, y, np.asarray(pl["f"]), levels=21, cmap="cividis")
    filled.set_edgecolor("face")  # no hairlines between the filled levels in PDF viewers
    fig.colorbar(filled, ax=ax_f).ax.set_title("$f(x, y)$", fontsize=8)
    fig.get_layout_engine().set(wspace=0.06)
    for key, wins, color in (("y_plus", x >= 0, PALETTE[1]), ("y_minus", x <= 0, PALETTE[3])):
        sign = "+" if key == "y_plus" else "-"
        yb = np.asarray(pl[key])
        ax_f.plot(x[wins], yb[wins], color=color, lw=2, label=f"$y_{sign}(x)$, global best response")
        ax_f.plot(x[~wins], yb[~wins], "--", color=color, lw=1.4, label=f"$y_{sign}(x)$, local max only")
    ax_f.plot([res["x_star"]] * 2, res["y_stars"], "*", ms=11, color=PALETTE[6], mec="k",
              label="global min-max points $(0, \\pm\\pi)$", zorder=5)
    ax_f.set(xlabel="$x$", ylabel="$y$", xlim=(-1, 1), ylim=(y.min(), y.max()),
             yticks=np.pi * np.arange(-2, 3), yticklabels=[r"$-2\pi$", r"$-\pi$", "$0$", r"$\pi$", r"$2\pi$"])
    ax_f.grid(False)
    ax_p.plot(x, pl["phi"], color=PALETTE[0], lw=2, zorder=4, label=r"$\phi(x) = \mathrm{max}_y\, f(x, y)$")
    ax_p.plot(x, pl["value_plus"], "--", color=PALETTE[1], label=r"$f(x, y_+(x))$")
    ax_p.plot(x, pl["value_minus"], "--", color=PALETTE[3], label=r"$f(x, y_-(x))$")
    every = GRID_EVERY  # a thinned set of the grid's points, drawn under the line of phi so that it shows
    ax_p.plot(np.asarray(pl["grid_x"])[::every], np.asarray(pl["grid_phi"])[::every], "o", ms=4, mfc="none", mew=0.8,
              color="k", zorder=3, label=f"grid search (every {every}th $x$)")
    ax_p.plot(res["x_star"], res["value"], "*", ms=11, color=PALETTE[6], mec="k", zorder=5,
              label=r"$\mathrm{min}_x\, \phi$ at $x^* = 0$")
    ax_p.set(xlabel="$x$", ylabel=r"max over $y$ of $f$; branch values", xlim=(-1, 1))
    fig.get_layout_engine().set(rect=(0, 0.25, 1, 0.75))  # the bottom holds the legends
    for ax, at, ncol in ((ax_f, 0.3, 2), (ax_p, 0.8, 2)):  # each panel its own legend, under it
        fig.legend(*ax.get_legend_handles_labels(), loc="lower center", bbox_to_anchor=(at, 0.0), ncol=ncol,
                   fontsize=7, frameon=False, columnspacing=1.0, handlelength=1.8)
    save(fig, out_pdf, task=task, config_hash=config_hash)
