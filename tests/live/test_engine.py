"""The live engine without a window: a press sounds at once, settings/model switches, undo, replay, silent mode."""

from __future__ import annotations

import threading
import time
from dataclasses import fields

import numpy as np
import pytest

from composer_app import checkpoints
from composer_app.beats import FeatureSpec
from composer_app.checkpoints import LoadedModel
from composer_app.errors import UserError
from composer_app.live import live_models
from composer_app.live.engine import LiveEngine, NoteEnded, NoteStarted, StepTiming
from composer_app.live.recovery import load_take
from composer_app.live.synth import SILENCE_PEAK
from composer_app.pitches import parse_scale
from composer_app.sampling import SamplingSettings

MS = 1_000_000


def tap(eng, source, t_ns, hold_ms=100, velocity=None):
    started = eng.press(source, t_ns, velocity)
    eng.release(source, t_ns + hold_ms * MS)
    return started


def test_press_sounds_at_once_with_an_allowed_pitch(engine):
    heard = []
    engine.note_started.connect(lambda ev: heard.append((ev, engine.synth.sounding_notes)))
    t = time.perf_counter_ns()
    ev = engine.press("key:z", t)
    assert ev is not None and 21 <= ev.pitch <= 108
    assert ev.timing.key_down_ns == t and ev.timing.sounded_ns >= t and ev.timing.step_ns > 0
    assert ev.start_s == 0.0 and ev.timing.key_to_sound_ns == ev.timing.sounded_ns - t
    assert heard[0][1] == {ev.pitch}  # the synth already sounded it when listeners ran
    assert engine.synth.sounding_notes == {ev.pitch}
    assert peak(engine.synth.render_seconds(0.1)) > 100  # and it is audible
    ended = engine.release("key:z", t + 200 * MS)
    assert ended.pitch == ev.pitch and ended.reason == "release" and ended.dur_s == pytest.approx(0.2)
    assert ended.end_s == pytest.approx(0.2) == engine.take.notes[0].end
    assert engine.synth.sounding_notes == frozenset()


def test_each_event_keeps_one_unit():
    """A note's events speak the take's seconds, the engine's timing of it nanoseconds: none mixes the two."""
    for kind, unit in ((NoteStarted, "_s"), (NoteEnded, "_s"), (StepTiming, "_ns")):
        timed = [f.name for f in fields(kind) if f.name.endswith(("_s", "_ns"))]
        assert timed and all(name.endswith(unit) for name in timed), (kind.__name__, timed)


def test_repeat_press_does_not_step_the_model(engine):
    t = time.perf_counter_ns()
    assert engine.press("key:z", t) is not None
    count = engine.model_steps
    assert engine.press("key:z", t + 40 * MS) is None  # auto-repeat
    assert engine.model_steps == count and len(engine.take) == 1


def test_legato_sends_note_off_of_the_held_note(engine):
    ended = []
    engine.note_ended.connect(ended.append)
    t = time.perf_counter_ns()
    a = engine.press("key:z", t)
    b = engine.press("key:x", t + 150 * MS)
    assert ended and ended[0].index == a.index and ended[0].reason == "legato"
    assert engine.synth.sounding_notes == {b.pitch}
    assert b.rest_s == 0.0 and b.prev_dur_s == pytest.approx(0.15)


def test_velocity_drives_loudness(tmp_path, tiny_model):
    peaks = {}
    for vel in (20, 120):
        with LiveEngine(tiny_model(), SamplingSettings(low=60, high=60, repeat_decay=0.0), audio=False,
                        record=False) as eng:
            eng.midi_note("on", 50, vel, time.perf_counter_ns())
            peaks[vel] = peak(eng.synth.render_seconds(0.2))
            eng.midi_note("on", 50, 0, time.perf_counter_ns())  # velocity 0 = note-off
            assert eng.synth.sounding_notes == frozenset()
            assert eng.take.notes[0].velocity == vel
    assert peaks[120] > 2 * peaks[20]


def test_settings_switch_takes_effect_at_next_beat(engine):
    t = time.perf_counter_ns()
    first = engine.press("key:z", t)
    engine.set_settings(SamplingSettings(low=72, high=72, repeat_decay=0.0))
    assert engine.synth.sounding_notes == {first.pitch}  # the sounding note goes on
    engine.release("key:z", t + 100 * MS)
    pitches = [tap(engine, "key:z", t + k * 300 * MS).pitch for k in range(1, 5)]
    assert pitches == [72] * 4
    engine.set_settings(SamplingSettings(scale="D dorian", low=50, high=80))
    tonic, intervals = parse_scale("D dorian")
    for k in range(5, 25):
        p = tap(engine, "key:x", t + k * 300 * MS).pitch
        assert 50 <= p <= 80 and (p - tonic) % 12 in intervals
    assert engine.take.events[0]["settings"]["high"] == 72


