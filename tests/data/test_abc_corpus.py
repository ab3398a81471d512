"""music21 ABC tunes to melodies: splitting files, seconds at the tune's tempo, repeats, ties, accidentals."""

from __future__ import annotations

import numpy as np
import pytest
from music21 import stream

from composer_app.data import abc_corpus
from composer_app.data.abc_corpus import (
    EVENT_REPEAT_FAILED,
    EVENT_REPEAT_TOO_LONG,
    expand_repeats_checked,
    melody_from_abc,
    parse_abc_tune,
    split_abc_tunes,
)

MULTI = """%abc-2.1
% a file-wide comment
M:3/4

X:1
T:First
L:1/4
K:C
CDE|FGA|

X:2
T:Second
L:1/8
K:G
GABc dedB|
"""


def test_split_keeps_header_for_every_tune():
    tunes = split_abc_tunes(MULTI)
    assert [label for label, _ in tunes] == ["1", "2"]
    for _, text in tunes:
        assert text.startswith("%abc-2.1\n% a file-wide comment\nM:3/4")
    assert "T:First" in tunes[0][1] and "T:Second" not in tunes[0][1]
    assert "T:Second" in tunes[1][1] and "T:First" not in tunes[1][1]
    # the header's metre reaches the second tune, which has none of its own
    assert parse_abc_tune(tunes[1][1]).recurse().getElementsByClass("TimeSignature")[0].ratioString == "3/4"


def test_split_without_header_or_x_lines():
    tunes = split_abc_tunes("X:7\nK:C\nCDEF|\nX:8\nK:C\nGABc|\n")
    assert [t for _, t in tunes] == ["X:7\nK:C\nCDEF|\n", "X:8\nK:C\nGABc|\n"]
    assert split_abc_tunes("K:C\nCDEF|\n") == [("", "K:C\nCDEF|\n")]
    assert split_abc_tunes("  \n") == []


def test_real_tune_from_music21_corpus():
    """Ryan's Mammoth '7th Regiment Reel': L:1/16, no tempo mark -> 120 qpm, a sixteenth is 0.125 s."""
    path = abc_corpus.corpus_root() / "ryansMammoth" / "7thRegimentReel.abc"
    (label, text), *_ = split_abc_tunes(abc_corpus.read_abc_file(path))
    melody, events = melody_from_abc(text)
    written, _ = melody_from_abc(text, expand_repeats=False)
    assert events == []
    assert len(melody) > 100
    # "vA2(Ac) eAce": A4 (an eighth = 0.25 s) then sixteenths A4 C#5 E5
    np.testing.assert_allclose(
        melody[:4].rows(), [[0, 0.25, 69], [0.25, 0.375, 69], [0.375, 0.5, 73], [0.5, 0.625, 76]]
    )
    durations = melody.ends - melody.starts
    assert np.allclose(np.round(durations / 0.125) * 0.125, durations)  # all on the sixteenth grid
    assert np.all(melody.starts[1:] >= melody.ends[:-1] - 1e-9)  # monophonic
    assert 55 <= melody.pitches.min() and melody.pitches.max() <= 96
    # both halves are repeated (:| ... :|), so every written note is played twice
    assert len(melody) == 2 * len(written)
    np.testing.assert_array_equal(np.sort(melody.pitches), np.sort(np.repeat(written.pitches, 2)))
    assert melody.ends[-1] > 1.9 * written.ends[-1]


def test_tempo_marking_and_default():
    default, _ = melody_from_abc("X:1\nL:1/4\nK:C\nCDEF|GABc|\n")
    slow, _ = melody_from_abc("X:1\nL:1/4\nQ:1/4=60\nK:C\nCDEF|GABc|\n")
    np.testing.assert_allclose(default.ends - default.starts, 0.5)  # 120 qpm
    np.testing.assert_allclose(slow.ends - slow.starts, 1.0)  # 60 qpm
    np.testing.assert_array_equal(default.pitches, [60, 62, 64, 65, 67, 69, 71, 72])


