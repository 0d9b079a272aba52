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
LEAD_EPOCHS = 2         # consecutive epochs: a shorter lead of one FD over another is not a lead
GAP_SHARE = 0.5         # "most of the gap": what remains at equal generator travel is below this share
NOISE_EPOCHS = 10       # the last epochs of a run over which its FD's epoch-to-epoch spread is measured
NOISE_SDS = 2           # FDs closer than this many spreads are not told apart


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

def collapse(run) -> dict:
    """The largest fall of the coverage below its best so far: where the best was reached (peak)
    and where the fall was deepest (trough, the first such epoch), the FD there, and the lowest FD
    from the peak to the trough (where the FD's rise during the fall starts)."""
    best, fall = None, (0, None, None)
    for record in run.epochs:
        if best is None or record.modes > best.modes:
            best = record
        if best.modes - record.modes > fall[0]:
            fall = (best.modes - record.modes, best, record)
    drop, top, bottom = fall
    if top is None:
        return {"drop": 0, "peak_epoch": None, "peak_modes": None, "trough_epoch": None,
                "trough_modes": None, "trough_fd": None, "low_fd": None, "low_fd_epoch": None}
    low = min((r for r in run.epochs if top.epoch <= r.epoch <= bottom.epoch), key=lambda r: r.fd)
    return {"drop": drop, "peak_epoch": top.epoch, "peak_modes": top.modes, "trough_epoch": bottom.epoch,
            "trough_modes": bottom.modes, "trough_fd": bottom.fd, "low_fd": low.fd, "low_fd_epoch": low.epoch}


def travel_epoch(exp1, exp2):
    """The epoch of experiment 1 whose generator has moved as far in total step size (sum of its
    learning rates) as experiment 2's after T epochs; None where no epoch of it matches exactly."""
    epoch = exp2.compare_epoch * exp2.settings.lr_g / exp1.settings.lr_g
    whole = round(epoch)
    return whole if abs(epoch - whole) < 1e-9 and 1 <= whole <= len(exp1.epochs) else None


@CLAIMS.claim("exp2_d_wins_throughout", if_false="alternative",
              holds=lambda fake2, fake1: all(b < a for a, b in zip(fake1, fake2)),
              says="in every epoch the mean D(G(z)) of experiment 2 is below experiment 1's")
def _(exp1, exp2, **_):
    n = min(len(exp1.epochs), len(exp2.epochs))
    fake2, fake1 = [at(exp2, e).d_fake for e in range(1, n + 1)], [at(exp1, e).d_fake for e in range(1, n + 1)]
    return {"fake2": fake2, "fake1": fake1, "lo2": min(fake2), "hi2": max(fake2), "lo1": min(fake1), "hi1": max(fake1)}


@CLAIMS.claim("exp2_early_lead", if_false="alternative", holds=lambda epochs, min_epochs: epochs >= min_epochs,
              says="for at least LEAD_EPOCHS consecutive epochs early on, experiment 2's FD is below experiment 1's")
def _(exp1, exp2, **_):
    n = min(len(exp1.epochs), len(exp2.epochs))
    ahead = [at(exp2, e).fd < at(exp1, e).fd for e in range(1, n + 1)]
    first = next((e for e in range(1, n + 1) if ahead[e - 1]), None)
    last = first
    while last is not None and last < n and ahead[last]:
        last += 1
    best = None if first is None else max(range(first, last + 1), key=lambda e: at(exp1, e).fd - at(exp2, e).fd)
    return {"epochs": 0 if first is None else last - first + 1, "min_epochs": LEAD_EPOCHS, "first": first,
            "last": last, "best": best, "fd2": None if best is None else at(exp2, best).fd,
            "fd1": None if best is None else at(exp1, best).fd}


@CLAIMS.claim("exp2_modes_collapse", if_false="alternative",
              holds=lambda drop2, drop1, min_drop: drop2 >= min_drop and drop2 > drop1,
              says="experiment 2's coverage fell at least MODE_DROP digits below an earlier best, "
                   "further than experiment 1's ever did")
