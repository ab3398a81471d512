"""The metronome clicks on the player's synth (percussion channel, accented downbeat), never in the take; and
the engine's press steers by a key's height."""

from __future__ import annotations

import time

import numpy as np

from composer_app.live.beat_capture import STEER_KEYS, key_source, steer_key_height
from composer_app.live.engine import LiveEngine
from composer_app.live.instrument import Instrument, SilentSynth
from composer_app.live.metronome import (
    ACCENT_NOTE,
    ACCENT_VELOCITY,
    BEAT_NOTE,
    BEAT_VELOCITY,
    ClickTrack,
    Metronome,
)
from composer_app.live.midi_out import MidiOutput
from composer_app.live.note_sink import NoteSink
from composer_app.live.synth import SILENCE_PEAK, Synth
from composer_app.musical_time import parse_time_signature
from composer_app.sampling import SamplingSettings

MS = 1_000_000


class ClickSink:
    def __init__(self):
        self.on, self.off = [], []

    def click(self, note, velocity=100):
        self.on.append((time.perf_counter_ns(), note, velocity))

    def click_off(self, note):
        self.off.append(note)


def test_click_track_counts_beats_of_the_metre():
    track = ClickTrack(1_000 * MS, 120, parse_time_signature("3/4"))
    assert track.beat_ns == 500 * MS and track.bar_ns == 1500 * MS
    assert [track.click(k).accent for k in range(7)] == [True, False, False, True, False, False, True]
    assert track.click(4).t_ns == 3_000 * MS and track.next_index(2_900 * MS) == 4 and track.next_index(0) == 0
    six = ClickTrack(0, 120, parse_time_signature("6/8"))
    assert six.beat_ns == 250 * MS and six.bar_ns == 1500 * MS


def on_the_grid(clicks, track: ClickTrack) -> list[int]:
    """The beat numbers (from ``track``'s origin) of ``clicks``, checking each lies exactly on a beat of the
    track and falls on its place in the bar. Their times are the track's schedule, not when a busy machine
    got round to them: how closely they are kept is a figure for ``bench``, not a test."""
    places = []
    for click in clicks:
        k, off = divmod(click.t_ns - track.origin_ns, track.beat_ns)
        assert off == 0 and click.beat == k % track.metre.numerator, (click, track)
        places.append(k)
    return places


def test_metronome_clicks_every_beat_with_an_accented_downbeat(wait_for):
    sink = ClickSink()
    metro = Metronome(lambda: sink, bpm=400, metre="6/8")  # an eighth every 75 ms
    metro.set_on(True)
    track = metro.track
    try:
        assert wait_for(lambda: len(sink.on) >= 8)
    finally:
        metro.close()
    assert track.beat_ns == 75 * MS
    played = metro.played
    assert [(n, v) for _, n, v in sink.on] == [(c.note, c.velocity) for c in played]  # what sounded
    beats = on_the_grid(played, track)
    assert beats == sorted(set(beats))  # in order, never a beat twice
    # Each beat's sound is its place in the 6/8 bar's: the downbeat accented, the five others not. (A click more
    # than half a beat late is let go, never played late, so a busy machine may skip one: not a fault.)
    assert [ACCENT_NOTE if k % 6 == 0 else BEAT_NOTE for k in beats] == [n for _, n, _ in sink.on]
    assert {ACCENT_NOTE, BEAT_NOTE} <= {c.note for c in played}
    assert ACCENT_VELOCITY > BEAT_VELOCITY  # the downbeat is louder
    assert len(sink.off) >= len(played) - 1  # every click is let go
    count = len(sink.on)
    time.sleep(0.2)
    assert len(sink.on) == count  # closed: no more clicks


def test_tempo_change_applies_from_the_next_beat(wait_for):
    sink = ClickSink()
    metro = Metronome(lambda: sink, bpm=400, metre="4/4")
    metro.set_on(True)
    fast = metro.track
    try:
        assert wait_for(lambda: len(metro.played) >= 2)
        before = metro.played[-1]
        metro.set_tempo(200)
        slow = metro.track
        assert wait_for(lambda: sum(c.t_ns >= slow.origin_ns for c in metro.played) >= 3)
    finally:
        metro.close()
    assert fast.beat_ns == 150 * MS and slow.beat_ns == 300 * MS
    # The new grid starts on the old grid's next beat, after the click played last...
    k, off = divmod(slow.origin_ns - fast.origin_ns, fast.beat_ns)
    assert off == 0 and k > on_the_grid([before], fast)[0]
    # ...the clicks before it lie on the old grid, those from it on the new one, in order.
    old = on_the_grid([c for c in metro.played if c.t_ns < slow.origin_ns], fast)
    new = on_the_grid([c for c in metro.played if c.t_ns >= slow.origin_ns], slow)
    assert old == sorted(set(old)) and new == sorted(set(new)) and len(new) >= 3


