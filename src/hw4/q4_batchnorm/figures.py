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
    fig, (ax_g, ax_h) = figure(ncols=2, height_in=3.7)
    ax_g.loglog(r, n["grad_exact"], color=PALETTE[0], label=r"closed form $2\sqrt{\sin^2\theta/r^2+\lambda^2 r^2}$")
    ax_g.loglog(r, n["grad_fd"], "o", ms=3.5, mfc="none", color=PALETTE[0], label="finite differences")
    ax_g.loglog(r, n["grad_asymptote"], "--", color=PALETTE[1],
                label=f"$2\\sin\\theta/r$: slope ${res['grad_slope']:.0f}$ (fit ${n['grad_slope_fit']:.3f}$)")
    ax_g.loglog(r, n["along_grad_exact"], ":", color=PALETTE[2], label=r"along $w^*$: $2\lambda r$ (slope $+1$)")
    ax_g.set(xlabel=r"$\|w\|_2 = r$", ylabel=r"$\|\nabla f(w)\|_2$",
             title=f"gradient, $\\theta = {cfg['angle_deg']:g}^\\circ$")
    ax_h.loglog(r, n["hess_exact"], color=PALETTE[0], label="closed form (largest $|$eigenvalue$|$)")
    ax_h.loglog(r, n["hess_fd"], "o", ms=3.5, mfc="none", color=PALETTE[0], label="finite differences")
    ax_h.loglog(r, n["hess_asymptote"], "--", color=PALETTE[1],
                label=f"$(|\\cos\\theta|+\\sqrt{{1+3\\sin^2\\theta}})/r^2$: slope ${res['hess_slope']:.0f}$ "
                      f"(fit ${n['hess_slope_fit']:.3f}$)")
    ax_h.loglog(r, n["along_hess_fd"], "x", ms=3.5, color=PALETTE[2],
                label=f"along $w^*$, finite differences (fit ${n['along_hess_slope_fit']:.3f}$)")
    ax_h.set(xlabel=r"$\|w\|_2 = r$", ylabel=r"$\|\nabla^2 f(w)\|_2$",
             title=f"Hessian, $\\lambda = {cfg['lam']:g}$, $d = {cfg['dim']}$")
    for ax in (ax_g, ax_h):
        ax.axvspan(r.min(), n["fit_r_max"], color="0.9", zorder=0, lw=0, label="range of the slope fits")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=7, frameon=False)
    save(fig, out_pdf, task=task, config_hash=config_hash)