def _(exp1, exp2, **_):
    two = collapse(exp2)
    return {"drop2": two["drop"], "drop1": collapse(exp1)["drop"], "min_drop": MODE_DROP,
            **{k: v for k, v in two.items() if k != "drop"}}


@CLAIMS.claim("exp2_recovers", if_false="alternative", holds=lambda final, trough: final > trough,
              says="after its deepest coverage fall, experiment 2 covers more digits again by epoch T")
def _(exp2, **_):
    return {"final": compare(exp2).modes, "trough": collapse(exp2)["trough_modes"]}


@CLAIMS.claim("exp2_fd_worse", if_false="alternative", holds=lambda fd2, fd1: fd2 > fd1,
              says="after T epochs experiment 2's FD is above experiment 1's")
def _(exp1, exp2, **_):
    return {"fd2": compare(exp2).fd, "fd1": compare(exp1).fd}


def at_equal_travel(exp1, exp2) -> dict:
    """Experiment 2 after T epochs against experiment 1 at the epoch of equal generator travel."""
    e = travel_epoch(exp1, exp2)
    two, one = compare(exp2), (at(exp1, e) if e else None)
    return {"epoch1": e, "fd2": two.fd, "fd1": None if one is None else one.fd, "fd1_T": compare(exp1).fd,
            "h2": two.entropy_bits, "h1": None if one is None else one.entropy_bits,
            "modes2": two.modes, "modes1": None if one is None else one.modes}


@CLAIMS.claim("exp2_gap_from_generator_step", if_false="alternative",
              holds=lambda fd2, fd1, fd1_T, share: abs(fd2 - fd1) < share * abs(fd2 - fd1_T),
              says="at equal generator travel (sum of the generator's learning rates) the FDs of "
                   "experiments 2 and 1 differ by less than GAP_SHARE of their difference at equal updates")
def _(exp1, exp2, **_):
    return {**at_equal_travel(exp1, exp2), "share": GAP_SHARE}


@CLAIMS.claim("exp2_less_even_at_equal_travel", if_false="alternative",
              holds=lambda modes2, modes1, h2, h1, tol: modes2 < modes1 or h2 < h1 - tol,
              says="at equal generator travel experiment 2 covers fewer digits than experiment 1, or "
                   "spreads its samples over them less evenly (entropy lower by more than ENTROPY_TOL bits)")
def _(exp1, exp2, **_):
    return {**at_equal_travel(exp1, exp2), "tol": ENTROPY_TOL}


# ----------------------------------------------------------------------------- experiment 3

def half_stage(exp1, exp3) -> dict:
    e1, e3 = epochs_below(exp1, HALF_DIGITS), epochs_below(exp3, HALF_DIGITS)
    return {"epochs3": e3, "epochs1": e1, "updates3": e3 * exp3.steps_per_epoch,
            "updates1": e1 * exp1.steps_per_epoch, "half": HALF_DIGITS, "run3": len(exp3.epochs),
            "reached3": e3 < len(exp3.epochs), "reached1": e1 < len(exp1.epochs)}


@CLAIMS.claim("exp3_slow_start", if_false="alternative", holds=lambda epochs3, epochs1: epochs3 > epochs1,
              says="experiment 3 takes more epochs than experiment 1 before its samples cover HALF_DIGITS digits")
def _(exp1, exp3, **_):
    return half_stage(exp1, exp3)


@CLAIMS.claim("exp3_reaches_half", if_false="alternative", holds=lambda reached3: reached3,
              says="experiment 3's samples cover HALF_DIGITS digits in some epoch")
def _(exp1, exp3, **_):
    return half_stage(exp1, exp3)


@CLAIMS.claim("exp3_start_not_slower_per_update", if_false="alternative",
              holds=lambda updates3, updates1, reached1: reached1 and updates3 <= updates1,
              says="the updates experiment 3 spends below HALF_DIGITS covered digits (all of them if it "
                   "never covers that many) are no more than experiment 1 needed to get there")
def _(exp1, exp3, **_):
    return half_stage(exp1, exp3)


