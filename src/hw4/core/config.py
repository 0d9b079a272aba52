"""The one config file, hw4.toml: its schema, its validation and its profiles.

The schema is the dataclasses below, one per top-level table; hw4.toml holds the values.
The base tables are the `full` profile (the assignment's settings); a profile such as
`quick` overrides a few keys under `[quick.<section>]`. Every key is required in the base
tables, so a typo can never silently fall back to a default.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from hw4.core.errors import Hw4Error

CONFIG_FILE = Path("hw4.toml")
PROFILES = ("full", "quick")


class ConfigError(Hw4Error, ValueError):
    """A problem in hw4.toml, with a message naming the file, the key and the fix."""


def rule(text: str, ok) -> dataclasses.Field:
    """A field whose value (or each item, for a list) must satisfy `ok`; `text` says how."""
    return field(metadata={"rule": text, "ok": ok})


def positive():
    return rule("> 0", lambda v: v > 0)


def at_least(low):
    return rule(f">= {low}", lambda v: v >= low)


def fraction():
    return rule("in [0, 1]", lambda v: 0 <= v <= 1)


# ----------------------------------------------------------------------------- schema

@dataclass(frozen=True)
class Report:
    course: str
    homework: str
    author: str
    date: str


@dataclass(frozen=True)
class Batchnorm:
    """Q4: numeric cross-checks of the symbolic batch-norm results."""
    lam: float = positive()            # the lambda used for numeric checks and the figure
    dim: int = at_least(2)             # dimension d of the numeric checks
    angle_deg: float = rule("in (0, 180)", lambda v: 0 < v < 180)  # angle between w and w*
    r_min: float = positive()          # smallest ||w|| on the figure's log axis
    r_max: float = positive()
    points: int = at_least(3)          # radii on the figure
    fd_step: float = positive()        # relative finite-difference step
    seed: int = at_least(0)


@dataclass(frozen=True)
class Minimax:
    """Q5.1: the grid search and finite differences that cross-check the sympy results."""
    grid_x: int = at_least(3)          # grid points in x for min over x of max over y
    grid_y: int = at_least(3)          # grid points in y
    fd_step: float = positive()
    deltas: list[float] = rule("in (0, 1]", lambda v: 0 < v <= 1)  # x moves of the local-minimax check
    local_points: int = at_least(3)    # y grid points in each neighbourhood of the local check
    plot_x: int = at_least(3)          # resolution of the landscape of f stored for the figure
    plot_y: int = at_least(3)


@dataclass(frozen=True)
class SparseCoding:
    """Q3: the sparse coding example, attacked at tau = 1/sqrt(dim) (the assignment's radius)."""
    dim: int = at_least(4)             # d: input dimension = number of dictionary features
    sparsity: int = rule("odd and >= 1", lambda v: v >= 1 and v % 2 == 1)  # k active features per input
    threshold: float = rule("in (0, 1)", lambda v: 0 < v < 1)  # b: the ReLU network's bias
    samples: int = at_least(10)        # inputs attacked
    pgd_steps: int = at_least(1)       # projected-gradient attack: the numeric cross-check
    pgd_restarts: int = at_least(1)
    radius_max: float = positive()     # the robustness curve spans tau sqrt(d) in [0, radius_max]
    radius_points: int = at_least(3)
    seed: int = at_least(0)


@dataclass(frozen=True)
class Overparam:
    """Q1.2: SGD on the exact population loss of a two-layer ReLU student, and the sweep over m."""
    d: int = at_least(1)               # input dimension = number of target units
    settings_m: list[int] = at_least(1)  # student widths of the required figure (m = d and m = 10 d)
    settings_seeds: int = at_least(1)  # independent runs per required setting
    sweep_m: list[int] = at_least(1)   # student widths of the bonus sweep
    sweep_seeds: int = at_least(1)     # independent runs per width of the sweep
    batch: int = at_least(1)           # SGD mini-batch size B
    settings_steps: int = at_least(10)  # SGD iterations per run of the required settings
    sweep_steps: int = at_least(10)    # SGD iterations per run of the sweep
    lr_grid: list[float] = positive()  # candidate step scales c, lr = c / m; the rule picks one
    lr_safety: float = rule("in (0, 1]", lambda v: 0 < v <= 1)  # c = lr_safety * largest stable c
    calib_steps: int = at_least(10)    # length of each stability trial
    calib_seeds: int = at_least(1)     # runs per stability trial
    anneal_frac: float = rule("in [0, 1)", lambda v: 0 <= v < 1)  # final share of steps with a decaying lr
    anneal_to: float = rule("in (0, 1]", lambda v: 0 < v <= 1)    # lr factor reached at the last step
    evals: int = at_least(2)           # exact evaluations of f, log-spaced in the step count
    mc_points: int = at_least(1)       # checkpoints with a Monte Carlo estimate of f (required settings)
    mc_samples: int = at_least(100)    # Gaussian samples per Monte Carlo estimate
    loss_tol: float = positive()       # f below this: a global minimum reached
    sgd_rest_grad: float = positive()  # an SGD end point with f >= loss_tol, |grad f| below this and a target uncovered is at rest
    cover_cos: float = rule("in (0, 1)", lambda v: 0 < v < 1)  # a target counts as covered by a unit at cosine >= this
    # the continuation on the exact loss and the certificate of its end point (q1_2_overparam/settle.py, endpoints.py)
    sweep_gd_steps: int = at_least(0)  # gradient-descent steps (the SGD's step) before L-BFGS continues an SGD run
    grad_tol: float = positive()       # certified at rest: |grad f| <= this
    newton_grad: float = positive()    # gradient descent hands a run to Newton below this |grad f| ...
    newton_radius: float = positive()  # ... if the Hessian is positive definite and the Newton step is shorter than this
    newton_steps: int = at_least(1)    # Newton steps at most
    lbfgs_iters: int = at_least(1)     # L-BFGS iterations at most (then: unresolved)
    lbfgs_memory: int = at_least(1)    # L-BFGS curvature pairs kept
    dense_max: int = at_least(1)       # dense Hessians up to m d parameters; Lanczos above
    lanczos_iters: int = at_least(2)   # Lanczos iterations at most
    lanczos_tol: float = positive()    # Lanczos stops when the Ritz residual is below this times |H|
    eig_margin: float = positive()     # an eigenvalue counts as positive (negative) only beyond this
    degenerate_tol: float = positive()  # a unit shorter than this, or two units closer in angle: degenerate
    # Safran & Shamir (2018)'s protocol on the same loss (q1_2_overparam/safran.py)
    ss_square_k: list[int] = at_least(2)     # cells n = k (their Table 1)
    ss_plus_one_k: list[int] = at_least(2)   # cells n = k + 1 (their Table 2)
    ss_wide_n: list[int] = at_least(2)       # cells k = d with these n (the bonus figure's widths)
    ss_runs: int = at_least(1)         # gradient-descent runs per cell
    ss_step: float = positive()        # their step: ss_step / k on their loss f / 2
    ss_gd_steps: int = at_least(1)     # gradient-descent steps at most, then L-BFGS
    # the same initialisations under the other protocol's optimiser (what makes the numbers differ)
    compare_m: list[int] = at_least(1)  # widths of the sweep rerun with plain gradient descent
    compare_gd_steps: int = at_least(1)
    check_cell: list[int] = at_least(1)  # (k, n): Safran & Shamir's cell whose Newton handovers are checked
    check_distance: float = positive()   # plain gradient descent ends "at the same point" within this (max |w_ij|)
    cpu_threads: int = at_least(1)     # torch CPU threads while this experiment runs
    seed: int = at_least(0)

    def __post_init__(self):
        extra = sorted(set(self.compare_m) - set(self.sweep_m))
        if extra:
            raise ConfigError(f"overparam.compare_m holds {extra[0]}, which is not in overparam.sweep_m; "
                              f"the comparison reruns the sweep's own initialisations")
        cells = ({(k, k) for k in self.ss_square_k} | {(k, k + 1) for k in self.ss_plus_one_k}
                 | {(self.d, n) for n in self.ss_wide_n})
        if len(self.check_cell) != 2 or tuple(self.check_cell) not in cells:
            raise ConfigError(f"overparam.check_cell = {self.check_cell} is not [k, n] of a cell of Safran & "
                              f"Shamir's tables (ss_square_k, ss_plus_one_k, ss_wide_n); pick one of their cells")


@dataclass(frozen=True)
class GanExperiment:
    """One Q5.2 experiment: the assignment fixes its learning rates, batch size and epochs."""
    lr_g: float = positive()           # generator's Adam learning rate
    lr_d: float = positive()           # discriminator's Adam learning rate
    batch: int = at_least(1)
    epochs: int = at_least(1)


@dataclass(frozen=True)
class Gan:
    """Q5.2: the reference GAN on MNIST and how its samples are measured."""
    model: str = rule("'A' or 'B' (facts.md section 2)", lambda v: v in ("A", "B"))
    seed: int = at_least(0)            # same seed, same initial weights and noise in every experiment
    train_images: int = at_least(1)    # MNIST training images used (60000: all)
    compare_epoch: int = at_least(1)   # the assignment's T = 20: grids and numbers compared there
    grid_samples: int = rule("a square >= 4", lambda v: v >= 4 and round(v ** 0.5) ** 2 == v)
    eval_samples: int = at_least(100)  # generated images scored by the classifier after every epoch
    mode_share: float = rule("in (0, 0.1]", lambda v: 0 < v <= 0.1)  # a digit is covered at this share
    curve_points: int = at_least(1)    # points per epoch on the training curves
    cpu_threads: int = at_least(1)     # torch CPU threads while an experiment runs (no GPU)
    experiments: dict[str, GanExperiment]

    def __post_init__(self):
        for name, exp in self.experiments.items():
            if exp.epochs < self.compare_epoch:
                raise ConfigError(f"gan.experiments.{name}.epochs = {exp.epochs} is below "
                                  f"gan.compare_epoch = {self.compare_epoch}; every experiment "
                                  f"must reach the epoch its samples are compared at")


@dataclass(frozen=True)
class Classifier:
    """Q5.2: the MNIST classifier that measures generated samples."""
    seed: int = at_least(0)
    epochs: int = at_least(1)
    batch: int = at_least(1)
    lr: float = positive()             # Adam, decayed by lr_decay after every epoch
    lr_decay: float = rule("in (0, 1]", lambda v: 0 < v <= 1)
    train_images: int = at_least(100)  # MNIST training images used (60000: all)
    min_accuracy: float = fraction()   # the task fails below this test accuracy
    cpu_threads: int = at_least(1)     # torch CPU threads while it trains (no GPU)


SECTIONS: dict[str, type] = {
    "report": Report,
    "overparam": Overparam,
    "batchnorm": Batchnorm,
    "minimax": Minimax,
    "sparse_coding": SparseCoding,
    "gan": Gan,
    "classifier": Classifier,
}


@dataclass(frozen=True)
class Config:
    profile: str
    sections: dict[str, typing.Any]

    def __getattr__(self, name):
        try:
            return self.sections[name]
        except KeyError:
            raise AttributeError(name) from None


# ----------------------------------------------------------------------------- loading

def load(path: Path | str = CONFIG_FILE, profile: str = "full") -> Config:
    path = Path(path)
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)} "
                          f"(e.g. `doit profile=quick`)")
    if not path.exists():
        raise ConfigError(f"{path}: config file not found; run from the repository root")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    overrides = {p: raw.pop(p, {}) for p in PROFILES if p != "full"}
    table = _merge(raw, overrides.get(profile, {}), f"{path}: [{profile}]") if profile != "full" else raw
    for name, sub in overrides.items():  # validate every profile's keys, not just the chosen one
        _merge(raw, sub, f"{path}: [{name}]")
    missing = sorted(set(SECTIONS) - set(table))
    unknown = sorted(set(table) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown section [{unknown[0]}]; "
                          f"expected one of {', '.join(SECTIONS)}")
    if missing:
        raise ConfigError(f"{path}: missing section [{missing[0]}]")
    sections = {name: _build(cls, table[name], f"{path}: {name}") for name, cls in SECTIONS.items()}
    return Config(profile=profile, sections=sections)


