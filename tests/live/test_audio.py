"""AudioOutput on the ALSA null sink (unpaced), silent mode without a device, and real-time on JACK."""

from __future__ import annotations

import time

import numpy as np
import pytest

from composer_app.bench.jack_rig import JackRecorder, portaudio_output_ports
from composer_app.live import audio
from composer_app.live.audio import AudioOutput, find_output_device, list_output_devices
from composer_app.live.synth import Synth


@pytest.fixture
def synth():
    with Synth() as s:
        yield s


def test_null_sink_is_the_default_output():
    """conftest's ALSA config gives this card-less machine a default output device."""
    devices = list_output_devices()
    assert any(d.is_default for d in devices), devices
    assert all(d.channels >= 1 for d in devices)


def test_plays_on_default_device(synth, wait_for):
    statuses = []
    out = AudioOutput(synth, on_status=statuses.append)
    with out:
        assert out.available, out.status_message
        assert out.status.samplerate == synth.samplerate and out.status.blocksize == 128
        assert out.latency_s is not None and out.latency_s > 0
        assert wait_for(lambda: out.callback_count > 10)
        synth.note_on(60, 100)
        assert wait_for(lambda: out.note_timings())
        timing = out.note_timings()[-1]
        assert timing.block_ns >= timing.note_on_ns and timing.wait_s < 1.0
    assert not out.available and not out.running
    assert out.frames_rendered >= 10 * 128
    assert synth.sounding_notes == frozenset()  # stop sent all-notes-off
    assert [s.available for s in statuses] == [True, False]


def test_nonexistent_device_gives_silent_mode(synth):
    statuses = []
    out = AudioOutput(synth, device="no such sound card", on_status=statuses.append)
    status = out.start()
    assert not status.available and not out.running
    assert "no sound" in status.message and "no such sound card" in status.message
    assert "still work" in status.message
    assert out.start() == status and len(statuses) == 1  # reported once, not on every retry
    synth.note_on(60, 100)  # everything else keeps working
    assert synth.render(64).shape == (64, 2)
    out.close()


def test_nonexistent_device_index(synth):
    status = AudioOutput(synth, device=999).start()
    assert not status.available and "999" in status.message


def test_no_portaudio_library(synth, monkeypatch):
    monkeypatch.setattr(audio, "_sounddevice", lambda: (None, "the PortAudio library is missing"))
    status = AudioOutput(synth).start()
    assert not status.available and "PortAudio" in status.message
    assert list_output_devices() == []


def test_configure_restarts_with_new_blocksize(synth, wait_for):
    with AudioOutput(synth, blocksize=128) as out:
        assert wait_for(lambda: out.callback_count > 0)
        synth.note_on(64, 100)
        status = out.configure(blocksize=256, latency=0.02)
        assert status.available and status.blocksize == 256
        assert synth.sounding_notes == frozenset()  # the switch sent all-notes-off
        before = out.frames_rendered
        assert wait_for(lambda: out.frames_rendered > before + 10 * 256)
        assert out.configure(device="no such device").available is False
        assert not out.running


def test_jack_output_is_recorded(jack_server, synth, wait_for):
    """PortAudio's JACK host API is visible, and what AudioOutput plays arrives at a JACK recording client."""
    index = find_output_device("JACK")
    assert index is not None, [d.label for d in list_output_devices()]
    with JackRecorder(jack_server.name, seconds=5.0) as rec, AudioOutput(synth, device=index, blocksize=0) as out:
        assert out.available, out.status_message
        assert out.status.hostapi.startswith("JACK") and out.status.samplerate == jack_server.rate
        sources = portaudio_output_ports(jack_server.name, exclude=("system:", rec.name))
        assert len(sources) == 2, sources
        rec.connect(sources)
        assert wait_for(lambda: rec.frames_recorded > 2 * jack_server.period)
        start = rec.first_frame + rec.frames_recorded
        assert rec.peak_since(start) < 0.01
        synth.note_on(60, 110)
        onset = rec.wait_onset(start, threshold=0.01)
        assert onset is not None
        time.sleep(0.05)
        assert rec.peak_since(onset) > 0.05
        left, right = rec.audio[onset - rec.first_frame:].T
        assert np.abs(left).max() > 0.05 and np.abs(right).max() > 0.05
        # JACK paces the callback like a real card (the ALSA null sink runs ~150x real time): frames advance,
        # but never much faster than the sample rate. (A loaded machine can make it slower, never faster.)
        t0, f0 = time.monotonic(), out.frames_rendered
        time.sleep(0.3)
        rate = (out.frames_rendered - f0) / (time.monotonic() - t0)
        assert 0 < rate < 2 * jack_server.rate