def fd_noise(run) -> float:
    """The spread of a run's FD from one epoch to the next over its last NOISE_EPOCHS epochs: the
    standard deviation of the successive differences, which a slow trend barely affects."""
    fd = [r.fd for r in run.epochs][-NOISE_EPOCHS:]
    diffs = [b - a for a, b in zip(fd[:-1], fd[1:])]
    if len(diffs) < 2:
        return math.nan
    mean = sum(diffs) / len(diffs)
    return math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))


def per_update(exp1, exp3) -> dict:
    """Experiment 3 after its last update against experiment 1 after as many updates."""
    last = exp3.epochs[len(exp3.epochs) - 1]
    one = fd_at_step(exp1, last.step)
    return {"fd3": last.fd, "step3": last.step, "fd1": one["fd"], "step1_lo": one["step_lo"],
            "step1_hi": one["step_hi"], "fd1_lo": one["fd_lo"], "fd1_hi": one["fd_hi"],
            "noise": fd_noise(exp3), "sds": NOISE_SDS, "noise_epochs": NOISE_EPOCHS}


@CLAIMS.claim("exp3_comparable_per_update", if_false="alternative",
              holds=lambda step3, step1_lo, step1_hi: step1_lo <= step3 <= step1_hi,
              says="experiment 1 has epochs on both sides of experiment 3's last update count")
def _(exp1, exp3, **_):
    return per_update(exp1, exp3)


@CLAIMS.claim("exp3_level_per_update", if_false="alternative",
              holds=lambda fd3, fd1, noise, sds: abs(fd3 - fd1) <= sds * noise,
              says="after its last update experiment 3's FD differs from experiment 1's after as many "
                   "updates (interpolated) by at most NOISE_SDS times the spread of experiment 3's FD "
                   "between successive epochs")
def _(exp1, exp3, **_):
    return per_update(exp1, exp3)


@CLAIMS.claim("exp3_behind_after_all_epochs", if_false="alternative",
              holds=lambda fd3, fd1, noise, sds: fd3 - fd1 > sds * noise,
              says="after its last epoch experiment 3's FD is above experiment 1's after T epochs, by more "
                   "than NOISE_SDS times the spread of experiment 3's FD between successive epochs")
def _(exp1, exp3, **_):
    last = exp3.epochs[len(exp3.epochs) - 1]
    return {"fd3": last.fd, "fd1": compare(exp1).fd, "noise": fd_noise(exp3), "sds": NOISE_SDS}


@CLAIMS.claim("exp3_less_even", if_false="alternative",
              holds=lambda modes3, modes1, h3, h1, tol: modes3 < modes1 or h3 < h1 - tol,
              says="after its last epoch experiment 3 covers fewer digits than experiment 1 after T, or "
                   "spreads its samples less evenly")
def _(exp1, exp3, **_):
    a, z = compare(exp1), exp3.epochs[len(exp3.epochs) - 1]
    return {"modes3": z.modes, "modes1": a.modes, "h3": z.entropy_bits, "h1": a.entropy_bits, "tol": ENTROPY_TOL,
            "single_epochs": sum(r.modes == 1 for r in exp3.epochs), "run3": len(exp3.epochs)}


# ----------------------------------------------------------------------------- the game (theory.json)

@CLAIMS.claim("inner_maximum", if_false="stop",
              holds=lambda stationary, maximum, value, error, tol: stationary and maximum and value and error <= tol,
              says="D* = p_data/(p_data + p_g) maximizes V pointwise and max_D V = 2 JSD - log 4 "
                   "(sympy, and numerically on random distributions)")
def _(theory, **_):
    c, n = theory.checks, theory.numeric
    return {"stationary": c.d_star_stationary, "maximum": c.d_star_maximum, "value": c.inner_value,
            "error": n.inner_error, "tol": n.tol}


@CLAIMS.claim("non_saturating_at_d_star", if_false="stop",
              holds=lambda identity, bound, error, tol: identity and bound and error <= tol,
              says="at D* the non-saturating loss is KL(p_g||p_data) - KL(p_g||m) + log 2, with "
                   "0 <= KL(p_g||m) <= log 2 (sympy, and numerically on random distributions)")
def _(theory, **_):
    c, n = theory.checks, theory.numeric
    return {"identity": c.non_saturating, "bound": c.mixture_ratio_below_two,
            "error": n.non_saturating_error, "tol": n.tol}