def test_model_switch_sends_all_notes_off_and_primes_new_model(engine, monkeypatch, tiny_model):
    calls = []
    real = engine.synth.all_notes_off
    monkeypatch.setattr(engine.synth, "all_notes_off", lambda *a, **k: (calls.append(1), real(*a, **k)))
    ended = []
    engine.note_ended.connect(ended.append)
    t = time.perf_counter_ns()
    for k in range(3):
        tap(engine, "key:z", t + k * 200 * MS)
    engine.press("key:z", t + 700 * MS)
    new = tiny_model("lstm_attn")
    engine.set_model(new)
    assert calls and engine.synth.sounding_notes == frozenset()
    assert ended[-1].reason == "model"
    assert engine.model is new and engine.model_steps == 4  # primed with the 4 notes played
    assert engine.status.text("model").startswith("model: LSTM with Local Attention")
    assert engine.release("key:z", t + 800 * MS) is None  # its note was ended by the switch
    assert tap(engine, "key:x", t + 900 * MS) is not None
    with pytest.raises(UserError, match="cannot play live"):
        engine.set_model(LoadedModel(tiny_model().model, "vanilla_rnn", "offline", FeatureSpec()))


def test_missing_shipped_checkpoint_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(checkpoints, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setattr(live_models, "default_checkpoint", lambda a, k: tmp_path / f"{a}_{k}.pt")
    with pytest.raises(UserError, match="no shipped live model .*vanilla_rnn_live.pt is missing"):
        LiveEngine("vanilla_rnn", audio=False, record=False)


def test_shipped_checkpoint_loads_by_architecture(monkeypatch, tmp_path, tiny_model):
    loaded = tiny_model()
    checkpoints.save_checkpoint(tmp_path / "vanilla_rnn_live.pt", loaded.model, "vanilla_rnn", "live", FeatureSpec())
    monkeypatch.setattr(live_models, "default_checkpoint", lambda a, k: tmp_path / f"{a}_{k}.pt")
    with LiveEngine("vanilla_rnn", audio=False, record=False) as eng:
        assert eng.model.path.endswith("vanilla_rnn_live.pt") and eng.model.kind == "live"


def test_no_sound_card_runs_silently_and_says_so_once(tmp_path, tiny_model):
    messages = []
    eng = LiveEngine(tiny_model(), audio=True, device="no such sound card", take_dir=tmp_path)
    eng.status_changed.connect(lambda status: messages.append((status.topic, status.text)))
    eng.start()
    try:
        assert not eng.sound.available
        sound = [m for topic, m in messages if topic == "sound"]
        assert len(sound) == 1 and "no sound" in sound[0] and "still work" in sound[0]
        eng.start()
        t = time.perf_counter_ns()
        for k in range(3):
            assert tap(eng, "key:z", t + k * 200 * MS) is not None
        assert len(eng.take) == 3 and len([1 for topic, _ in messages if topic == "sound"]) == 1
        # Nothing renders the synth: notes must not pile up in FluidSynth's event queue (it drops events when
        # full: stuck notes later), so the real synth never hears them.
        for k in range(600):
            tap(eng, "key:x", t + (k + 10) * 200 * MS)
        eng.stop()
        assert eng.synth.sounding_notes == frozenset() and eng.synth.active_voices() == 0
    finally:
        eng.close()
    assert len(load_take(eng.take_path)) == 603


def test_without_fluidsynth_everything_but_sound_works(monkeypatch, tmp_path, tiny_model):
    from composer_app.live import synth as synth_mod

    def missing():
        raise UserError("the FluidSynth library was not found")

    monkeypatch.setattr(synth_mod, "_fluidsynth", missing)
    with LiveEngine(tiny_model(), audio=True, take_dir=tmp_path) as eng:
        assert "FluidSynth" in eng.status.text("sound")
        assert tap(eng, "key:z", time.perf_counter_ns()) is not None
        assert len(eng.to_melody()) == 1


def test_undo_restores_model_state_and_take(engine, tiny_model, tmp_path):
    t = time.perf_counter_ns()
    greedy = SamplingSettings(top_k=1)  # the pitch depends on the model's state alone, not on the draw
    engine.set_settings(greedy)
    for k in range(3):
        tap(engine, "key:z", t + k * 200 * MS)
    engine.press("key:x", t + 700 * MS)
    assert engine.undo()
    assert engine.synth.sounding_notes == frozenset() and len(engine.take) == 3 and engine.model_steps == 3
    assert engine.release("key:x", t + 750 * MS) is None
    after_undo = [tap(engine, "key:z", t + k * 300 * MS + 900 * MS).pitch for k in range(4)]
    with LiveEngine(tiny_model(), greedy, audio=False, record=False) as never_undone:
        for k in range(3):
            tap(never_undone, "key:z", t + k * 200 * MS)
        # the same beats as after the undo: rest measured from the third note's end
        never_undone.press("key:z", t + 900 * MS)
        never_undone.release("key:z", t + 1000 * MS)
        straight = [never_undone.take.notes[3].pitch] + [
            tap(never_undone, "key:z", t + k * 300 * MS + 900 * MS).pitch for k in range(1, 4)]
    assert after_undo == straight  # the model went on as if the undone note had never been played
    nxt = engine.take.notes[3]
    assert nxt.index == 3 and nxt.rest_s == pytest.approx(0.9 - 0.5)
    while engine.undo():
        pass
    assert len(engine.take) == 0 and not engine.undo()
    engine.close()
    assert len(load_take(engine.take_path)) == 0


def test_stop_ends_the_note_and_new_take_closes_the_old(engine, tmp_path):
    t = time.perf_counter_ns()
    tap(engine, "key:z", t)
    engine.press("key:x", t + 300 * MS)
    engine.stop()
    assert engine.synth.sounding_notes == frozenset() and engine.take.notes[-1].end is not None
    first_path = engine.take_path
    engine.new_take()
    assert len(engine.take) == 0 and engine.model_steps == 0
    assert load_take(first_path).closed and len(load_take(first_path)) == 2
    tap(engine, "key:z", time.perf_counter_ns())
    assert engine.take_path != first_path


def test_replay_is_timed_non_blocking_and_stoppable(engine):
    t = time.perf_counter_ns()
    for k in range(6):
        tap(engine, "key:z", t + k * 100 * MS, hold_ms=50)
    seen, done, first, go = [], threading.Event(), threading.Event(), threading.Event()

    def heard(i, on):
        seen.append((i, on, time.perf_counter()))
        first.set()
        go.wait(10)  # the replay's thread waits here at its first note until the test lets it go

    engine.replayer.note.connect(heard)
    engine.replayer.finished.connect(done.set)
    t0 = time.perf_counter()
    engine.replay()  # returns at once: here while the replay is held at its first note
    assert first.wait(10) and engine.replayer.running and not done.is_set()
    go.set()
    assert done.wait(10)
    assert [(i, on) for i, on, _ in seen if on] == [(k, True) for k in range(6)]
    assert [on for _, on, _ in seen] == [True, False] * 6  # each note ends before the next starts
    # In real time, never early: the last note starts no sooner than its 500 ms after the first. (How close to
    # on time it comes is a figure for bench; a loaded machine only makes it later.)
    assert seen[-2][2] - t0 >= 0.49
    assert engine.synth.sounding_notes == frozenset()
    done.clear()
    first.clear()
    engine.replay(speed=0.1)  # 10x slower: still playing when stopped
    assert first.wait(10) and engine.replayer.running
    engine.replayer.stop()
    assert done.wait(10) and not engine.replayer.running and engine.synth.sounding_notes == frozenset()


def test_submit_from_another_thread(engine):
    got = []
    engine.note_started.connect(lambda ev: got.append(threading.current_thread().name))
    t = time.perf_counter_ns()
    th = threading.Thread(target=lambda: (engine.submit_press("midi:60", t, 90),
                                          engine.submit_release("midi:60", t + 100 * MS)))
    th.start()
    th.join()
    assert engine.wait_idle()
    assert got == ["live-engine"] and len(engine.take) == 1 and engine.take.notes[0].end is not None


def test_export_midi_round_trip(engine, tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    t = time.perf_counter_ns()
    for k in range(5):
        tap(engine, "key:z", t + k * 250 * MS, velocity=None)
    engine.press("key:z", t + 2000 * MS)  # still sounding at export: ends "now"
    melody = engine.to_melody()
    assert len(melody) == 6 and np.all(melody.ends >= melody.starts)
    path = engine.export_midi(tmp_path / "take.mid")
    notes = pretty_midi.PrettyMIDI(str(path)).instruments[0].notes
    assert [n.pitch for n in notes] == melody.pitches.tolist()
    assert notes[1].start == pytest.approx(melody.starts[1], abs=0.002)


def test_listeners_failing_do_not_break_the_instrument(engine):
    engine.note_started.connect(lambda ev: 1 / 0)
    assert engine.press("key:z", time.perf_counter_ns()) is not None
    assert len(engine.take) == 1


def test_close_silences_everything(tmp_path, tiny_model):
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path)
    eng.press("key:z", time.perf_counter_ns())
    eng.close()
    eng.close()
    assert load_take(eng.take_path).closed


def peak(block: np.ndarray) -> int:
    return int(np.abs(block.astype(np.int32)).max())


def test_silence_after_stop(engine):
    t = time.perf_counter_ns()
    for k in range(5):
        engine.press("key:z" if k % 2 else "key:x", t + k * 60 * MS)
    engine.stop()
    engine.synth.render_seconds(2.0)
    assert peak(engine.synth.render_seconds(0.1)) <= SILENCE_PEAK


def test_plays_on_the_default_device_and_switches_block_size(tmp_path, tiny_model, wait_for):
    """conftest's ALSA null sink stands in for a sound card."""
    with LiveEngine(tiny_model(), audio=True, take_dir=tmp_path, blocksize=128) as eng:
        assert eng.sound.available, eng.status.latest
        ev = eng.press("key:z")
        assert wait_for(lambda: eng.sound.output.note_timings())
        timing = eng.sound.output.note_timings()[-1]
        assert timing.note_on_ns <= ev.timing.sounded_ns <= timing.block_ns  # rendered by a block after the note-on
        status = eng.sound.set_audio(blocksize=256, latency=0.02)
        assert status.available and status.blocksize == 256
        assert eng.synth.sounding_notes == frozenset() and eng.take.notes[-1].end is not None
        assert eng.sound.set_audio(device="no such device").available is False
        assert tap(eng, "key:x", time.perf_counter_ns()) is not None  # silent, still playing


#: The velocity of the notes sent until one arrives (none of the take's own notes has it).
PROBE_VELOCITY = 10


def test_midi_loopback_drives_a_take_that_exports(jack_server, tmp_path, tiny_model, wait_for):
    """A MIDI keyboard over JACK plays a whole take through the engine's own MIDI input; it exports to MIDI."""
    pretty_midi = pytest.importorskip("pretty_midi")
    from composer_app.bench.jack_rig import JackMidiSender
    from composer_app.bench.live import connect_midi
    from composer_app.live.midi_in import JACK_BACKEND

    with LiveEngine(tiny_model(), audio=False, take_dir=tmp_path) as eng:
        # The MIDI port opens before the sender (a Python JACK client) runs: see MidiConnection.
        port = eng.midi_in.open("take-in", backend=JACK_BACKEND, virtual=True)
        assert eng.status.text("midi") == f"MIDI input: {port}"
        with JackMidiSender(jack_server.name, name="ec-take-kbd") as kbd:
            connect_midi(jack_server, kbd.port_name, port)
            # JACK makes the connection at a later cycle (on a busy machine, many): a note that arrives says it is made

            def probe() -> bool:
                kbd.note_on(50, PROBE_VELOCITY)
                kbd.note_off(50)
                return len(eng.take) > 0

            assert wait_for(probe, timeout=10.0)
            velocities = [30, 60, 90, 120, 45, 75, 105, 127]
            for k, vel in enumerate(velocities):
                kbd.note_on(60 + k, vel)
                time.sleep(0.03)
                if k % 2:
                    kbd.send([0x90, 60 + k, 0])  # velocity-0 note-on
                else:
                    kbd.note_off(60 + k)
                time.sleep(0.03)
            def played() -> list:
                return [n for n in eng.take.notes if n.velocity != PROBE_VELOCITY]

            assert wait_for(lambda: len(played()) >= 8 and played()[-1].end is not None)
        assert [n.velocity for n in played()] == velocities
        assert all(n.end is not None and n.source.startswith("midi:") for n in eng.take.notes)
        path = eng.export_midi(tmp_path / "loop.mid")
    notes = [n for n in pretty_midi.PrettyMIDI(str(path)).instruments[0].notes if n.velocity != PROBE_VELOCITY]
    assert [n.velocity for n in notes] == velocities
    durs = [n.end - n.start for n in notes]
    assert all(d > 0.01 for d in durs), durs  # each note held until its own note-off (how long: the sender's sleeps)
