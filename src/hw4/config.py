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

from hw4.errors import Hw4Error

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
    deltas: list[float] = positive()   # neighbourhood radii for the local-minimax check


SECTIONS: dict[str, type] = {
    "report": Report,
    "batchnorm": Batchnorm,
    "minimax": Minimax,
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
