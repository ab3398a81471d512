"""Writing MIDI and WAV: a soundfont FluidSynth cannot read is refused before any work (never a WAV of another
sound), a WAV too long to render in memory is refused before rendering, and an output never replaces an input."""

from __future__ import annotations

import os
import time

import pretty_midi
import pytest

from composer_app import export
from composer_app.errors import UserError
from composer_app.notes import Notes


def test_a_damaged_soundfont_is_refused(tmp_path, capfd):
    header_only = tmp_path / "cut.sf2"
    header_only.write_bytes(b"RIFF\x10\x00\x00\x00sfbk" + b"garbage" * 10)
    noise = tmp_path / "noise.sf2"
    noise.write_bytes(os.urandom(4096))
    with pytest.raises(UserError, match="damaged SoundFont: FluidSynth cannot read it"):
        export.check_can_render(header_only)
    with pytest.raises(UserError, match="not a SoundFont"):
        export.check_can_render(noise)
    assert "fluidsynth" not in capfd.readouterr().err  # the command says it in one line of its own
    assert export.check_can_render(None) == export.default_soundfont()


def test_a_pipe_or_a_device_as_soundfont_is_refused_unread(tmp_path):
    fifo = tmp_path / "font.sf2"
    os.mkfifo(fifo)
    started = time.perf_counter()
    for path in (fifo, "/dev/zero"):
        with pytest.raises(UserError, match="not a regular file"):
            export.check_can_render(path)
    assert time.perf_counter() - started < 5


def test_a_wav_too_long_to_render_is_refused_before_rendering(monkeypatch):
    pm = export.build_midi(Notes([0.0, 14 * 3600.0], [1.0, 14 * 3600.0 + 1], [60, 62]), tempo_bpm=60)
    monkeypatch.setattr(pretty_midi.PrettyMIDI, "fluidsynth",
                        lambda *a, **k: pytest.fail("a 14-hour melody was rendered"))
    with pytest.raises(UserError, match="--wav renders at most 20 minutes"):
        export.render_audio(pm)
    export.check_wav_length(export.MAX_WAV_SECONDS)


def test_an_output_that_is_the_input_is_refused(tmp_path, monkeypatch):
    src = tmp_path / "x.mid"
    src.write_bytes(b"MThd")
    link = tmp_path / "link.mid"
    link.symlink_to(src)
    monkeypatch.chdir(tmp_path)
    for output in (src, "x.mid", link, tmp_path / "sub" / ".." / "x.mid"):
        with pytest.raises(UserError, match="is the file read as input"):
            export.check_not_an_input(output, [src])
    export.check_not_an_input(tmp_path / "y.mid", [src])


def test_a_midi_file_takes_the_tempi_the_app_takes_and_no_others():
    """The file's grid checks the one tempo range (musical_time), with its message."""
    from composer_app.musical_time import MAX_BPM, MIN_BPM

    assert export.ticks_per_beat(1.0, MIN_BPM) > 0 and export.ticks_per_beat(1.0, MAX_BPM) > 0
    for outside in (MIN_BPM - 0.5, MAX_BPM + 0.5, float("nan")):
        with pytest.raises(UserError, match="tempo must be between 10 and 400 BPM"):
            export.ticks_per_beat(1.0, outside)
