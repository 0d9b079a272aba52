"""Q5.2's claims: what the text says about the three GAN runs, checked against their metrics.

The results are the experiments' metrics.json (keyword arguments exp1, exp2, exp3, by the
experiment names of hw4.toml) and the classifier's. Every comparison the text makes between runs,
or between a run and the game's equilibrium, is decided here; each threshold is a named constant.
"""
from __future__ import annotations

import math

from hw4.core.claims import Registry

CLAIMS = Registry("q5_2_gan")

DIGITS = 10             # MNIST's classes: a generator covering all of them has dropped no mode
EQUILIBRIUM_TOL = 0.05  # mean D outputs within this of 1/2 count as "near the equilibrium value"
ENTROPY_TOL = 0.05      # bits: a smaller difference between digit entropies is not "less evenly spread"
MODE_DROP = 3           # digits: coverage falling this far below its earlier best is a collapse
HALF_DIGITS = 5         # digits: a generator covering fewer than this is still in its early, collapsed stage


def at(run, epoch: int):
    """The record of `epoch` (1-based) in a run's per-epoch history."""
    return run.epochs[epoch - 1]


def compare(run):
    return at(run, run.compare_epoch)


def largest_coverage_drop(run) -> int:
    """The largest fall of the number of covered digits below its best in any earlier epoch."""
    best, drop = 0, 0
    for record in run.epochs:
        best = max(best, record.modes)
        drop = max(drop, best - record.modes)
    return drop


def epochs_below(run, digits: int) -> int:
    """How many epochs from the start the samples cover fewer than `digits` digits (the whole run
    if they never cover that many)."""
    count = 0
    for record in run.epochs:
        if record.modes >= digits:
            break
        count += 1
    return count


def fd_at_step(run, step: int) -> dict:
    """FD of `run` at `step` generator updates, interpolated linearly in log(step) between its two
    epochs around it (only where it has epochs on both sides), with those epochs' numbers."""
    steps = [r.step for r in run.epochs]
    above = next((i for i, s in enumerate(steps) if s >= step), None)
    if above is None or (above == 0 and steps[0] != step):
        return {"fd": math.nan, "step_lo": math.nan, "step_hi": math.nan, "fd_lo": math.nan, "fd_hi": math.nan}
    lo = max(above - 1, 0) if steps[above] != step else above
    a, b = run.epochs[lo], run.epochs[above]
    frac = 0.0 if a.step == b.step else math.log(step / a.step) / math.log(b.step / a.step)
    return {"fd": a.fd + frac * (b.fd - a.fd), "step_lo": a.step, "step_hi": b.step, "fd_lo": a.fd, "fd_hi": b.fd}


# ----------------------------------------------------------------------------- experiment 1

@CLAIMS.claim("exp1_all_digits", if_false="alternative", holds=lambda modes, digits: modes == digits,
              says="after T epochs experiment 1 covers every digit")
def _(exp1, **_):
    return {"modes": compare(exp1).modes, "digits": DIGITS}


@CLAIMS.claim("exp1_best_at_T", if_false="alternative", holds=lambda best_epoch, T: best_epoch == T,
              says="experiment 1's FD after T epochs is the lowest of the run")
def _(exp1, **_):
    return {"best_epoch": exp1.best_fd_epoch, "T": exp1.compare_epoch, "best_fd": exp1.best_fd}


@CLAIMS.claim("exp1_near_equilibrium", if_false="alternative",
              holds=lambda d_real, d_fake, tol: abs(d_real - 0.5) < tol and abs(d_fake - 0.5) < tol,
              says="experiment 1's mean D outputs on real and generated images are within "
                   "EQUILIBRIUM_TOL of 1/2 after T epochs")
def _(exp1, **_):
    a = compare(exp1)
    return {"d_real": a.d_real, "d_fake": a.d_fake, "tol": EQUILIBRIUM_TOL}


@CLAIMS.claim("exp1_fd_not_monotone", if_false="alternative", holds=lambda rises: rises > 0,
              says="experiment 1's FD rose in some epoch")
def _(exp1, **_):
    return {"rises": exp1.fd_rises, "epochs": len(exp1.epochs)}


# ----------------------------------------------------------------------------- experiment 2

@CLAIMS.claim("exp2_d_wins_throughout", if_false="alternative",
              holds=lambda fake2, fake1: all(b < a for a, b in zip(fake1, fake2)),
              says="in every epoch the mean D(G(z)) of experiment 2 is below experiment 1's")
def _(exp1, exp2, **_):
    n = min(len(exp1.epochs), len(exp2.epochs))
    return {"fake2": [at(exp2, e).d_fake for e in range(1, n + 1)],
            "fake1": [at(exp1, e).d_fake for e in range(1, n + 1)]}


@CLAIMS.claim("exp2_saturation_gap", if_false="alternative", holds=lambda d_fake: d_fake < 0.5,
              says="at experiment 2's mean D(G(z)) the non-saturating loss gives the generator a larger "
                   "gradient factor than the saturating one")
def _(exp2, **_):
    d = compare(exp2).d_fake
    return {"d_fake": d, "factor": (1 - d) / d if d > 0 else None}


