"""Q1.2's claims: what the text says about the runs, checked against the results files.

The results (keyword arguments): lr (the step-size rule), settings (m = d and m = 10 d), sweep (the
bonus sweep over m), compare (the sweep's initialisations by gradient descent, with our step and
with Safran & Shamir's), check (the SGD end points continued by gradient descent instead of
L-BFGS) and square, plus_one, wide (Safran & Shamir's protocol, one file per table). Every
threshold is a named constant here; the certificate's own tolerances are in hw4.toml.
"""
from __future__ import annotations

import math

from hw4.core.claims import Registry, arguments

CLAIMS = Registry("q1_2_overparam")

EDGE_FACTOR = 2.0       # "at least a factor of two below the measured edge of stability"
COST_RATIO = 2.0        # the loss per missed target "varies by less than a factor COST_RATIO"
AWAY_PULL = 0.25        # an uncovered target's pull on the unit pointing away from it is "weak": at most this
                        # share of its pull on a unit aligned with it
POWER_RATIO = 1.5       # not geometric: the second half's log-log slope at most this factor steeper than the first's
FLAT_SLOPE = 0.5        # "keeps falling": the log-log slope stays below -FLAT_SLOPE
MC_WITHIN = 0.9         # Monte Carlo agrees "as well as sampling allows": this share within 2 s.e. ...
MC_MAX_Z = 5.0          # ... and no estimate further than this many standard errors
MILD = 0.1              # "mild" over-parameterisation: at most this share of extra units
SLOW_FACTOR = 1.5       # m = 10 d needs at least this many times the fastest width's steps (median runs)
AGREE_SHARE = 0.8       # the reproduction "agrees": their share inside our 95% interval in this share of cells
RANGE_TOL = 0.05        # our averages at spurious minima within their reported ranges, to this relative slack
INFORMATIVE = 0.9       # a width tells whether the start decides the outcome only if independent outcomes
                        # would agree on at most this share of its runs
INIT_Z = 2.0            # "the start partly decides": agreement at least this many standard deviations above
                        # the agreement of independent outcomes, at every informative width

# Safran & Shamir's Table 1 (n = k): the range of the average smallest Hessian eigenvalue and of the
# average objective F at the spurious minima found, in their units (F = f / 2), as reported.
REPORTED_EIG_RANGE = (0.0047, 0.038)
REPORTED_F_RANGE = (0.02, 0.033)


def width(rows, m):
    """The record of width m in a list of per-width records."""
    found = [r for r in rows if r.m == m]
    return found[0] if found else None


def cells(square, plus_one, wide):
    return [c for table in (square, plus_one, wide) for c in table.cells]


def pull(theta: float) -> float:
    """The norm of a target's pull on a unit at angle theta to it, the gradient term
    (sin(theta) w/|w| + (pi - theta) e) / (2 pi) for unit-norm e, over its value pi / (2 pi) at theta = 0."""
    sq = math.sin(theta) ** 2 + (math.pi - theta) ** 2 + 2 * math.sin(theta) * (math.pi - theta) * math.cos(theta)
    return math.sqrt(max(sq, 0.0)) / math.pi


# ----------------------------------------------------------------------------- the step-size rule

@CLAIMS.claim("lr_scaling", if_false="alternative", holds=lambda ratio, widths_ratio: ratio <= math.sqrt(widths_ratio),
              says="over the range of widths the largest stable c varies by less than the square root of "
                   "that range: closer to the 1/m rule (no change) than to a constant step (a change like m)")
def _(lr, **_):
    ms = [w.m for w in lr.widths]
    return {"ratio": lr.stable_scale_max / lr.stable_scale_min, "widths_ratio": max(ms) / min(ms),
            "c_min": lr.stable_scale_min, "c_max": lr.stable_scale_max}


@CLAIMS.claim("lr_below_edge", if_false="alternative", holds=lambda margin, factor: margin >= factor,
              says="at every width the step scale c is at least EDGE_FACTOR below the largest stable one")
def _(lr, **_):
    return {"margin": min(w.stable_scale for w in lr.widths) / lr.scale, "factor": EDGE_FACTOR, "c": lr.scale}


# ----------------------------------------------------------------------------- how runs end

@CLAIMS.claim("all_certified", if_false="alternative", holds=lambda unresolved: unresolved == 0,
              says="no run of the two settings, the sweep or Safran & Shamir's cells is left unresolved")
def _(settings, sweep, square, plus_one, wide, **_):
    groups = [*settings.runs, *sweep.widths]
    table = cells(square, plus_one, wide)
    return {"unresolved": sum(r.n_unresolved for r in [*groups, *table]),
            "runs": sum(r.seeds for r in groups) + sum(c.runs for c in table)}


