"""The sound part: the synth or its silent stand-in behind one interface, and where the notes go."""

from __future__ import annotations

import pytest

from composer_app.errors import UserError
from composer_app.live import synth as synth_module
from composer_app.live.instrument import Instrument, SilentSynth
from composer_app.live.sound_output import SoundOutput, open_synth
from composer_app.live.synth import Synth


def test_the_silent_stand_in_keeps_the_interface_of_the_synth():
    silent = SilentSynth()
    assert isinstance(silent, Instrument) and issubclass(Synth, Instrument)
    silent.program_select(40)
    silent.note_on(60, 90)
    assert silent.program == 40 and silent.sounding_notes == {60} and silent.preset_names() == {}
    silent.panic()
    assert silent.sounding_notes == frozenset()
    with pytest.raises(UserError, match="no synthesizer"):
        silent.load_soundfont("x.sf2")


def test_without_fluidsynth_the_sound_is_silent_and_says_why(monkeypatch):
    def missing():
        raise UserError("the FluidSynth library was not found")

    monkeypatch.setattr(synth_module, "_fluidsynth", missing)
    said = []
    instrument = open_synth(None, 0, lambda text, level="info": said.append((text, level)))
    assert isinstance(instrument, SilentSynth)
    assert said == [("no sound: the FluidSynth library was not found; tapping, the melody and export still work",
                     "warning")]


def test_a_soundfont_that_cannot_be_read_is_refused(tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"not a soundfont")
    with pytest.raises(UserError, match="not a SoundFont file"):
        open_synth(bad, 0, lambda *a: None)


def test_without_audio_the_notes_go_straight_to_the_synth_and_set_audio_opens_a_device():
    said = []
    synth = Synth()
    sound = SoundOutput(synth, False, lambda text, level="info": said.append(level), lambda: None)
    try:
        assert sound.router.synth is synth and sound.status is None and not sound.available
        assert sound.settings == {"device": None, "blocksize": 128, "latency": "low"}
        status = sound.set_audio(device="no such sound card", blocksize=256)
        assert status is not None and not status.available and sound.router.synth is sound.silent
        assert sound.settings["blocksize"] == 256 and said[-1] == "warning"
    finally:
        sound.close()