def test_clicks_sound_on_the_synth_but_never_reach_the_take(tmp_path, tiny_model, wait_for):
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1, tempo_bpm=300)
    try:
        silence = np.abs(eng.synth.render_seconds(0.05)).max()
        eng.metronome.set_on(True)
        assert wait_for(lambda: len(eng.metronome.played) >= 1)
        assert silence <= SILENCE_PEAK and np.abs(eng.synth.render_seconds(0.1)).max() > 100  # heard
        assert len(eng.take) == 0 and eng.take_path is None  # and not recorded
        eng.metronome.set_on(False)
        n = len(eng.metronome.played)
        time.sleep(0.4)
        assert len(eng.metronome.played) <= n + 1
    finally:
        eng.close()


def test_only_the_instrument_the_player_hears_takes_clicks():
    """A note sink is mido's port (notes, reset, panic, close): the click is the instrument's, so MIDI out has
    none to send, and the silent stand-in takes one without a sound or a sounding note."""
    assert not hasattr(NoteSink, "click") and not hasattr(MidiOutput, "click")
    assert all(hasattr(kind, "click") and hasattr(kind, "click_off") for kind in (Instrument, Synth, SilentSynth))
    silent = SilentSynth()
    silent.click(ACCENT_NOTE, ACCENT_VELOCITY)
    silent.click_off(ACCENT_NOTE)
    assert silent.sounding_notes == frozenset()


def test_metronome_with_the_null_sound_device(tmp_path, tiny_model, wait_for):
    """Headless: the stream renders into ALSA's null sink while the clicks go to the synth it pulls from."""
    eng = LiveEngine(tiny_model(), audio=True, take_dir=tmp_path, seed=1, tempo_bpm=400).start()
    try:
        eng.metronome.set_on(True)
        assert wait_for(lambda: len(eng.metronome.played) >= 3)
        eng.press("key:z")
        assert len(eng.take) == 1
    finally:
        eng.close()


def test_midi_keys_steer_the_pitch_by_their_height(tmp_path):
    eng = LiveEngine("vanilla_rnn", SamplingSettings(steer=1.0), audio=False, take_dir=tmp_path, seed=4)
    heard = []
    eng.note_started.connect(heard.append)
    t = time.perf_counter_ns()
    keys = [60, 62, 64, 65, 67, 65, 64, 62, 60, 60, 62, 59, 55, 57]
    try:
        for k, note in enumerate(keys):
            eng.midi_note("on", note, 90, t + k * 200 * MS)
            eng.midi_note("off", note, 0, t + k * 200 * MS + 100 * MS)
    finally:
        eng.close()
    asked = [ev.direction for ev in heard]
    assert asked == [None] + [int(np.sign(b - a)) for a, b in zip(keys, keys[1:], strict=False)]
    pitches = [ev.pitch for ev in heard]
    for d, a, b in zip(asked[1:], pitches, pitches[1:], strict=False):
        assert (b > a) if d > 0 else (b < a) if d < 0 else abs(b - a) <= 2
    assert [n.direction for n in eng.take.notes] == asked  # the take keeps what each key asked


def test_steer_keys_are_the_home_row_low_to_high(tmp_path, tiny_model):
    assert [steer_key_height(k) for k in STEER_KEYS] == list(range(8))
    assert steer_key_height("semicolon") == 7 and steer_key_height("z") is None
    eng = LiveEngine(tiny_model(), SamplingSettings(steer=1.0), audio=False, take_dir=tmp_path, seed=4)
    t = time.perf_counter_ns()
    try:
        seq = ["a", "f", "l", "l", "d"]
        evs = []
        for k, name in enumerate(seq):
            evs.append(eng.press(key_source(name), t + k * 200 * MS, key_height=steer_key_height(name)))
            eng.release(key_source(name), t + k * 200 * MS + 100 * MS)
    finally:
        eng.close()
    assert [e.direction for e in evs] == [None, 1, 1, 0, -1]


def test_a_late_thread_still_plays_the_downbeat_and_never_a_click_twice(wait_for):
    sink = ClickSink()
    metro = Metronome(lambda: sink, bpm=120, metre="3/4")
    downbeat = metro.count_in(now_ns=time.perf_counter_ns() - 80 * MS)  # the first click was due 30 ms ago
    track = metro.track
    try:
        assert wait_for(lambda: len(sink.on) >= 3)
        assert wait_for(lambda: metro.track is None)  # the count-in alone ends after its bar
    finally:
        metro.close()
    assert [n for _, n, _ in sink.on] == [ACCENT_NOTE, BEAT_NOTE, BEAT_NOTE]  # one bar, then the take starts
    assert on_the_grid(metro.played, track) == [0, 1, 2]  # the late downbeat too, each once
    assert downbeat == track.click(3).t_ns  # the take starts on the next bar's downbeat
