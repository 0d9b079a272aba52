"""Q3 figure: the linear classifier and the thresholded ReLU network under l2 attacks of growing radius."""
from __future__ import annotations

from pathlib import Path

from hw4.core.plot import PALETTE, figure, save
from hw4.core.store import load_json


def robustness(results: Path | str, out: Path | str, *, task: str, config_hash: str) -> None:
    """Robust accuracy and worst-case margin drop against tau sqrt(d): exact lines, PGD markers."""
    res = load_json(results)
    c = res["numeric"]["curve"]
    b = res["threshold"]
    models = [("linear", r"linear $\langle Mw^*, x\rangle$", PALETTE[1], "s"),
              ("relu", rf"ReLU net, threshold $b = {b:.2f}$", PALETTE[0], "o")]
    fig, (acc, drop) = figure(ncols=2, height_in=2.4)
    for name, label, colour, marker in models:
        acc.plot(c["radius_fine"], c[name], color=colour, label=f"{label}: exact worst case")
        acc.plot(c["radius"], c[f"{name}_pgd"], marker, color=colour, mfc="none", ms=4, label="PGD attack")
        drop.plot(c["radius_fine"], c[f"{name}_drop"], color=colour)
        drop.plot(c["radius"], c[f"{name}_drop_pgd"], marker, color=colour, mfc="none", ms=4)
    for ax in (acc, drop):
        ax.axvline(1.0, color=PALETTE[7], ls=":", lw=1)
        ax.set_xlabel(r"attack radius $\tau\sqrt{d}$")
        ax.set_xlim(0, c["radius"][-1])
    acc.text(1.08, 0.62, r"$\tau = 1/\sqrt{d}$", fontsize=8)
    acc.set_ylabel("robust accuracy")
    acc.set_ylim(-0.03, 1.05)
    drop.axhline(1.0, color=PALETTE[7], lw=0.8, ls="--")
    drop.set_ylabel("margin drop / smallest margin")
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    save(fig, out, task=task, config_hash=config_hash)
