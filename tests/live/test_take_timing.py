"""A take starts at its first tap (or a count-in's downbeat), keeps its tempo and metre, and is quantized only
in the exported file."""

from __future__ import annotations

import json
import time

import mido
import numpy as np
import pretty_midi
import pytest

from composer_app.errors import UserError
from composer_app.live.engine import LiveEngine
from composer_app.live.instrument import Instrument
from composer_app.live.recovery import load_take
from composer_app.musical_time import TapTempo, grid_step_s, parse_grid, parse_time_signature, quantize
from composer_app.rhythm import load_rhythm
from composer_app.take import FORMAT

MS = 1_000_000


def play(eng, t0_ns, onsets_ms, hold_ms=100, key="key:z"):
    for on in onsets_ms:
        eng.press(key, t0_ns + on * MS)
        eng.release(key, t0_ns + (on + hold_ms) * MS)


def test_first_tap_after_a_pause_is_the_take_start_everywhere(engine, tmp_path, wait_for):
    time.sleep(0.05)  # the window opened, New take was pressed, the player waits...
    t = time.perf_counter_ns() + 16_000 * MS  # ... 16 s
    play(engine, t, [0, 300, 600])
    take = engine.take
    assert take.notes[0].start == 0 and take.notes[0].rest_s == 0.0
    np.testing.assert_allclose(take.to_melody().starts, [0.0, 0.3, 0.6])
    out = engine.export_midi(tmp_path / "t.mid")
    notes = pretty_midi.PrettyMIDI(str(out)).instruments[0].notes
    assert notes[0].start == pytest.approx(0.0, abs=1e-3)
    path = engine.take_path
    engine.new_take()
    assert load_take(path).notes[0].start == 0
    rests, _ = load_rhythm(path)  # what generate -s TAKE sees
    assert rests[0] == 0.0
    replayed = []
    engine.replayer.note.connect(lambda i, on: replayed.append((i, on)))
    engine.replay(load_take(path))
    # The first note sounds at once: well within the 16 s the take's pause would take (a timing figure for it
    # is bench's business).
    assert wait_for(lambda: replayed, timeout=8.0) and replayed[0] == (0, True)


def test_undoing_every_note_lets_the_next_tap_start_the_take(engine):
    t = time.perf_counter_ns()
    play(engine, t, [0])
    assert engine.undo()
    play(engine, t, [2000, 2300])
    assert [n.start for n in engine.take.notes] == [0, 0.3]


def test_tempo_and_metre_are_in_the_take_its_journal_and_its_export(engine, tmp_path):
    engine.set_tempo(100)
    engine.set_time_signature("3/4")
    t = time.perf_counter_ns()
    play(engine, t, [0, 610, 1190, 1810])
    assert engine.take.tempo_bpm == 100 and str(engine.take.time_signature) == "3/4"
    path = engine.take_path
    header = json.loads(path.read_text().splitlines()[0])
    assert header["origin"] == "first-note" and {"tempo_bpm", "time_signature"} <= set(header)
    journal = load_take(path)  # the journal as a crash would leave it
    assert journal.tempo_bpm == 100 and str(journal.time_signature) == "3/4"
    # a take that has notes keeps the tempo and metre it was played at; new ones start the next take
    assert not engine.set_tempo(90) and not engine.set_time_signature("6/8")
    assert engine.take.tempo_bpm == 100 and engine.tempo_bpm == 100 and engine.metronome.bpm == 100
    assert engine.next_tempo_bpm == 90 and str(engine.next_time_signature) == "6/8"
    engine.new_take()
    assert engine.take.tempo_bpm == 90 and str(engine.take.time_signature) == "6/8"
    assert engine.metronome.bpm == 90 and engine.set_tempo(95)  # an empty take takes it at once
    back = load_take(path)
    assert back.tempo_bpm == 100 and str(back.time_signature) == "3/4"
    out = back.export_midi(tmp_path / "q.mid", quantize="1/16")
    mid = mido.MidiFile(str(out))
    metas = [m for track in mid.tracks for m in track if m.is_meta]
    tempo = [m.tempo for m in metas if m.type == "set_tempo"]
    sig = [(m.numerator, m.denominator) for m in metas if m.type == "time_signature"]
    assert len(tempo) == 1 and abs(tempo[0] - mido.bpm2tempo(100)) <= 1 and sig == [(3, 4)]
    step_ticks = mid.ticks_per_beat // 4
    ticks, on_ticks = 0, []
    for msg in mid.tracks[-1]:
        ticks += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            on_ticks.append(ticks)
    assert on_ticks[0] == 0 and all(min(k % step_ticks, step_ticks - k % step_ticks) <= 1 for k in on_ticks)
    # the take itself keeps what was played
    assert [n.start for n in load_take(path).notes] == [0, 0.61, 1.19, 1.81]


