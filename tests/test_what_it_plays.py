"""Repetitive rhythms stay melodies: the shipped models, live and recoloured, with every bundled profile.

A rhythm that repeats (48 equal taps, two keys alternating, one bar over and over) is where a model that copies
its own notes locks into one or two pitches; these are the takes a new user plays first.
"""

from __future__ import annotations

import numpy as np
import pytest

from composer_app.checkpoints import default_checkpoint, load_checkpoint
from composer_app.melody_features import ends_in_loop, longest_run
from composer_app.sampling import (
    LiveStepper,
    generate,
    generate_variations,
    load_profiles,
    settings_from_profile,
)

RHYTHMS = {
    "48 equal taps": (np.full(48, 0.25), np.full(48, 0.25)),
    "z/x alternation": (np.zeros(48), np.tile([0.3, 0.15], 24)),
    "one bar again and again": (np.tile([0.0, 0.05, 0.05, 0.05], 12), np.tile([0.45, 0.2, 0.2, 0.95], 12)),
}
ARCHITECTURES = ("vanilla_rnn", "lstm_attn", "attention_rnn")


@pytest.fixture(scope="module")
def shipped():
    return {(arch, kind): load_checkpoint(default_checkpoint(arch, kind))
            for arch in ARCHITECTURES for kind in ("offline", "live")}


def assert_a_melody(pitches, what: str, guarded: bool = True) -> None:
    pitches = np.asarray(pitches)
    assert len(set(pitches.tolist())) >= 4, f"{what}: collapsed to {sorted(set(pitches.tolist()))}"
    assert pitches.max() - pitches.min() >= 5, f"{what}: range {pitches.min()}-{pitches.max()}"
    if guarded:
        assert not ends_in_loop(pitches), f"{what}: ends in a loop {pitches[-16:].tolist()}"
        assert longest_run(pitches) <= 4, f"{what}: a run of {longest_run(pitches)} notes"


@pytest.mark.parametrize("rhythm", RHYTHMS)
@pytest.mark.parametrize("profile", list(load_profiles()))
def test_recoloured_repetitive_rhythms_stay_melodies(shipped, rhythm, profile):
    rests, durs = RHYTHMS[rhythm]
    settings = settings_from_profile(profile)
    for arch in ARCHITECTURES:
        for seed in (1, 2):
            pitches = generate(shipped[arch, "offline"], rests, durs, settings, seed=seed)
            assert_a_melody(pitches, f"{arch} offline, {profile}, {rhythm}, seed {seed}")


@pytest.mark.parametrize("rhythm", RHYTHMS)
@pytest.mark.parametrize("profile", [n for n, v in load_profiles().items() if v.get("strategy") == "stochastic"])
def test_live_repetitive_rhythms_stay_melodies(shipped, rhythm, profile):
    rests, durs = RHYTHMS[rhythm]
    for arch in ARCHITECTURES:
        stepper = LiveStepper(shipped[arch, "live"], settings_from_profile(profile), seed=4)
        prev_durs = np.concatenate([[0.0], durs[:-1]])  # at key-down the live model knows the previous note
        pitches = [stepper.next_pitch(r, d) for r, d in zip(rests, prev_durs, strict=True)]
        assert_a_melody(pitches, f"{arch} live, {profile}, {rhythm}")


def test_variations_of_a_repetitive_take_differ_and_each_is_a_melody(shipped):
    rests, durs = RHYTHMS["one bar again and again"]
    lines = generate_variations(shipped["lstm_attn", "offline"], rests, durs, settings_from_profile("default"), 4,
                                seed=9)
    assert len({tuple(line.tolist()) for line in lines}) == 4
    for i, line in enumerate(lines):
        assert_a_melody(line, f"variation {i + 1}")