def test_chords_graces_symbols_rests_and_ties():
    text = 'X:1\nL:1/4\nK:C\n"Am"[CEG] {d}c z D | E2-E2 | F G A B |\n'
    melody, _ = melody_from_abc(text)
    # chord -> highest pitch (G), grace note {d} skipped, "Am" is not a note, the rest is a gap,
    # the tied E is one note of a whole bar
    np.testing.assert_allclose(melody[:4].rows(), [[0.0, 0.5, 67], [0.5, 1.0, 72], [1.5, 2.0, 62], [2.0, 4.0, 64]])
    assert len(melody) == 8


def test_accidentals_hold_to_the_end_of_the_bar():
    """music21 reads ABC without a version line as ABC 1.3 and would make the second B natural."""
    melody, _ = melody_from_abc("X:1\nL:1/4\nK:G\n_B B c B | B4 |\n")
    np.testing.assert_array_equal(melody.pitches, [70, 70, 72, 70, 71])


def test_repeat_expansion_accepted_when_sane():
    part = parse_abc_tune("X:1\nM:4/4\nL:1/4\nK:C\n|: CDEF | GABc | cBAG :|\n").parts[0]
    expanded, event = expand_repeats_checked(part)
    assert event is None
    assert expanded.highestTime == pytest.approx(2 * part.highestTime)


def test_repeat_expansion_falls_back_when_too_long():
    part = parse_abc_tune("X:1\nM:4/4\nL:1/4\nK:C\n|: CDEF | GABc | cBAG :|\n").parts[0]
    result, event = expand_repeats_checked(part, max_ratio=1.5)
    assert event == EVENT_REPEAT_TOO_LONG
    assert result is part


def test_implied_repeat_start_after_a_repeated_section():
    """``A :| B :|`` is A A B B; music21 alone plays A A A B A B (the second :| jumping to the start)."""
    text = "X:1\nM:4/4\nL:1/4\nK:C\nCDEF | GABc :|\ncBAG | FEDC :|\n"
    melody, events = melody_from_abc(text)
    a, b = [60, 62, 64, 65, 67, 69, 71, 72], [72, 71, 69, 67, 65, 64, 62, 60]
    assert events == []
    np.testing.assert_array_equal(melody.pitches, a + a + b + b)


def test_implied_repeat_start_skips_endings_and_follows_double_bars():
    # A twice; B with first and second endings; C (after the double bar that closes the 2nd ending) twice
    text = "X:1\nM:2/4\nL:1/4\nK:C\nCD | EF :| GA |1 Bc :|2 cB || AG | FE :|\n"
    melody, events = melody_from_abc(text)
    a, b, end1, end2, c = [60, 62, 64, 65], [67, 69], [71, 72], [72, 71], [69, 67, 65, 64]
    assert events == []
    np.testing.assert_array_equal(melody.pitches, a + a + b + end1 + b + end2 + c + c)


def test_tune_without_measures_keeps_written_order():
    """music21 builds no measures from fewer than two plain bar lines (and drops the repeat signs), and
    ``expandRepeats`` then raises: the tune is used as written, without a work-around event."""
    text = "X:1\nL:1/4\nK:C\n|: CDEF | GABc :|\n"
    result, event = expand_repeats_checked(parse_abc_tune(text).parts[0])
    assert event == EVENT_REPEAT_FAILED
    melody, events = melody_from_abc(text)
    assert events == [] and len(melody) == 8


def test_repeat_expansion_falls_back_when_music21_fails(monkeypatch):
    def broken(self, *args, **kwargs):
        raise IndexError("music21 lost track of the repeat brackets")

    text = "X:1\nM:4/4\nL:1/4\nK:C\n|: CDEF | GABc | cBAG :|\n"
    monkeypatch.setattr(stream.Stream, "expandRepeats", broken)
    melody, events = melody_from_abc(text)
    assert events == [EVENT_REPEAT_FAILED]
    np.testing.assert_array_equal(
        melody.pitches, [60, 62, 64, 65, 67, 69, 71, 72, 72, 71, 69, 67]
    )  # written, once


def test_collection_files_skip_essen_tests_and_refuse_other_collections():
    essen = abc_corpus.collection_files("essenFolksong")
    assert essen and not any(p.name.startswith("test") for p in essen)
    assert len(abc_corpus.collection_files("ryansMammoth")) > 1000
    with pytest.raises(ValueError, match="reserved for independent evaluation"):
        abc_corpus.collection_files("airdsAirs")
