"""A user's profiles.toml with mistakes: each bad profile is left out and said why, the rest and the bundled
profiles are used, and nothing stops generation or the app."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from composer_app.cli import main
from composer_app.errors import UserError
from composer_app.sampling import PROFILE_TYPES, SamplingSettings, read_profiles, settings_from_profile

BAD_PROFILES = """
surprise = 3

[hot]
temperature = "hot"

[fraction]
top_k = 2.5

[high_hints]
hints = ["1", "99"]

[flag]
top_p = true

[typo]
temprature = 0.5

[upside_down]
low = 80
high = 70

[mine]
temperature = 0.8
top_k = 5

[default]
temperature = 0.7
"""


@pytest.fixture
def user_profiles(tmp_path, monkeypatch):
    """A profiles.toml in the user's config folder; returns its path (write the content yourself)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "config" / "everybody-compose" / "profiles.toml"
    path.parent.mkdir(parents=True)
    return path


def test_bad_profiles_are_left_out_with_a_reason_and_the_rest_are_used(user_profiles):
    user_profiles.write_text(BAD_PROFILES)
    found = read_profiles()
    assert set(found.profiles) == {"default", "safer", "wilder", "beam", "mine"}  # the bundled ones, the user's on top
    assert found.profiles["default"] == {"temperature": 0.7}
    reasons = found.problems
    assert set(reasons) == {"surprise", "hot", "fraction", "high_hints", "flag", "typo", "upside_down"}
    assert "not a sampling profile" in reasons["surprise"]
    assert "temperature must be a number, not 'hot'" in reasons["hot"]
    assert "top_k must be a whole number, not 2.5" in reasons["fraction"]
    assert "hint note '99' is MIDI pitch 228" in reasons["high_hints"]
    assert "top_p must be a number, not True" in reasons["flag"]
    assert "unknown settings temprature" in reasons["typo"]
    assert "low pitch 80 is above the high pitch 70" in reasons["upside_down"]
    assert all(str(user_profiles) in message for message in found.messages())
    assert settings_from_profile("mine").top_k == 5
    with pytest.raises(UserError, match="'hot' is not used: temperature must be a number"):
        settings_from_profile("hot")


def test_a_profiles_file_that_is_not_toml_leaves_the_bundled_profiles(user_profiles):
    user_profiles.write_bytes(b"[default\ntemperature = \xff\n")
    found = read_profiles()
    assert set(found.profiles) == {"default", "safer", "wilder", "beam"}
    assert "cannot read sampling profiles" in found.messages()[0] and "bundled" in found.messages()[0]
    assert settings_from_profile("default") == SamplingSettings()


def test_an_explicit_profiles_file_that_cannot_be_read_is_an_error(tmp_path):
    with pytest.raises(UserError, match="cannot read sampling profiles"):
        read_profiles(tmp_path / "missing.toml")


def test_the_bundled_profiles_are_all_good_and_every_setting_has_a_type(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert read_profiles().problems == {}
    assert set(PROFILE_TYPES) == {f.name for f in fields(SamplingSettings)}


def test_generate_warns_about_bad_profiles_and_still_writes(user_profiles, tmp_path, capsys):
    user_profiles.write_text(BAD_PROFILES)
    rhythm = tmp_path / "r.npy"
    np.save(rhythm, np.full((6, 2), 0.25))
    out = tmp_path / "o.mid"
    assert main(["generate", "-s", str(rhythm), "-o", str(out), "-m", "vanilla_rnn", "-t", "mine"]) == 0
    err = capsys.readouterr().err
    assert out.exists() and err.count("warning:") == 7 and "'hot' is not used" in err