@CLAIMS.claim("no_degenerate", if_false="alternative", holds=lambda degenerate: degenerate == 0,
              says="no end point above loss_tol has a vanishing unit or two parallel units")
def _(settings, sweep, square, plus_one, wide, **_):
    rows = [*settings.runs, *sweep.widths]
    return {"degenerate": sum(r.n_vanishing + r.n_parallel for r in rows)
            + sum(c.n_degenerate for c in cells(square, plus_one, wide))}


@CLAIMS.claim("continuation_agrees", if_false="alternative", holds=lambda agree, runs: agree == runs,
              says="continuing the SGD end points by gradient descent at the SGD's step gives every run "
                   "the label that the L-BFGS continuation gives it")
def _(check, **_):
    return {"agree": sum(r.lbfgs_vs_gd.agree for r in check.widths), "runs": sum(r.seeds for r in check.widths)}


@CLAIMS.claim("newton_handover_agrees", if_false="alternative",
              holds=lambda close, converged, handed: handed > 0 and close == handed and converged == handed,
              says="in the checked cell of Safran & Shamir's protocol, plain gradient descent from every point "
                   "where a run was handed to Newton's method reaches grad_tol at the minimum Newton's method found "
                   "(within check_distance)")
def _(check, **_):
    r = check.newton
    return {"close": r.close, "converged": r.converged, "handed": r.handed, "max_distance": r.max_distance,
            "tol": check.settings.check_distance}


# ----------------------------------------------------------------------------- m = d

@CLAIMS.claim("small_mostly_spurious", if_false="alternative", holds=lambda spurious, seeds: 2 * spurious > seeds,
              says="at m = d most runs end at a spurious local minimum")
def _(settings, **_):
    small = settings.runs[0]
    return {"spurious": small.n_spurious, "seeds": small.seeds}


@CLAIMS.claim("spurious_minima_miss_targets", if_false="alternative",
              holds=lambda spurious, uncovering: spurious > 0 and uncovering == spurious,
              says="at m = d (the required setting and the sweep) some SGD run ends at a certified spurious local "
                   "minimum, and every such run leaves a target direction without a unit at cosine cover_cos or "
                   "more (Question 1.1 cites this)")
def _(settings, sweep, **_):
    rows = [settings.runs[0], *[r for r in sweep.widths if r.m == sweep.settings.d]]
    return {"spurious": sum(r.n_spurious for r in rows), "uncovering": sum(r.n_spurious_uncovering for r in rows),
            "seeds": sum(r.seeds for r in rows)}


@CLAIMS.claim("plus_one_keeps_spurious", if_false="alternative", holds=lambda spurious: spurious > 0,
              says="at m = d + 1 some SGD run of the sweep ends at a certified spurious local minimum "
                   "(Question 1.1 cites this)")
def _(sweep, **_):
    r = width(sweep.widths, sweep.settings.d + 1)
    return {"spurious": r.n_spurious if r is not None else None, "seeds": r.seeds if r is not None else None,
            "frac": r.frac_spurious if r is not None else None}


@CLAIMS.claim("small_cost_per_target", if_false="alternative",
              holds=lambda cost_min, cost_max, ratio: cost_max <= ratio * cost_min,
              says="at m = d the loss of a spurious minimum per uncovered target varies by at most COST_RATIO")
def _(settings, **_):
    cost = settings.runs[0].loss_per_uncovered
    if cost is None:  # no spurious minimum at m = d
        return {"cost_min": None, "cost_max": None, "ratio": COST_RATIO}
    return {"cost_min": cost["min"], "cost_max": cost["max"], "ratio": COST_RATIO}


@CLAIMS.claim("small_unit_points_away", if_false="alternative",
              holds=lambda cos_max, pull_max, weak: cos_max < 0 and pull_max <= weak,
              says="at every spurious minimum at m = d, each uncovered target has a unit pointing away from it, "
                   "on which the target's pull is at most AWAY_PULL of its pull on a unit aligned with it")
def _(settings, **_):
    cos_max = settings.runs[0].opposite_cos_max
    theta = None if cos_max is None else math.acos(max(-1.0, min(1.0, cos_max)))
    return {"cos_max": cos_max, "angle_min": None if theta is None else math.degrees(theta),
            "pull_max": None if theta is None else pull(theta), "weak": AWAY_PULL}


@CLAIMS.claim("small_genuine_minima", if_false="alternative", holds=lambda bound_min, eig_min: bound_min > 0 and eig_min > 0,
              says="at m = d every spurious end point has a positive definite Hessian and a positive "
                   "lower bound on the value of the minimum next to it")
