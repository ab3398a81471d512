"""Synth: sound after note-on, silence after note-off / all-notes-off, soundfont errors, preset names."""

from __future__ import annotations

import numpy as np
import pytest

from composer_app.errors import UserError
from composer_app.live.synth import SILENCE_PEAK, Synth, default_soundfont


@pytest.fixture
def synth():
    with Synth(reverb=False) as s:
        yield s


def peak(block: np.ndarray) -> int:
    return int(np.abs(block.astype(np.int32)).max())


def test_render_shape_and_silence_before_any_note(synth):
    block = synth.render(512)
    assert block.shape == (512, 2) and block.dtype == np.int16
    assert peak(block) <= SILENCE_PEAK  # FluidSynth dithers: +-1, never a note


def test_note_on_sounds_and_note_off_decays(synth):
    synth.note_on(60, 100)
    assert synth.sounding_notes == {60}
    assert peak(synth.render_seconds(0.2)) > 500
    synth.note_off(60)
    assert synth.sounding_notes == frozenset()
    synth.render_seconds(1.5)  # piano release in TimGM6mb: < 1 s measured
    assert peak(synth.render_seconds(0.1)) <= SILENCE_PEAK
    assert synth.active_voices() == 0


def test_all_notes_off_silences_everything_including_pedal(synth):
    synth.sustain(True)  # a sustain pedal held down would keep voices sounding through all-notes-off
    for pitch in (60, 64, 67):
        synth.note_on(pitch, 110)
    synth.render_seconds(0.1)
    synth.all_notes_off()
    assert synth.sounding_notes == frozenset()
    synth.render_seconds(1.5)
    assert synth.active_voices() == 0
    assert peak(synth.render_seconds(0.1)) <= SILENCE_PEAK


def test_all_notes_off_immediate_cuts_tails(synth):
    synth.note_on(72, 120)
    synth.render_seconds(0.05)
    synth.all_notes_off(immediate=True)
    synth.render(256)  # FluidSynth fades the cut over one block to avoid a click
    assert synth.active_voices() == 0
    assert peak(synth.render(1024)) <= SILENCE_PEAK


def test_render_into_callback_buffer(synth):
    out = np.zeros((512, 2), dtype=np.int16)
    synth.note_on(60, 100)  # C4 starts within ~3 ms; TimGM6mb's F4-A4 sample has ~8 ms of lead-in silence
    synth.render_into(out)
    assert peak(out) > 100


def test_bad_soundfont_keeps_old_one(synth, tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"this is not RIFF data" * 50)
    with pytest.raises(UserError, match="not a SoundFont file"):
        synth.load_soundfont(bad)
    with pytest.raises(UserError, match="not a SoundFont file"):
        synth.load_soundfont(tmp_path / "missing.sf2")
    assert synth.soundfont == default_soundfont()
    synth.note_on(60, 100)
    assert peak(synth.render_seconds(0.1)) > 500


def test_reload_and_program_select(synth):
    synth.load_soundfont(default_soundfont())  # replacing a soundfont by a good one works
    synth.program_select(40)
    assert synth.program == 40
    synth.note_on(67, 100)
    assert peak(synth.render_seconds(0.2)) > 100
    with pytest.raises(UserError):
        synth.program_select(128)


def test_preset_names(synth):
    names = synth.preset_names()
    assert len(names) >= 100
    assert "piano" in names[0].lower()  # TimGM6mb calls it 'Piano 1'


def test_samplerate_change_keeps_sound(synth):
    synth.set_samplerate(48000)
    assert synth.samplerate == 48000 and synth.program == 0
    synth.note_on(60, 100)
    assert peak(synth.render_seconds(0.1)) > 500


def test_notes_from_another_thread_while_rendering(synth):
    """Note events from a second thread while this one renders: nothing breaks, nothing stays stuck.

    Paced at ~1000 notes/s, far beyond any player: an unpaced flood overflows FluidSynth's event queue between
    two renders ("Ringbuffer full") and notes get dropped, which no keyboard can cause.
    """
    import threading
    import time

    stop = threading.Event()

    def player():
        pitch = 48
        while not stop.is_set():
            synth.note_on(pitch, 90)
            synth.note_off(pitch)
            pitch = 48 + (pitch + 1) % 24
            time.sleep(0.001)

    t = threading.Thread(target=player)
    t.start()
    try:
        for _ in range(300):
            synth.render(128)
            time.sleep(0.0005)
    finally:
        stop.set()
        t.join()
    assert synth.sounding_notes == frozenset()
    synth.all_notes_off(immediate=True)
    synth.render(512)
    assert peak(synth.render(4096)) <= SILENCE_PEAK
    # Not asserted: active_voices() == 0. This flood fills FluidSynth's polyphony (256 voices in their release),
    # and under CPU load it then sometimes never frees one or two silent voices ("Exceeded finished voices
    # array"): measured, harmless, and out of reach of a player (~20 voices at 20 notes/s).
    synth.note_on(60, 100)
    assert peak(synth.render_seconds(0.1)) > 500