@CLAIMS.claim("exp2_fd_worse", if_false="alternative", holds=lambda fd2, fd1: fd2 > fd1,
              says="after T epochs experiment 2's FD is above experiment 1's")
def _(exp1, exp2, **_):
    return {"fd2": compare(exp2).fd, "fd1": compare(exp1).fd}


@CLAIMS.claim("exp2_less_even", if_false="alternative",
              holds=lambda modes2, modes1, h2, h1, tol: modes2 < modes1 or h2 < h1 - tol,
              says="after T epochs experiment 2 covers fewer digits than experiment 1, or spreads its "
                   "samples over them less evenly (entropy lower by more than ENTROPY_TOL bits)")
def _(exp1, exp2, **_):
    a, b = compare(exp1), compare(exp2)
    return {"modes2": b.modes, "modes1": a.modes, "h2": b.entropy_bits, "h1": a.entropy_bits, "tol": ENTROPY_TOL}


@CLAIMS.claim("exp2_modes_collapse", if_false="alternative",
              holds=lambda drop2, drop1, min_drop: drop2 >= min_drop and drop2 > drop1,
              says="experiment 2's coverage fell at least MODE_DROP digits below an earlier best, "
                   "further than experiment 1's ever did")
def _(exp1, exp2, **_):
    return {"drop2": largest_coverage_drop(exp2), "drop1": largest_coverage_drop(exp1), "min_drop": MODE_DROP}


# ----------------------------------------------------------------------------- experiment 3

@CLAIMS.claim("exp3_slow_start", if_false="alternative", holds=lambda epochs3, epochs1: epochs3 > epochs1,
              says="experiment 3 takes more epochs than experiment 1 before its samples cover HALF_DIGITS digits")
def _(exp1, exp3, **_):
    e1, e3 = epochs_below(exp1, HALF_DIGITS), epochs_below(exp3, HALF_DIGITS)
    return {"epochs3": e3, "epochs1": e1, "updates3": e3 * exp3.steps_per_epoch,
            "updates1": e1 * exp1.steps_per_epoch, "half": HALF_DIGITS, "run3": len(exp3.epochs)}


@CLAIMS.claim("exp3_start_not_slower_per_update", if_false="alternative",
              holds=lambda updates3, updates1, reached3: reached3 and updates3 <= updates1,
              says="counted in updates, experiment 3 reaches HALF_DIGITS covered digits no later than experiment 1")
def _(exp1, exp3, **_):
    e1, e3 = epochs_below(exp1, HALF_DIGITS), epochs_below(exp3, HALF_DIGITS)
    return {"updates3": e3 * exp3.steps_per_epoch, "updates1": e1 * exp1.steps_per_epoch,
            "reached3": e3 < len(exp3.epochs)}


@CLAIMS.claim("exp3_slower_per_epoch", if_false="alternative", holds=lambda fd3, fd1: fd3 > fd1,
              says="after T epochs experiment 3's FD is above experiment 1's")
def _(exp1, exp3, **_):
    return {"fd3": compare(exp3).fd, "fd1": compare(exp1).fd}


def per_update(exp1, exp3) -> dict:
    """Experiment 3 after its last update against experiment 1 after as many updates."""
    last = exp3.epochs[len(exp3.epochs) - 1]
    one = fd_at_step(exp1, last.step)
    return {"fd3": last.fd, "step3": last.step, "fd1": one["fd"], "step1_lo": one["step_lo"],
            "step1_hi": one["step_hi"], "fd1_lo": one["fd_lo"], "fd1_hi": one["fd_hi"]}


@CLAIMS.claim("exp3_comparable_per_update", if_false="alternative",
              holds=lambda step3, step1_lo, step1_hi: step1_lo <= step3 <= step1_hi,
              says="experiment 1 has epochs on both sides of experiment 3's last update count")
def _(exp1, exp3, **_):
    return per_update(exp1, exp3)


@CLAIMS.claim("exp3_ahead_per_update", if_false="alternative", holds=lambda fd3, fd1: fd3 < fd1,
              says="after its last update experiment 3's FD is below experiment 1's after as many "
                   "updates (interpolated between experiment 1's epochs)")
def _(exp1, exp3, **_):
    return per_update(exp1, exp3)


@CLAIMS.claim("exp3_behind_after_all_epochs", if_false="alternative", holds=lambda fd3, fd1: fd3 > fd1,
              says="after its last epoch experiment 3's FD is above experiment 1's after T epochs")
def _(exp1, exp3, **_):
    last = exp3.epochs[len(exp3.epochs) - 1]
    return {"fd3": last.fd, "fd1": compare(exp1).fd}


@CLAIMS.claim("exp3_less_even", if_false="alternative",
              holds=lambda modes3, modes1, h3, h1, tol: modes3 < modes1 or h3 < h1 - tol,
              says="after its last epoch experiment 3 covers fewer digits than experiment 1 after T, or "
                   "spreads its samples less evenly")
def _(exp1, exp3, **_):
    a, z = compare(exp1), exp3.epochs[len(exp3.epochs) - 1]
    return {"modes3": z.modes, "modes1": a.modes, "h3": z.entropy_bits, "h1": a.entropy_bits, "tol": ENTROPY_TOL}
