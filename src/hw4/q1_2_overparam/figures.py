"""Q1.2 figures: the loss curves of the two required settings, and the bonus sweep over m."""
from __future__ import annotations

import math

import numpy as np

from hw4.core.plot import PALETTE, figure, save
from hw4.core.store import load_json

# Losses below this are float64 rounding of the closed form (see loss.ROUNDING_FLOOR);
# they are drawn at this floor so a log axis can show them.
FLOOR = 1e-13
STATUS_COLOUR = {"global": PALETTE[0], "spurious": PALETTE[1], "saddle": PALETTE[3], "unresolved": PALETTE[4]}
STATUS_LABEL = {"global": "global minimum", "spurious": "spurious local minimum",
                "saddle": "stuck near a saddle", "unresolved": "unresolved"}


def _width_axis(ax, widths, d: int) -> None:
    """x = m - d + 1 on a log axis, labelled with m: the widths just above d, where the change
    happens, get as much room as the decades above them."""
    from matplotlib.ticker import FixedLocator, NullFormatter

    x = [m - d + 1 for m in widths]
    labelled, last = [], -1.0
    for v in x:  # label a tick only if it has room (0.12 decades) after the previous label
        if math.log10(v) - last >= 0.12:
            labelled.append(v)
            last = math.log10(v)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(labelled))
    ax.xaxis.set_major_formatter(lambda v, _: f"{v + d - 1:.0f}")
    ax.xaxis.set_minor_locator(FixedLocator(x))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel(f"width $m$ (log scale in $m - {d - 1}$)")


def overparam_curves(settings_json, out_pdf, task: str, config_hash: str) -> None:
    """Exact f(W) against SGD iterations, one thin line per seed (coloured by how it ended),
    the median in bold, and Monte Carlo estimates (+- 2 standard errors) at the checkpoints."""
    res = load_json(settings_json)
    cfg = res["settings"]
    runs = res["runs"]
    fig, axes = figure(ncols=len(runs), height_in=3.1, width_frac=0.97)
    axes = np.atleast_1d(axes)
    for ax, r in zip(axes, runs):
        m = r["m"]
        steps = np.asarray(r["curves"]["steps"]) + 1  # step 0 drawn at 1 on the log axis
        loss = np.maximum(np.asarray(r["curves"]["loss"]), FLOOR)
        for row, status in zip(loss, r["status"]):
            ax.plot(steps, row, lw=0.6, alpha=0.55, color=STATUS_COLOUR[status])
        ax.plot(steps, np.median(loss, axis=0), lw=2.2, color="black", label="median over seeds")
        for i, point in enumerate(r["mc"]["points"]):
            mean = np.maximum(np.asarray(point["mean"]), FLOOR)
            err = 2 * np.asarray(point["se"])
            ax.errorbar(np.full_like(mean, point["step"] + 1), mean, yerr=[np.minimum(err, mean - FLOOR), err],
                        fmt="o", ms=3.2, mfc="none", mew=0.8, elinewidth=0.8, color=PALETTE[2],
                        label=f"Monte Carlo, {cfg['mc_samples']:,} samples, $\\pm 2$ s.e." if i == 0 else None)
        ax.axhline(cfg["loss_tol"], ls=":", lw=0.9, color="0.4")
        ax.axvline(cfg["settings_steps"] * (1 - cfg["anneal_frac"]) + 1, ls="--", lw=0.8, color="0.6")
        counts = ", ".join(f"{r['n_' + s]} {s}" for s in STATUS_COLOUR if r["n_" + s])
        ax.set(xscale="log", yscale="log", xlabel="SGD iteration + 1", ylabel="exact $f(W)$",
               title=f"$d = {cfg['d']}$, $m = {m}$: {counts}")
    ended = {s for r in runs for s in r["status"]}
    for status, colour in STATUS_COLOUR.items():
        if status in ended:
            axes[-1].plot([], [], lw=1, color=colour, label=f"a seed: {STATUS_LABEL[status]}")
    axes[-1].plot([], [], ls=":", color="0.4", label="global-minimum threshold")
    axes[-1].plot([], [], ls="--", color="0.6", label="step-size decay starts")
    fig.legend(*axes[-1].get_legend_handles_labels(), loc="outside lower center", ncols=2, frameon=False)
    save(fig, out_pdf, task=task, config_hash=config_hash)


