"""The take in seconds: copies, sounding notes ended, recolouring, rhythms, contours and its saved document."""

from __future__ import annotations

import numpy as np
import pytest

from composer_app.clock import s_to_ns
from composer_app.errors import UserError
from composer_app.take import (
    FORMAT,
    ORIGIN_FIRST_NOTE,
    UNFINISHED_NOTE_S,
    Take,
    TakeNote,
    check_format,
    seconds_from_file,
)


def played() -> Take:
    return Take({"format": FORMAT, "program": 3, "tempo_bpm": 90, "time_signature": "6/8"},
                [TakeNote(0, 0.0, 60, 90, 0.5), TakeNote(1, 1.0, 62, 80, 1.5, direction=-1),
                 TakeNote(2, 2.0, 64, 70)])  # the last one still sounds


def test_copy_is_deep():
    take = played()
    copy = take.copy()
    copy.notes[0].pitch = 1
    copy.header["program"] = 9
    assert take.notes[0].pitch == 60 and take.program == 3 and copy == Take(
        {**take.header, "program": 9}, [TakeNote(0, 0.0, 1, 90, 0.5), *take.notes[1:]])


def test_sounding_notes_end_at_a_time_or_after_a_short_while():
    take = played()
    assert take.ended_at(2.75).notes[2].end == 2.75
    assert take.ended_at(1.0).notes[2].end == pytest.approx(2.0, abs=1e-6)  # never before it starts
    assert take.ended_at().notes[2].end == 2.0 + UNFINISHED_NOTE_S
    assert take.notes[2].end is None  # the take itself is untouched
    np.testing.assert_allclose(take.to_melody(now=3.0).rows(), [[0, 0.5, 60], [1, 1.5, 62], [2, 3, 64]])


def test_recoloured_keeps_the_timing_and_changes_only_pitches():
    take = played()
    out = take.recoloured([70, 71, 72], {"profile": "x"})
    assert [(n.start, n.end, n.velocity, n.pitch) for n in out.notes] == [
        (0.0, 0.5, 90, 70), (1.0, 1.5, 80, 71), (2.0, None, 70, 72)]
    assert out.header["recoloured"] == {"profile": "x"} and out.path is None
    assert [n.pitch for n in take.notes] == [60, 62, 64]  # the played take is untouched
    with pytest.raises(ValueError):
        take.recoloured([70], {})


def test_the_asked_contour_prefers_what_the_keys_asked():
    take = played()
    assert take.contour().tolist() == [0, 1, 1]
    assert take.asked_contour().tolist() == [0, -1, 1]


def test_from_rhythm_and_back():
    rests, durs = np.array([0.0, 0.25, 0.1]), np.array([0.5, 0.25, 1.0])
    take = Take.from_rhythm(rests, durs, pitch=67, rhythm="r.npy")
    assert {n.pitch for n in take.notes} == {67} and take.header["rhythm"] == "r.npy" and take.closed
    np.testing.assert_allclose(take.to_melody().rows(), [[0, 0.5, 67], [0.75, 1.0, 67], [1.1, 2.1, 67]])
    back_rests, back_durs = take.rhythm()
    np.testing.assert_allclose(back_rests, rests)
    np.testing.assert_allclose(back_durs, durs)


def test_starting_at_first_note_moves_time_zero():
    take = Take({"format": FORMAT}, [TakeNote(0, 1.5, 60, end=2.0), TakeNote(1, 2.5, 62)])
    assert take.starting_at_first_note() is take
    assert [(n.start, n.end) for n in take.notes] == [(0.0, 0.5), (1.0, None)]
    assert take.header["origin"] == ORIGIN_FIRST_NOTE


def test_tempo_metre_and_instrument_come_from_the_header():
    take = played()
    assert take.tempo_bpm == 90 and str(take.time_signature) == "6/8" and take.program == 3
    assert Take().tempo_bpm == 120 and str(Take().time_signature) == "4/4" and Take().duration == 0.0
    assert take.duration == 2.0


def test_the_document_keeps_nanoseconds_on_disk():
    take = played()
    doc = take.to_document()
    assert doc["notes"][1]["start_ns"] == 1_000_000_000 and doc["notes"][1]["end_ns"] == 1_500_000_000
    assert doc["notes"][2]["end_ns"] is None and doc["header"]["format"] == FORMAT
    assert Take.from_document(doc).notes == take.notes
    assert seconds_from_file(s_to_ns(1234.567891234)) == pytest.approx(1234.567891234, abs=1e-9)
    with pytest.raises(UserError, match="not a valid take"):
        Take.from_document({"header": {}, "notes": [{"pitch": 60}]})


def test_the_model_step_times_are_kept_beside_the_notes_and_saved_on_their_records():
    take = played()
    take.step_us = {0: 609.84, 2: 52.0}
    doc = take.to_document()
    assert [record["step_us"] for record in doc["notes"]] == [609.8, 0.0, 52.0]  # as files always held them
    back = Take.from_document(doc)
    assert back.step_us == {0: 609.8, 1: 0.0, 2: 52.0} and back.notes == take.notes
    assert not hasattr(back.notes[0], "step_us")  # a note is only what was played
    copy = take.copy()
    copy.step_us[1] = 7.0
    assert 1 not in take.step_us and take.recoloured([1, 2, 3], {}).step_us == take.step_us
    with pytest.raises(UserError, match="step_us"):
        Take.from_document({"header": {}, "notes": [{**doc["notes"][0], "step_us": -1}]})


def test_check_format():
    check_format("x", {"format": FORMAT})
    with pytest.raises(UserError, match="newer version"):
        check_format("x", {"format": "everybody-compose-take/2"})
    with pytest.raises(UserError, match="not an Everybody Compose take"):
        check_format("x", {"format": "other"})


def test_export_writes_the_notes_in_the_tempo_played(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    path = played().ended_at().export_midi(tmp_path / "t.mid")
    pm = pretty_midi.PrettyMIDI(str(path))
    assert [n.pitch for n in pm.instruments[0].notes] == [60, 62, 64] and pm.instruments[0].program == 3
    assert pm.get_tempo_changes()[1][0] == pytest.approx(90, abs=0.01)