def _(settings, **_):
    small = settings.runs[0]
    return {"bound_min": small.spurious_value_bound_min, "eig_min": small.spurious_min_eig_min}


# ----------------------------------------------------------------------------- m = 10 d

@CLAIMS.claim("large_all_global", if_false="alternative", holds=lambda reached, seeds: reached == seeds,
              says="at m = 10 d every run reaches a global minimum")
def _(settings, **_):
    large = settings.runs[-1]
    return {"reached": large.n_global, "seeds": large.seeds}


@CLAIMS.claim("large_overshoots", if_false="alternative", holds=lambda start, f0: start > f0,
              says="at m = 10 d the median initial loss is above f(0): the units overshoot the target")
def _(settings, **_):
    start = sorted(row[0] for row in settings.runs[-1].curves.loss)
    return {"start": start[(len(start) - 1) // 2], "f0": settings.f0}


@CLAIMS.claim("large_not_geometric", if_false="alternative",
              holds=lambda first, second, ratio, flat: second <= -flat and first < 0 and second >= ratio * first,
              says="at m = 10 d the SGD loss keeps falling (log-log slope over the second half of the window at "
                   "most -FLAT_SLOPE) without steepening (not more than POWER_RATIO times the first half's "
                   "slope): slower than a geometric rate, which would steepen on log-log axes")
def _(settings, **_):
    large = settings.runs[-1]
    return {"first": large.slope_first_half, "second": large.slope_second_half, "ratio": POWER_RATIO,
            "flat": FLAT_SLOPE, "slope": large.slope_median}


@CLAIMS.claim("mc_agrees", if_false="alternative",
              holds=lambda within, max_z, share, z: min(within) >= share and max(max_z) <= z,
              says="at least MC_WITHIN of the Monte Carlo estimates lie within 2 standard errors of the exact "
                   "loss and none beyond MC_MAX_Z")
def _(settings, **_):
    return {"within": [r.mc.frac_within_2se for r in settings.runs], "max_z": [r.mc.max_abs_z for r in settings.runs],
            "share": MC_WITHIN, "z": MC_MAX_Z}


# ----------------------------------------------------------------------------- the sweep over m

@CLAIMS.claim("mild_removes_spurious", if_false="alternative",
              holds=lambda clean_from, d, mild: clean_from <= d * (1 + mild),
              says="from some m with at most a share MILD of extra units on, no run of any width ends at a "
                   "spurious minimum")
def _(sweep, **_):
    return {"clean_from": sweep.clean_from_m, "d": sweep.settings.d, "mild": MILD}


def near_saddle(sweep) -> dict:
    """The SGD runs of the sweep that end their steps at rest near a saddle (|grad f| < sgd_rest_grad, a
    negative Hessian eigenvalue): over all widths, and at the width with the most of them (the widest
    on a tie), with where their continuations end."""
    most = max(sweep.widths, key=lambda r: (r.n_sgd_near_saddle, r.m))
    return {"near_saddle": sum(r.n_sgd_near_saddle for r in sweep.widths), "m": most.m,
            "at_m": most.n_sgd_near_saddle, "to_global": most.sgd_near_saddle_to["global"],
            "to_spurious": most.sgd_near_saddle_to["spurious"]}


@CLAIMS.claim("sgd_stalls_near_saddles", if_false="alternative", holds=lambda near_saddle: near_saddle > 0,
              says="some SGD runs of the sweep end their steps at rest near a saddle (|grad f| < sgd_rest_grad, "
                   "a negative eigenvalue there)")
def _(sweep, **_):
    return near_saddle(sweep)


@CLAIMS.claim("near_saddle_runs_escape", if_false="alternative",
              holds=lambda at_m, to_global: at_m > 0 and to_global == at_m,
              says="at the width with the most SGD runs ending near a saddle, every one of them reaches a global "
                   "minimum when continued")
def _(sweep, **_):
    r = near_saddle(sweep)
    return {k: r[k] for k in ("m", "at_m", "to_global", "to_spurious")}


@CLAIMS.claim("widest_still_falling", if_false="alternative",
              holds=lambda moving, seeds, drop, reached: moving == seeds and drop < 1 and reached == seeds,
              says="at the widest m every SGD run is still descending when its steps run out (loss still "
                   "falling over the second half) and its continuation reaches a global minimum")
def _(sweep, **_):
    last = sweep.widths[-1]
    return {"moving": last.n_sgd_moving, "seeds": last.seeds, "drop": last.global_drop_median, "reached": last.n_global}


def slowdown(sweep, settings) -> dict:
    """Steps to loss_tol at a constant step size: the sweep's fastest width (median run) against the
    wide setting (m = 10 d, 16 runs with a constant step for most of their 50 000 steps), and whether
    every sweep width above the fastest is slower (or censored: not below loss_tol by the end)."""
    s = sweep.settings
    decay_from = s.sweep_steps * (1 - s.anneal_frac)
    fast = width(sweep.widths, sweep.fastest_m) if sweep.fastest_m is not None else None
    wide = settings.runs[-1]
    crossings = [t for t in (wide.steps_to_tol or []) if t is not None]
    wide_decay_from = settings.settings.settings_steps * (1 - settings.settings.anneal_frac)
    above = [r for r in sweep.widths if fast is not None and r.m > fast.m]
    return {"fastest_m": sweep.fastest_m, "fastest": fast.median_steps_to_tol if fast is not None else None,
            "decay_from": int(round(decay_from)),
            "above_reached": [r.m for r in above if r.median_steps_to_tol is not None],
            "above_steps": [r.median_steps_to_tol for r in above if r.median_steps_to_tol is not None],
            "censored": [r.m for r in above if r.median_steps_to_tol is None], "wide_m": wide.m, "wide": wide.median_steps_to_tol,
            "wide_min": min(crossings) if len(crossings) == wide.seeds else None,
            "wide_max": max(crossings) if len(crossings) == wide.seeds else None,
            "wide_decay_from": int(round(wide_decay_from)), "factor": SLOW_FACTOR,
            "above_slower": all(r.median_steps_to_tol is None or (fast is not None and r.median_steps_to_tol
                                                                   > fast.median_steps_to_tol) for r in above)}


def slower(fastest_m, fastest, decay_from, wide_m, wide, wide_min, wide_max, wide_decay_from, factor,
           above_slower) -> bool:
    """Past the fastest width more units cost steps, each count taken at a constant step size."""
    return (fastest < decay_from and fastest_m < wide_m and wide_max < wide_decay_from
            and wide >= factor * fastest and wide_min > fastest and above_slower)


@CLAIMS.claim("wide_is_slower", if_false="alternative", holds=slower,
              says="past the sweep's fastest width more units cost steps: every wider sweep width's median run is "
                   "slower or not below loss_tol by the end, and at m = 10 d every run crosses later than the "
                   "fastest width's median run, the median at least SLOW_FACTOR times later, all crossings "
                   "before the step starts to decay")
def _(sweep, settings, **_):
    return slowdown(sweep, settings)


# ----------------------------------------------------------------------------- Safran & Shamir

@CLAIMS.claim("reproduction_agrees", if_false="alternative", holds=lambda inside, reported, share: inside >= share * reported,
              says="their reported share lies inside our 95% interval in at least AGREE_SHARE of the cells")
def _(square, plus_one, wide, **_):
    rep = [c for c in cells(square, plus_one, wide) if c.reported_pct is not None]
    return {"inside": sum(bool(c.agrees) for c in rep), "reported": len(rep), "share": AGREE_SHARE}


@CLAIMS.claim("minima_like_theirs", if_false="alternative",
              holds=lambda eig, F, eig_range, F_range, tol: eig_range[0] * (1 - tol) <= min(eig)
              and max(eig) <= eig_range[1] * (1 + tol) and F_range[0] * (1 - tol) <= min(F) and max(F) <= F_range[1] * (1 + tol),
              says="the averages of the smallest eigenvalue and of F at our spurious minima (n = k) lie in "
                   "their reported ranges, to RANGE_TOL")
def _(square, **_):
    found = [c for c in square.cells if c.n_spurious > 0]
    return {"eig": [c.spurious_eig_F_mean for c in found] or None, "F": [c.spurious_F_mean for c in found] or None,
            "eig_range": list(REPORTED_EIG_RANGE), "F_range": list(REPORTED_F_RANGE), "tol": RANGE_TOL}


@CLAIMS.claim("their_step_stable", if_false="alternative", holds=lambda diverged: diverged == 0,
              says="their step 5/k diverged from no initialisation in any cell")
def _(square, plus_one, wide, **_):
    return {"diverged": sum(bool(c.their_step_diverged) for c in cells(square, plus_one, wide))}


@CLAIMS.claim("protocols_agree", if_false="alternative", holds=lambda outside: outside == 0,
              says="at every width both protocols ran, Safran & Shamir's share lies inside the 95% interval "
                   "of the SGD sweep's")
def _(sweep, square, plus_one, wide, **_):
    d = sweep.settings.d
    theirs = {c.n: c for c in cells(square, plus_one, wide) if c.k == d}
    both = [(r, theirs[r.m]) for r in sweep.widths if r.m in theirs]
    outside = [r.m for r, c in both if not r.spurious_ci95[0] <= c.frac_spurious <= r.spurious_ci95[1]]
    return {"outside": len(outside) if both else None, "widths": [r.m for r, _ in both], "outside_m": outside}


@CLAIMS.claim("step_size_immaterial", if_false="alternative", holds=lambda agree, runs: agree == runs,
              says="from the same initial weights, gradient descent with our step and with theirs ends every "
                   "run with the same label")
def _(compare, **_):
    return {"agree": sum(r.gd_our_vs_their_step.agree for r in compare.widths),
            "runs": sum(r.seeds for r in compare.widths)}


def chance_agreement(r) -> float:
    """The share of runs on which SGD and gradient descent (our step) would agree if their outcomes
    (spurious or not) were independent, given how often each ends at a spurious minimum."""
    p, q = r.sgd.n_spurious / r.seeds, r.gd_our_step.n_spurious / r.seeds
    return p * q + (1 - p) * (1 - q)


@CLAIMS.claim("init_decides", if_false="alternative",
              holds=lambda informative, z_min, z: len(informative) > 0 and z_min >= z,
              says="at every width where independent outcomes would agree on at most INFORMATIVE of the runs (and "
                   "there is one), SGD and gradient descent from the same initial weights agree at least INIT_Z "
                   "standard deviations more often than independent outcomes would")
def _(compare, **_):
    rows = [r for r in compare.widths if chance_agreement(r) <= INFORMATIVE]
    zs = [(r.sgd_vs_gd_our_step.agree - r.seeds * chance_agreement(r))
          / math.sqrt(r.seeds * chance_agreement(r) * (1 - chance_agreement(r))) for r in rows]
    return {"informative": [r.m for r in rows], "agree": [r.sgd_vs_gd_our_step.agree for r in rows],
            "runs": [r.seeds for r in rows], "chance": [r.seeds * chance_agreement(r) for r in rows],
            "z_min": min(zs) if zs else None, "z": INIT_Z}


@CLAIMS.claim("noise_does_not_rescue", if_false="alternative", holds=lambda rescued, trapped: rescued <= trapped,
              says="SGD's noise takes no more runs from a spurious minimum (where gradient descent from the same "
                   "initial weights ends) to a global one than the other way round")
def _(compare, **_):
    return {"rescued": sum(r.sgd_vs_gd_our_step.only_second_spurious for r in compare.widths),
            "trapped": sum(r.sgd_vs_gd_our_step.only_first_spurious for r in compare.widths)}


def summary(spurious_at_d, seeds, their_at_d, their_runs, clean_from, d, mild, not_global, outside, **slow):
    return (2 * spurious_at_d > seeds and 2 * their_at_d > their_runs and clean_from <= d * (1 + mild)
            and not_global == 0 and outside == 0
            and slower(**arguments(slower, slow)))


@CLAIMS.claim("summary", if_false="alternative", holds=summary,
              says="under both protocols most runs are spurious at m = d and every run is global from a mildly "
                   "larger m on (and the protocols' shares agree); under SGD, past the fastest width more units "
                   "cost steps (wide_is_slower)")
def _(sweep, settings, square, plus_one, wide, **_):
    d = sweep.settings.d
    at_d = width(sweep.widths, d)
    theirs = {c.n: c for c in cells(square, plus_one, wide) if c.k == d}
    both = [(r, theirs[r.m]) for r in sweep.widths if r.m in theirs]
    their_d = theirs.get(d)
    return {"spurious_at_d": at_d.n_spurious if at_d is not None else None,
            "seeds": at_d.seeds if at_d is not None else None,
            "their_at_d": their_d.n_spurious if their_d is not None else None,
            "their_runs": their_d.runs if their_d is not None else None,
            "clean_from": sweep.clean_from_m, "d": d, "mild": MILD, **slowdown(sweep, settings),
            # runs not at a global minimum from clean_from on (saddles, unresolved), in both protocols
            "not_global": None if sweep.clean_from_m is None else
            sum(r.seeds - r.n_global for r in sweep.widths if r.m >= sweep.clean_from_m)
            + sum(c.runs - c.n_global for c in cells(square, plus_one, wide) if c.k == d and c.n >= sweep.clean_from_m),
            "outside": sum(not r.spurious_ci95[0] <= c.frac_spurious <= r.spurious_ci95[1] for r, c in both)
            if both else None}