def overparam_sweep(sweep_json, out_pdf, task: str, config_hash: str) -> None:
    """Against the width m: how runs end (with 95% intervals), the final loss quantiles, the
    iterations the median run needs to reach the threshold, and the curvature where runs stall."""
    res = load_json(sweep_json)
    cfg = res["settings"]
    rows = res["widths"]
    widths = [r["m"] for r in rows]
    d = cfg["d"]
    x = np.asarray(widths, dtype=float) - d + 1  # x positions, see _width_axis
    fig, ((ax_f, ax_l), (ax_t, ax_h)) = figure(ncols=2, nrows=2, height_in=4.9, width_frac=0.95)

    lo, hi = np.asarray([r["spurious_ci95"] for r in rows]).T
    ax_f.fill_between(x, lo, hi, color=STATUS_COLOUR["spurious"], alpha=0.2, lw=0, label="95% interval")
    for status, style in (("spurious", "o-"), ("saddle", "^--"), ("unresolved", "s:")):
        ax_f.plot(x, [r[f"frac_{status}"] for r in rows], style, ms=3.5, color=STATUS_COLOUR[status],
                  label=STATUS_LABEL[status])
    ax_f.set(ylim=(-0.03, 1.03), ylabel="fraction of runs", title=f"(a) how runs end, {rows[0]['seeds']} seeds each")
    ax_f.legend(frameon=False, fontsize=6.5, loc="upper center", bbox_to_anchor=(0.45, 1.0))

    quant = {k: np.maximum([r[k] for r in rows], FLOOR) for k in
             ("loss_min", "loss_q25", "loss_median", "loss_q75", "loss_max")}
    ax_l.fill_between(x, quant["loss_min"], quant["loss_max"], color=PALETTE[0], alpha=0.12, lw=0,
                      label="min to max")
    ax_l.fill_between(x, quant["loss_q25"], quant["loss_q75"], color=PALETTE[0], alpha=0.3, lw=0,
                      label="quartiles")
    ax_l.plot(x, quant["loss_median"], "o-", ms=3.5, color=PALETTE[0], label="median")
    ax_l.axhline(cfg["loss_tol"], ls=":", lw=0.9, color="0.4", label="threshold")
    ax_l.set(yscale="log", ylabel="final exact $f(W)$", title=f"(b) final loss after {cfg['sweep_steps']:,} steps")
    ax_l.legend(frameon=False, fontsize=7, loc="lower right", ncols=2)

    reached = [(xx, r["median_steps_to_tol"]) for xx, r in zip(x, rows) if r["median_steps_to_tol"] is not None]
    if reached:
        ax_t.plot(*np.asarray(reached, dtype=float).T, "o-", ms=3.5, color=PALETTE[2], label="median run")
    missing = [xx for xx, r in zip(x, rows) if r["median_steps_to_tol"] is None]
    if missing:
        ax_t.plot(missing, np.full(len(missing), cfg["sweep_steps"]), "x", color="0.3",
                  label="median run not there at the end")
    ax_t.axhline(cfg["sweep_steps"], ls="--", lw=0.8, color="0.6")
    ax_t.set(ylim=(0, 1.15 * cfg["sweep_steps"]), ylabel="SGD iterations",
             title=f"(c) iterations until $f < {cfg['loss_tol']:g}$")
    ax_t.legend(frameon=False, fontsize=7, loc="lower left")

    for xx, r in zip(x, rows):
        eig = np.asarray([e for e in r["stuck_min_eig"] if e is not None], dtype=float)
        for sign, status in ((eig > 0, "spurious"), (eig < 0, "saddle")):
            ax_h.plot(np.full(sign.sum(), xx), eig[sign], "o" if status == "spurious" else "^", ms=3.5,
                      mfc="none", color=STATUS_COLOUR[status])
    ax_h.axhline(0, lw=0.8, color="0.3")
    ax_h.set(ylabel="smallest Hessian eigenvalue",
             title=f"(d) curvature where runs stall ($md \\leq {cfg['hessian_max_params']}$)")
    ax_h.set_yscale("symlog", linthresh=1e-3)
    for ax in (ax_f, ax_l, ax_t, ax_h):
        _width_axis(ax, widths, d)
        ax.set_xlim(x.min() / 1.25, x.max() * 1.25)
    save(fig, out_pdf, task=task, config_hash=config_hash)
