"""hw4.toml is validated on load: the message names the file, the key and what was expected."""
import re
from pathlib import Path

import pytest

from hw4.core import config

REPO = Path(__file__).resolve().parents[1]
TOML = (REPO / "hw4.toml").read_text()


def load_text(tmp_path, text, profile="full"):
    path = tmp_path / "hw4.toml"
    path.write_text(text)
    return config.load(path, profile)


def test_repository_config_loads_in_every_profile():
    for profile in config.PROFILES:
        cfg = config.load(REPO / "hw4.toml", profile)
        assert set(cfg.sections) == set(config.SECTIONS)
        assert cfg.profile == profile


def test_quick_profile_overrides_only_its_keys():
    full = config.load(REPO / "hw4.toml", "full")
    quick = config.load(REPO / "hw4.toml", "quick")
    assert quick.minimax.grid_x < full.minimax.grid_x
    assert quick.report == full.report
    assert config.config_hash(quick) != config.config_hash(full)


def test_unknown_key_names_file_key_and_choices(tmp_path):
    text = TOML.replace("[minimax]", "[minimax]\ngrid_z = 3", 1)
    with pytest.raises(config.ConfigError, match=r"hw4\.toml: minimax\.grid_z: unknown key; expected one of grid_x"):
        load_text(tmp_path, text)


def test_wrong_type_names_expected_type(tmp_path):
    text = re.sub(r"(?m)^grid_x = \d+", 'grid_x = "many"', TOML, count=1)
    with pytest.raises(config.ConfigError, match=r"minimax\.grid_x: expected an integer, got a string 'many'"):
        load_text(tmp_path, text)


def test_int_accepted_where_number_expected(tmp_path):
    text = re.sub(r"(?m)^lam = [\d.]+", "lam = 1", TOML, count=1)
    assert load_text(tmp_path, text).batchnorm.lam == 1.0


def test_out_of_range_value_refused(tmp_path):
    text = re.sub(r"(?m)^lam = [\d.]+", "lam = -0.5", TOML, count=1)
    with pytest.raises(config.ConfigError, match=r"batchnorm\.lam: -0\.5 is out of range; expected a value > 0"):
        load_text(tmp_path, text)


def test_list_items_checked(tmp_path):
    text = re.sub(r"(?m)^deltas = .*$", "deltas = [0.1, -0.1]", TOML, count=1)
    with pytest.raises(config.ConfigError, match=r"minimax\.deltas\[1\]: -0\.1 is out of range"):
        load_text(tmp_path, text)


def test_missing_key_and_section(tmp_path):
    text = re.sub(r"(\[batchnorm\][^\[]*?)seed = \d+\n", r"\1", TOML, count=1)
    with pytest.raises(config.ConfigError, match=r"batchnorm\.seed: missing key \(an integer\)"):
        load_text(tmp_path, text)
    with pytest.raises(config.ConfigError, match=r"unknown section \[bogus\]"):
        load_text(tmp_path, TOML + "\n[bogus]\nx = 1\n")


def test_unknown_key_in_a_profile_is_caught_even_when_not_selected(tmp_path):
    text = TOML + "\n[quick.minimax.extra]\n"
    with pytest.raises(config.ConfigError, match=r"\[quick\.minimax\]: unknown key 'extra'"):
        load_text(tmp_path, text, "full")


def test_unknown_profile_and_bad_toml(tmp_path):
    with pytest.raises(config.ConfigError, match="unknown profile 'fast'"):
        config.load(REPO / "hw4.toml", "fast")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        load_text(tmp_path, "[report\n")


def test_digest_is_stable_and_sensitive():
    cfg = config.load(REPO / "hw4.toml")
    assert config.digest(cfg.minimax) == config.digest(config.as_dict(cfg.minimax))
    changed = config.as_dict(cfg.minimax) | {"grid_x": cfg.minimax.grid_x + 1}
    assert config.digest(changed) != config.digest(cfg.minimax)