def _merge(base: dict, override: dict, where: str) -> dict:
    """Overlay a profile's tables on the base tables; a key the base lacks is a typo."""
    merged = dict(base)
    for key, value in override.items():
        if key not in base:
            raise ConfigError(f"{where}: unknown key {key!r}; it must also exist in the base tables")
        if isinstance(value, dict) and isinstance(base[key], dict):
            merged[key] = _merge(base[key], value, f"{where[:-1]}.{key}]")
        else:
            merged[key] = value
    return merged


def _build(cls, table, where: str):
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {_kind(table)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            raise ConfigError(f"{where}.{key}: unknown key; expected one of {', '.join(fields)}")
    values = {}
    for name, f in fields.items():
        if name not in table:
            raise ConfigError(f"{where}.{name}: missing key ({_describe(hints[name])})")
        values[name] = _value(hints[name], table[name], f"{where}.{name}", f.metadata)
    return cls(**values)


def _value(tp, value, where: str, meta):
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if origin is dict:
        _, item = typing.get_args(tp)
        if not isinstance(value, dict) or not value:
            raise ConfigError(f"{where}: expected a non-empty table, got {_kind(value)}")
        return {k: _value(item, v, f"{where}.{k}", meta) for k, v in value.items()}
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: expected a non-empty list of {_describe(item)}, got {_kind(value)}")
        return [_value(item, v, f"{where}[{i}]", meta) for i, v in enumerate(value)]
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {_describe(tp)}, got {_kind(value)} {value!r}")
    if "ok" in meta and not meta["ok"](value):
        raise ConfigError(f"{where}: {value!r} is out of range; expected a value {meta['rule']}")
    return value


def _describe(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    if origin is dict:
        return f"a table of {_describe(typing.get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return f"a table [{tp.__name__.lower()}]"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _kind(value) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


# ----------------------------------------------------------------------------- hashing

def as_dict(section) -> dict:
    return dataclasses.asdict(section)


def digest(value) -> str:
    """A short stable hash of any JSON-able value (a section, several sections, the config)."""
    blob = json.dumps(value, sort_keys=True, default=as_dict)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def config_hash(cfg: Config) -> str:
    return digest({"profile": cfg.profile, **{k: as_dict(v) for k, v in cfg.sections.items()}})
