"""Beat capture rules: first note, clamped rests, legato, auto-repeat, duplicates, chords, velocity, undo."""

from __future__ import annotations

import pytest

from composer_app.live.beat_capture import BeatCapture, EventClock, key_source, midi_event, midi_source

MS = 1_000_000
T0 = 10_000 * MS


def cap(**kw) -> BeatCapture:
    return BeatCapture(t0_ns=T0, max_rest_s=4.0, **kw)


def test_first_note_rest_is_time_since_take_start():
    c = cap()
    beat = c.press("key:z", T0 + 700 * MS)
    assert beat.index == 0 and beat.rest_s == pytest.approx(0.7) and beat.prev_dur_s == 0.0
    assert beat.velocity == 100 and beat.ended is None


def test_first_note_after_long_wait_is_clamped_not_reset():
    beat = cap().press("key:z", T0 + 60_000 * MS)
    assert beat.rest_s == 4.0 and beat.raw_rest_s == pytest.approx(60.0)


def test_rest_and_previous_duration_at_key_down():
    c = cap()
    c.press("key:z", T0 + 100 * MS)
    ended = c.release("key:z", T0 + 350 * MS)
    assert ended.index == 0 and ended.dur_s == pytest.approx(0.25)
    beat = c.press("key:z", T0 + 500 * MS)
    assert beat.index == 1 and beat.rest_s == pytest.approx(0.15) and beat.prev_dur_s == pytest.approx(0.25)
    c.release("key:z", T0 + 600 * MS)
    long_pause = c.press("key:x", T0 + 20_600 * MS)
    assert long_pause.rest_s == 4.0 and long_pause.prev_dur_s == pytest.approx(0.1)


def test_legato_new_key_ends_held_note_with_zero_rest():
    c = cap()
    c.press("key:z", T0)
    beat = c.press("key:x", T0 + 200 * MS)
    assert beat.rest_s == 0.0 and beat.prev_dur_s == pytest.approx(0.2)
    assert beat.ended is not None and beat.ended.index == 0 and beat.ended.dur_s == pytest.approx(0.2)
    assert c.release("key:z", T0 + 300 * MS) is None  # its note already ended at the legato press
    assert c.sounding == 1
    ended = c.release("key:x", T0 + 400 * MS)
    assert ended.index == 1 and ended.dur_s == pytest.approx(0.2)
    beat = c.press("key:space", T0 + 500 * MS)
    assert beat.index == 2 and beat.rest_s == pytest.approx(0.1)


def test_auto_repeat_and_duplicate_presses_are_ignored():
    c = cap()
    assert c.press("key:z", T0) is not None
    for k in range(1, 6):  # auto-repeat: presses of a held key
        assert c.press("key:z", T0 + k * 30 * MS) is None
    assert c.count == 1 and c.sounding == 0
    assert c.release("key:z", T0 + 300 * MS).dur_s == pytest.approx(0.3)
    assert c.release("key:z", T0 + 310 * MS) is None  # a second release of the same key


def test_midi_velocity_kept_and_velocity_zero_is_note_off():
    assert midi_event("on", 0) == "off" and midi_event("on", 1) == "on" and midi_event("off", 64) == "off"
    c = cap(default_velocity=90)
    assert c.press(midi_source(60), T0, velocity=33).velocity == 33
    assert c.release(midi_source(60), T0 + 100 * MS) is not None
    assert c.press(key_source("z"), T0 + 200 * MS).velocity == 90
    assert c.press(midi_source(61), T0 + 400 * MS, velocity=500).velocity == 127


def test_overlapping_midi_notes_are_monophonic():
    c = cap()
    c.press(midi_source(60), T0, 80)
    beat = c.press(midi_source(64), T0 + 100 * MS, 80)
    assert beat.ended.index == 0 and beat.rest_s == 0.0
    assert c.release(midi_source(60), T0 + 150 * MS) is None
    assert c.release(midi_source(64), T0 + 200 * MS).index == 1


def test_chord_is_one_beat_ending_with_its_last_key():
    c = cap()
    assert c.press(midi_source(60), T0) is not None
    assert c.press(midi_source(64), T0 + 10 * MS) is None
    assert c.press(midi_source(67), T0 + 20 * MS) is None
    assert c.count == 1
    assert c.release(midi_source(60), T0 + 300 * MS) is None
    assert c.release(midi_source(67), T0 + 310 * MS) is None
    ended = c.release(midi_source(64), T0 + 320 * MS)
    assert ended.index == 0 and ended.dur_s == pytest.approx(0.32)


def test_out_of_order_timestamps_never_give_negative_times():
    c = cap()
    c.press("key:z", T0 + 500 * MS)
    ended = c.release("key:z", T0 + 400 * MS)  # another clock, a little behind
    assert ended.dur_s == 0.0
    assert c.press("key:z", T0 + 450 * MS).rest_s == 0.0


def test_end_sounding_and_undo():
    c = cap()
    c.press("key:z", T0)
    c.release("key:z", T0 + 100 * MS)
    c.press("key:x", T0 + 300 * MS)
    assert c.end_sounding(T0 + 350 * MS).index == 1
    assert c.release("key:x", T0 + 400 * MS) is None
    c.undo(prev_end=0.1, prev_dur_s=0.1)
    beat = c.press("key:z", T0 + 600 * MS)
    assert beat.index == 1 and beat.rest_s == pytest.approx(0.5) and beat.prev_dur_s == pytest.approx(0.1)


def test_undo_forgets_keys_of_undone_notes():
    """A key still down on an undone note must not end a later note that reuses its index."""
    c = cap()
    c.press("key:z", T0)
    c.undo(prev_end=None, prev_dur_s=0.0)
    beat = c.press("key:x", T0 + 100 * MS)
    assert beat.index == 0 and beat.rest_s == pytest.approx(0.1)
    assert c.release("key:z", T0 + 150 * MS) is None and c.sounding == 0


def test_event_clock_maps_millisecond_stamps():
    clock = EventClock()
    a = clock.to_ns(1000, now_ns=5_000 * MS)
    b = clock.to_ns(1250, now_ns=5_260 * MS)  # delivered 10 ms late: interval kept from the stamps
    assert b - a == 250 * MS and b <= 5_260 * MS
