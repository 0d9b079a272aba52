"""Q4 figure: the gradient and Hessian norms of the batch-normalized objective as w -> 0."""
from __future__ import annotations

import numpy as np

from hw4.core.plot import PALETTE, figure, save
from hw4.core.store import load_json


def batchnorm_norms(results_json, out_pdf, task: str, config_hash: str) -> None:
    """||grad f|| and ||hess f|| against ||w|| on log-log axes: slopes -1 and -2 as w -> 0."""
    res = load_json(results_json)
    n, cfg = res["numeric"], res["settings"]
    r = np.asarray(n["radii"])
    fig, (ax_g, ax_h) = figure(ncols=2, height_in=3.4, width_frac=0.8)
    theta = f"$\\theta = {cfg['angle_deg']:g}^\\circ$"
    even, odd = slice(0, None, 2), slice(1, None, 2)  # the two sets of markers on alternate radii
    ax_g.loglog(r, n["grad_exact"], color=PALETTE[0], label=f"{theta}: closed form")
    ax_g.loglog(r, n["grad_fd"], "o", ms=3, mfc="none", color=PALETTE[0], label=f"{theta}: finite differences")
    ax_g.loglog(r, n["grad_asymptote"], "--", color=PALETTE[1],
                label=f"$2\\sin\\theta/r$, slope ${res['grad_slope']:.0f}$")
    ax_g.loglog(r, n["along_grad_exact"], ":", color=PALETTE[2], lw=1.8, label=r"along $w^*$: $2\lambda r$")
    ax_g.set(xlabel=r"$\|w\|_2 = r$", ylabel=r"$\|\nabla f(w)\|_2$", title="gradient norm")
    ax_h.loglog(r, n["hess_exact"], color=PALETTE[0], label=f"{theta}: closed form")
    ax_h.loglog(r[even], np.asarray(n["hess_fd"])[even], "o", ms=3, mfc="none", color=PALETTE[0],
                label=f"{theta}: finite differences")
    ax_h.loglog(r, n["hess_asymptote"], "--", color=PALETTE[1], label=f"leading term, slope ${res['hess_slope']:.0f}$")
    ax_h.loglog(r[odd], np.asarray(n["along_hess_fd"])[odd], "^", ms=3.5, color=PALETTE[2],
                label="along $w^*$: finite differences")
    ax_h.set(xlabel=r"$\|w\|_2 = r$", ylabel=r"$\|\nabla^2 f(w)\|_2$", title="Hessian spectral norm")
    for ax in (ax_g, ax_h):
        ax.axvspan(r.min(), n["fit_r_max"], color="0.9", zorder=0, lw=0)  # the range of the slope fits
        # below the axes, where the legend covers no data
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), fontsize=6.5, frameon=False, handlelength=1.6,
                  borderaxespad=0.2)
    save(fig, out_pdf, task=task, config_hash=config_hash)