def test_count_in_starts_the_take_on_the_downbeat(tmp_path, tiny_model, wait_for):
    class Clicks(Instrument):
        """An instrument that only counts what reaches it."""

        def __init__(self):
            super().__init__()
            self.clicks = []
            self.notes = []

        def click(self, note, velocity=100):
            self.clicks.append((time.perf_counter_ns(), note))

        def _note_on(self, pitch, velocity):
            self.notes.append(pitch)

    synth = Clicks()
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1, synth=synth, tempo_bpm=400)
    try:
        beats = []
        eng.metronome_click.connect(lambda click: beats.append(click.beat))
        eng.new_take(count_in=True)
        downbeat = eng.metronome.track.origin_ns + eng.metronome.track.bar_ns
        assert eng.take_start_ns == downbeat
        assert wait_for(lambda: len(synth.clicks) >= 4)
        assert [n for _, n in synth.clicks[:4]] == [76, 77, 77, 77]  # one bar, accented downbeat
        assert wait_for(lambda: beats == [0, 1, 2, 3])  # listeners hear each click too
        eng.press("key:z", downbeat + 20 * MS)
        eng.release("key:z", downbeat + 120 * MS)
        note = eng.take.notes[0]
        assert note.start == 0.02 and note.rest_s == pytest.approx(0.02)
        assert eng.take.header["origin"] == "downbeat"
        time.sleep(0.3)
        assert len(synth.clicks) == 4  # the count-in alone stops after its bar
        assert synth.notes == [note.pitch]  # clicks never became notes
        midi = eng.export_midi(tmp_path / "c.mid")
        pm = pretty_midi.PrettyMIDI(str(midi))
        assert len(pm.instruments) == 1 and not pm.instruments[0].is_drum and len(pm.instruments[0].notes) == 1
    finally:
        eng.close()


def test_quantize_moves_onsets_to_the_grid_and_keeps_notes_apart():
    starts = np.array([0.01, 0.13, 0.14, 0.52, 0.99])
    ends = np.array([0.1, 0.14, 0.5, 0.53, 1.5])
    qs, qe = quantize(starts, ends, 120, "1/16")  # step 0.125 s
    np.testing.assert_allclose(qs, [0.0, 0.125, 0.25, 0.5, 1.0])
    assert np.all(qe - qs >= 0.125 - 1e-12) and np.all(qe[:-1] <= qs[1:] + 1e-12)
    qs, _ = quantize([0.0, 0.16, 0.35], [0.1, 0.3, 0.4], 120, "1/8t")  # step 1/6 s
    np.testing.assert_allclose(qs, [0.0, 1 / 6, 2 / 6])
    same, _ = quantize(starts, ends, 120, "off")
    assert np.array_equal(same, starts)
    assert grid_step_s("1/8", 60) == 0.5 and parse_grid("1/8 triplets") == "1/8t"
    assert str(parse_time_signature("6/8")) == "6/8" and parse_time_signature("6/8").bar_s(120) == 1.5
    with pytest.raises(UserError, match="quantize grid"):
        parse_grid("1/5")
    with pytest.raises(UserError, match="time signature"):
        parse_time_signature("4/5")


def test_tap_tempo_from_the_last_taps():
    tapper = TapTempo()
    assert tapper.tap(0) is None
    bpm = None
    for k in range(1, 5):
        bpm = tapper.tap(k * 500 * MS)
    assert bpm == pytest.approx(120)
    assert tapper.tap(10_000 * MS) is None  # a long pause starts over


def test_takes_recorded_before_take_start_at_first_tap_are_moved_there(tmp_path):
    path = tmp_path / "take-old.jsonl"
    lines = [{"type": "header", "format": FORMAT, "created": "2026-01-01T00:00:00"},
             {"type": "on", "i": 0, "t": 16_000 * MS, "pitch": 60}, {"type": "off", "i": 0, "t": 16_200 * MS},
             {"type": "closed", "t": 17_000 * MS}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    take = load_take(path)
    assert take.notes[0].start == 0 and take.notes[0].end == pytest.approx(0.2)
