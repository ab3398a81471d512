"""The engine's per-system choices with the platform faked (``sys.platform``): which MIDI API, which sound host
API, and the words of each "library missing" / "MIDI system missing" message."""

from __future__ import annotations

import sys

import pytest

from composer_app import platform_help as ph
from composer_app.errors import UserError
from composer_app.live import audio, midi_ports, synth

PLATFORM = {ph.LINUX: "linux", ph.MACOS: "darwin", ph.WINDOWS: "win32"}


@pytest.fixture(params=ph.SYSTEMS)
def system(request, monkeypatch):
    monkeypatch.setattr(sys, "platform", PLATFORM[request.param])
    return request.param


class _RefuseImport:
    """A meta-path finder that makes ``import name`` fail as a missing shared library does (OSError)."""

    def __init__(self, name: str, exc: Exception):
        self.name, self.exc = name, exc

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name:
            raise self.exc
        return None


def _refuse_import(monkeypatch, name: str, exc: Exception) -> None:
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sys, "meta_path", [_RefuseImport(name, exc), *sys.meta_path])


# -- which MIDI API --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("which", "api"), [(ph.LINUX, "LINUX_ALSA"), (ph.MACOS, "MACOSX_CORE"),
                                            (ph.WINDOWS, "WINDOWS_MM")])
def test_midi_uses_the_systems_own_api(which, api, monkeypatch):
    monkeypatch.setattr(sys, "platform", PLATFORM[which])
    assert midi_ports.native_backend() == f"mido.backends.rtmidi/{api}"


def test_the_default_backend_is_this_systems_and_names_its_api():
    assert midi_ports.DEFAULT_BACKEND == midi_ports.native_backend()
    assert "/" in midi_ports.DEFAULT_BACKEND  # never left to rtmidi, which may pick JACK by itself


def test_every_native_api_is_one_rtmidi_knows():
    import rtmidi

    assert all(hasattr(rtmidi, f"API_{api}") for api in midi_ports.NATIVE_API.values())


# -- what a missing MIDI system is called ------------------------------------------------------------------------
ERRORS = {ph.LINUX: "MidiInAlsa::initialize: error creating ALSA sequencer client object.",
          ph.MACOS: "MidiInCore::initialize: error creating OS-X MIDI client object.",
          ph.WINDOWS: "MidiInWinMM::initialize: no MIDI input devices currently available."}


def test_a_missing_midi_system_is_explained_for_the_system(system):
    reason = midi_ports.no_system_reason(OSError(ERRORS[system]), midi_ports.DEFAULT_BACKEND, "input")
    assert reason.startswith("no MIDI input: ") and ph.no_midi_system_help() in reason
    assert ("modprobe" in reason) == (system == ph.LINUX)
    assert "::" not in reason  # rtmidi's own words are not shown


def test_another_midi_error_is_shown_as_it_is(system):
    reason = midi_ports.no_system_reason(OSError("unknown port 'x'"), midi_ports.DEFAULT_BACKEND, "output")
    assert reason == "no MIDI output: unknown port 'x'"


def test_a_missing_jack_server_says_how_to_start_one_on_the_system(system):
    reason = midi_ports.no_system_reason(OSError("no server"), midi_ports.JACK_BACKEND, "input")
    assert "no JACK server" in reason and ph.jack_start_help() in reason
    assert ("pw-jack" in reason) == (system == ph.LINUX)


# -- which sound host API ------------------------------------------------------------------------------------------
class _FakeSd:
    """sounddevice's host API list as each system's PortAudio reports it."""

    HOSTAPIS = {
        ph.LINUX: [{"name": "ALSA", "default_output_device": 0}, {"name": "JACK Audio Connection Kit",
                                                                  "default_output_device": 3}],
        ph.MACOS: [{"name": "Core Audio", "default_output_device": 1}],
        ph.WINDOWS: [{"name": "MME", "default_output_device": 4}, {"name": "Windows DirectSound",
                                                                    "default_output_device": 7},
                     {"name": "Windows WASAPI", "default_output_device": 11},
                     {"name": "Windows WDM-KS", "default_output_device": 13}],
    }

    def __init__(self, system: str, extra=()):
        self.apis = [*self.HOSTAPIS[system], *extra]

    def query_hostapis(self):
        return self.apis


def test_no_chosen_device_plays_through_the_systems_low_latency_host_api(system):
    chosen = audio.default_output_device(_FakeSd(system))
    assert chosen == {ph.LINUX: None, ph.MACOS: 1, ph.WINDOWS: 11}[system]  # Linux: PortAudio's own default


def test_on_windows_asio_is_preferred_when_sounddevice_has_it(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    sd = _FakeSd(ph.WINDOWS, extra=[{"name": "ASIO", "default_output_device": 20}])
    assert audio.default_output_device(sd) == 20


def test_a_host_api_without_an_output_is_passed_over(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    sd = _FakeSd(ph.WINDOWS, extra=[{"name": "ASIO", "default_output_device": -1}])
    assert audio.default_output_device(sd) == 11


# -- missing libraries -----------------------------------------------------------------------------------------------
def test_a_missing_fluidsynth_names_the_systems_fix(system, monkeypatch):
    _refuse_import(monkeypatch, "fluidsynth", ImportError("Couldn't find the FluidSynth library."))
    with pytest.raises(UserError) as caught:
        synth._fluidsynth()
    assert str(caught.value) == ph.missing_library(ph.FLUIDSYNTH)
    assert {ph.LINUX: "apt-get", ph.MACOS: "brew install fluidsynth", ph.WINDOWS: "choco"}[system] in str(caught.value)


def test_a_missing_portaudio_names_the_systems_fix(system, monkeypatch):
    _refuse_import(monkeypatch, "sounddevice", OSError("PortAudio library not found"))
    sd, reason = audio._sounddevice()
    assert sd is None and "PortAudio library not found" in reason and ph.install_hint(ph.PORTAUDIO) in reason
    assert ("libportaudio2" in reason) == (system == ph.LINUX)
