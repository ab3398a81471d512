"""Every "how to fix it" message names the fix of the system it runs on: each is checked with the platform faked
as Linux, macOS and Windows (``sys.platform``, which :func:`current_system` reads at each call)."""

from __future__ import annotations

import sys

import pytest

from composer_app import platform_help as ph

#: sys.platform as each system spells it.
PLATFORM = {ph.LINUX: "linux", ph.MACOS: "darwin", ph.WINDOWS: "win32"}
#: A word each system's fixes contain, and words that would be wrong there.
EXPECTED = {ph.LINUX: ("apt-get", ("brew", "choco")),
            ph.MACOS: ("brew", ("apt-get", "choco", "modprobe")),
            ph.WINDOWS: ("choco", ("apt-get", "brew", "modprobe"))}


@pytest.fixture(params=ph.SYSTEMS)
def system(request, monkeypatch):
    monkeypatch.setattr(sys, "platform", PLATFORM[request.param])
    return request.param


@pytest.mark.parametrize(("platform", "expected"), [
    ("linux", ph.LINUX), ("darwin", ph.MACOS), ("win32", ph.WINDOWS), ("cygwin", ph.WINDOWS),
    ("freebsd14", ph.LINUX)])
def test_the_system_is_read_from_the_platform(platform, expected, monkeypatch):
    monkeypatch.setattr(sys, "platform", platform)
    assert ph.current_system() == expected
    assert ph.current_system(platform) == expected


def test_the_fluidsynth_fix_is_the_one_of_the_system(system):
    message = ph.missing_library(ph.FLUIDSYNTH)
    wanted, wrong = EXPECTED[system]
    assert message.startswith("the FluidSynth library was not found (")
    assert wanted in message and not any(word in message for word in wrong)
    assert ph.SYSTEM_LABEL[system] in message


def test_on_windows_the_fluidsynth_fix_also_names_the_download_and_the_folder_pyfluidsynth_reads(system):
    hint = ph.install_hint(ph.FLUIDSYNTH)
    assert (ph.FLUIDSYNTH_RELEASES in hint and "C:\\tools\\fluidsynth\\bin" in hint) == (system == ph.WINDOWS)


def test_the_portaudio_fix_is_apt_on_linux_and_the_wheel_elsewhere(system):
    hint = ph.install_hint(ph.PORTAUDIO)
    assert ("libportaudio2" in hint) == (system == ph.LINUX)
    assert ("sounddevice" in hint) == (system != ph.LINUX)


def test_the_jack_fixes_are_the_systems(system):
    install, start = ph.install_hint(ph.JACK), ph.jack_start_help()
    assert ("jackd2" in install) == (system == ph.LINUX)
    assert ("brew install jack" in install) == (system == ph.MACOS)
    assert ("jackaudio.org" in install) == (system == ph.WINDOWS)
    assert ("pw-jack" in start) == (system == ph.LINUX)
    assert ("coreaudio" in start) == (system == ph.MACOS)


def test_the_midi_system_help_is_the_systems(system):
    text = ph.no_midi_system_help()
    assert ("modprobe snd-seq" in text) == (system == ph.LINUX)
    assert ("Audio MIDI Setup" in text) == (system == ph.MACOS)
    assert ("Device Manager" in text) == (system == ph.WINDOWS)


def test_virtual_midi_ports_only_where_the_system_has_them(system):
    assert ph.has_virtual_midi_ports() == (system != ph.WINDOWS)
    help_text = ph.virtual_port_help()
    assert ("loopMIDI" in help_text) == (system == ph.WINDOWS)
    assert (help_text == "") == (system != ph.WINDOWS)


def test_the_sound_card_check_is_the_systems(system):
    text = ph.no_sound_card_help()
    assert ("aplay -l" in text) == (system == ph.LINUX)
    assert ("System Settings" in text) == (system == ph.MACOS)


def test_an_explicit_system_wins_over_the_running_one(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert "brew" in ph.install_hint(ph.FLUIDSYNTH, ph.MACOS)
    assert "apt-get" in ph.install_hint(ph.FLUIDSYNTH)
