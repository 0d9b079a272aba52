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
                "saddle": "saddle region", "unresolved": "unresolved"}


def grouped(n: int) -> str:
    """An integer as the text prints it (siunitx): digits in groups of three, split by a thin space,
    from five digits on."""
    return f"{n:,}".replace(",", "\u2009") if abs(n) >= 10_000 else str(n)


def _width_axis(ax, widths, d: int, room: float = 0.12, keep=()) -> None:
    """x = m - d + 1 on a log axis, labelled with m: the widths just above d, where the change
    happens, get as much room as the decades above them. The widths in `keep` are always
    labelled; another width only if it is `room` decades or more from every label."""
    from matplotlib.ticker import FixedLocator, NullFormatter

    x = [m - d + 1 for m in widths]
    labelled = [m - d + 1 for m in keep if m in widths]
    for v in x:
        if all(abs(math.log10(v) - math.log10(u)) >= room for u in labelled):
            labelled.append(v)
    labelled.sort()
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
                        label=f"Monte Carlo, {grouped(cfg['mc_samples'])} samples, $\\pm 2$ s.e." if i == 0 else None)
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


def _their_curve(safran_jsons, d: int) -> list[dict]:
    """Safran & Shamir's protocol at k = d, from every table that has such cells, by width n."""
    cells = [c for path in safran_jsons for c in load_json(path)["cells"] if c["k"] == d]
    return sorted(cells, key=lambda c: c["n"])


def overparam_sweep(sweep_json, square_json, plus_one_json, wide_json, out_pdf, task: str,
                    config_hash: str) -> None:
    """The bonus figure. (a) Against the width m, the share of runs that end at a certified
    spurious local minimum, with 95% Wilson intervals: the assignment's protocol (SGD from
    N(0, I/d), step c/m) and Safran & Shamir's (gradient descent, step 5/k, k = d) on the same
    axes. (b) What the spare units cost: SGD iterations until the median run has f < loss_tol."""
    res = load_json(sweep_json)
    cfg = res["settings"]
    d = cfg["d"]
    rows = res["widths"]
    theirs = _their_curve([square_json, plus_one_json, wide_json], d)
    widths = sorted({r["m"] for r in rows} | {c["n"] for c in theirs})
    fig, (ax_f, ax_t) = figure(ncols=2, height_in=2.9, width_frac=0.97,
                               gridspec_kw={"width_ratios": [1.6, 1]})

    def curve(ax, m, frac, ci, style, colour, label):
        x = np.asarray(m, dtype=float) - d + 1  # x positions, see _width_axis
        lo, hi = np.asarray(ci, dtype=float).T
        ax.fill_between(x, lo, hi, color=colour, alpha=0.18, lw=0)
        ax.plot(x, frac, style, ms=4, color=colour, label=label)

    curve(ax_f, [r["m"] for r in rows], [r["frac_spurious"] for r in rows], [r["spurious_ci95"] for r in rows],
          "o-", PALETTE[1], f"SGD, $\\eta = {res['scale']:#.3g}/m$ ({rows[0]['seeds']} runs per $m$)")
    if theirs:
        curve(ax_f, [c["n"] for c in theirs], [c["frac_spurious"] for c in theirs],
              [c["spurious_ci95"] for c in theirs], "s--", PALETTE[0],
              f"GD, Safran & Shamir's protocol, our rerun ({theirs[0]['runs']} runs)")
        reported = [(c["n"], c["reported_pct"] / 100) for c in theirs if c["reported_pct"] is not None]
        if reported:
            n, frac = np.asarray(reported, dtype=float).T
            ax_f.plot(n - d + 1, frac, "x", ms=6, mew=1.3, color="black", label="Safran & Shamir, as reported")
    ax_f.set(ylim=(-0.03, 1.03), ylabel="share of runs at a spurious minimum",
             title=f"(a) spurious local minima, $d = {d}$ targets (bands: 95% intervals)")
    ax_f.legend(fontsize=6.5, loc="center right", frameon=True, framealpha=0.95, edgecolor="0.8")  # over the zeros

    reached = [(r["m"] - d + 1, r["median_steps_to_tol"]) for r in rows if r["median_steps_to_tol"] is not None]
    if reached:
        ax_t.plot(*np.asarray(reached, dtype=float).T, "o-", ms=3.5, color=PALETTE[2], label="median SGD run")
    # censored: the median run is still above loss_tol when the runs end (the step decays from
    # decay_from on), so its crossing lies above the end of the runs, if it comes at all
    decay_from = cfg["sweep_steps"] * (1 - cfg["anneal_frac"])
    # widths whose median run ends at a spurious minimum get no marker: they never get there
    missing = [r["m"] - d + 1 for r in rows if r["median_steps_to_tol"] is None and 2 * r["n_spurious"] < r["seeds"]]
    if missing:
        ax_t.plot(missing, np.full(len(missing), cfg["sweep_steps"]), "^", mfc="none", ms=5, color="0.3",
                  label=f"still above {cfg['loss_tol']:g} at the end (censored)")
    ax_t.axhline(cfg["sweep_steps"], ls="--", lw=0.8, color="0.6", label="end of the runs")
    ax_t.axhline(decay_from, ls=":", lw=0.9, color="0.4", label="step-size decay starts")
    ax_t.set(ylim=(0, 1.3 * cfg["sweep_steps"]), ylabel="SGD iterations (median run)",
             title=f"(b) iterations until $f < {cfg['loss_tol']:g}$")
    ax_t.legend(frameon=False, fontsize=6, loc="lower right")
    for ax, room in ((ax_f, 0.12), (ax_t, 0.2)):
        _width_axis(ax, widths, d, room, keep=(d, d + 2))
        ax.set_xlim(0.8, (max(widths) - d + 1) * 1.25)
    save(fig, out_pdf, task=task, config_hash=config_hash)
