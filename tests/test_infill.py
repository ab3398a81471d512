"""Keep what you like: composing part of a melody again around the notes kept (sampling with ``fixed`` pitches)."""

import numpy as np
import pytest

from composer_app.errors import UserError
from composer_app.infill import fixed_pitches, following_nll, notes_in_bars, notes_numbered
from composer_app.musical_time import TimeSignature
from composer_app.notes import Notes
from composer_app.sampling import SamplingSettings, generate, generate_variations, ranked_lines

RESTS = np.tile([0.0, 0.0, 0.1, 0.0], 8)
DURS = np.tile([0.25, 0.25, 0.5, 0.25], 8)
PITCHES = np.array([60, 62, 64, 65, 67, 65, 64, 62] * 4)


def test_notes_by_number_and_by_bar():
    assert np.flatnonzero(notes_numbered("2-4,7", 8)).tolist() == [1, 2, 3, 6]
    for bad in ("0", "3-2", "9", "x", "1-", ""):
        with pytest.raises(UserError):
            notes_numbered(bad, 8)
    starts = np.arange(12) * 0.3  # 100 BPM in 3/4: a bar is 1.8 s, six notes
    assert np.flatnonzero(notes_in_bars("2", starts, 100, TimeSignature(3, 4))).tolist() == [6, 7, 8, 9, 10, 11]
    assert notes_in_bars("1-2", starts, 100, TimeSignature(3, 4)).all()
    with pytest.raises(UserError, match="outside 1-2"):
        notes_in_bars("3", starts, 100, TimeSignature(3, 4))
    fixed = fixed_pitches([60, 62, 64, 65], np.array([0, 1, 1, 1], bool), np.array([0, 0, 1, 0], bool))
    assert fixed.tolist() == [60, -1, 64, -1]


@pytest.mark.parametrize("arch,kind", [("lstm_attn", "offline"), ("attention_rnn", "offline"),
                                       ("vanilla_rnn", "live")])
def test_only_the_chosen_notes_change_and_locked_ones_stay(tiny_model, arch, kind):
    loaded = tiny_model(arch, kind, memory=True)
    change = np.zeros(len(PITCHES), bool)
    change[8:16] = True
    locked = np.zeros(len(PITCHES), bool)
    locked[11] = True
    fixed = fixed_pitches(PITCHES, change, locked)
    settings = SamplingSettings(low=48, high=84)
    line = generate(loaded, RESTS, DURS, settings, seed=5, fixed=fixed)
    assert np.array_equal(line[fixed >= 0], PITCHES[fixed >= 0]) and line[11] == PITCHES[11]
    assert not np.array_equal(line[8:16], PITCHES[8:16]) and all(48 <= p <= 84 for p in line[8:16])
    assert np.array_equal(line, generate(loaded, RESTS, DURS, settings, seed=5, fixed=fixed))  # seeds reproduce
    variations = generate_variations(loaded, RESTS, DURS, settings, 3, seed=5, fixed=fixed)
    assert np.array_equal(variations[0], line) and len({tuple(v.tolist()) for v in variations}) == 3


def test_fills_are_ranked_by_how_likely_they_make_the_notes_after_them(tiny_model):
    loaded = tiny_model("lstm_attn", "offline", memory=True, seed=3)
    fixed = fixed_pitches(PITCHES, np.r_[np.zeros(10, bool), np.ones(6, bool), np.zeros(16, bool)])
    lines = ranked_lines(loaded, RESTS, DURS, SamplingSettings(temperature=1.0), 8, seed=2, fixed=fixed)
    notes = Notes.from_beats(RESTS, DURS, PITCHES)

    def after_gap(line):
        return following_nll(loaded, notes.with_pitches(line), 16)

    scores = [after_gap(line) for line in lines]
    assert all(a <= b + 1e-6 for a, b in zip(scores, scores[1:], strict=False))  # the kept notes' likeliest first
    assert scores[0] < scores[-1]
