"""MIDI files to melodies: the skyline rule, drums ignored, clear errors for bad files."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from composer_app.data.melody import (
    melody_from_midi,
    melody_from_midi_bytes,
    melody_from_pretty_midi,
    skyline,
)
from composer_app.errors import UserError


def test_skyline_rules():
    notes = [
        (0.0, 1.0, 60),  # a low note ...
        (0.0, 1.0, 64),  # ... under a higher one at the same onset: the higher wins
        (0.5, 1.5, 67),  # a higher note cuts the sounding one short
        (1.0, 2.0, 48),  # a bass note under the sounding G: accompaniment, dropped
        (1.45, 2.0, 65),  # a step down starting 50 ms before G ends: legato, the next melody note
        (2.5, 3.0, 72),  # after a rest: a gap stays a gap
    ]
    np.testing.assert_allclose(
        skyline(notes).rows(),
        [[0.0, 0.5, 64], [0.5, 1.45, 67], [1.45, 2.0, 65], [2.5, 3.0, 72]],
    )


def test_skyline_restrike_and_zero_length():
    out = skyline([(0.0, 2.0, 60), (1.0, 2.0, 60), (3.0, 3.0, 70)])
    np.testing.assert_allclose(out.rows(), [[0.0, 1.0, 60], [1.0, 2.0, 60]])
    assert len(skyline([])) == 0


def test_polyphonic_file_reduced_to_skyline(tmp_path, make_midi):
    melody = [(0.0, 0.5, 72), (0.5, 1.0, 74), (1.0, 2.0, 76), (2.0, 2.5, 74)]
    chords = [(0.0, 2.0, p) for p in (48, 55, 64)] + [(2.0, 3.0, p) for p in (50, 57, 65)]
    drums = [(t * 0.25, t * 0.25 + 0.1, 81) for t in range(12)]  # an open triangle, "higher" than the tune
    path = make_midi(tmp_path / "poly.mid", melody + chords, drums=drums)
    got = melody_from_midi(path)
    # Every chord note starts with or under a tune note, so all are dropped: even the last chord's F4,
    # which outlasts the tune, is accompaniment (it is not resumed at 2.5 s). Drums never count.
    np.testing.assert_allclose(got.rows(), melody, atol=2e-3)


def test_melody_from_pretty_midi_and_bytes_agree(tmp_path, make_midi):
    path = make_midi(tmp_path / "a.mid", [(0, 1, 60), (1, 2, 62)])
    pm = pretty_midi.PrettyMIDI(str(path))
    np.testing.assert_allclose(
        melody_from_pretty_midi(pm).rows(), melody_from_midi_bytes(path.read_bytes(), "a.mid").rows()
    )
    assert len(melody_from_pretty_midi(pretty_midi.PrettyMIDI())) == 0


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        melody_from_midi(tmp_path / "nope.mid")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage that is not midi")
    with pytest.raises(UserError, match="corrupt"):
        melody_from_midi(bad)
    text = tmp_path / "notes.mid"
    text.write_text("just some text")
    with pytest.raises(UserError, match="notes.mid"):
        melody_from_midi(text)


def test_empty_and_drums_only_files(tmp_path, make_midi):
    empty = make_midi(tmp_path / "empty.mid", [])
    with pytest.raises(UserError, match="no notes"):
        melody_from_midi(empty)
    drums = make_midi(tmp_path / "drums.mid", [], drums=[(0, 0.1, 36), (0.5, 0.6, 38)])
    with pytest.raises(UserError, match="no notes"):
        melody_from_midi(drums)
