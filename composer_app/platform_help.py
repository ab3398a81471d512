"""Which desktop system the app runs on, and how a user of that system fixes what is missing.

Why one module: a "how to fix it" message that names a Debian package is useless on a Mac. Every message that
tells the player how to get FluidSynth, PortAudio, JACK or working MIDI ports asks here, so the system is
decided in one function (:func:`current_system`, which the tests fake) and each fix is written once per system:
apt on Linux, Homebrew on macOS, Chocolatey or a download page on Windows (FluidSynth has no winget package).

Nothing here imports a sound or MIDI library: the messages are needed precisely when those fail to load.
"""

from __future__ import annotations

import sys

LINUX = "linux"
MACOS = "macos"
WINDOWS = "windows"
SYSTEMS = (LINUX, MACOS, WINDOWS)

#: How the messages name each system (and its package manager) before a command.
SYSTEM_LABEL = {LINUX: "Debian/Ubuntu", MACOS: "macOS (Homebrew)", WINDOWS: "Windows"}

FLUIDSYNTH = "fluidsynth"
PORTAUDIO = "portaudio"
JACK = "jack"
#: What the missing thing is called in a message.
LIBRARY_NAME = {FLUIDSYNTH: "the FluidSynth library", PORTAUDIO: "the PortAudio library", JACK: "JACK"}

FLUIDSYNTH_RELEASES = "https://github.com/FluidSynth/fluidsynth/releases"
LOOPMIDI = "https://www.tobias-erichsen.de/software/loopmidi.html"

#: The fix for each missing thing on each system. PortAudio comes inside sounddevice's macOS and Windows
#: wheels, so there a broken install of sounddevice is the cause; pyfluidsynth looks for the DLL on PATH and in
#: C:\tools\fluidsynth\bin, which is where Chocolatey's package puts it.
_INSTALL = {
    (FLUIDSYNTH, LINUX): "sudo apt-get install --no-install-recommends libfluidsynth3",
    (FLUIDSYNTH, MACOS): "brew install fluidsynth",
    (FLUIDSYNTH, WINDOWS): ("choco install fluidsynth (it goes to C:\\tools\\fluidsynth\\bin, where pyfluidsynth "
                            f"looks), or unzip a release from {FLUIDSYNTH_RELEASES} and put its bin folder on "
                            "PATH"),
    (PORTAUDIO, LINUX): "sudo apt-get install libportaudio2",
    (PORTAUDIO, MACOS): "pip install --force-reinstall sounddevice (its wheel carries PortAudio)",
    (PORTAUDIO, WINDOWS): "pip install --force-reinstall sounddevice (its wheel carries PortAudio)",
    (JACK, LINUX): "sudo apt-get install --no-install-recommends jackd2",
    (JACK, MACOS): "brew install jack",
    (JACK, WINDOWS): "the JACK2 installer from https://jackaudio.org/downloads/",
}


def current_system(platform: str | None = None) -> str:
    """:data:`LINUX`, :data:`MACOS` or :data:`WINDOWS` for ``platform`` (default ``sys.platform``, read at each
    call so a test can fake it). Other Unixes (the BSDs) count as Linux: same package names, same ALSA/JACK."""
    name = sys.platform if platform is None else platform
    if name == "darwin":
        return MACOS
    if name.startswith(("win", "cygwin", "msys")):
        return WINDOWS
    return LINUX


def install_command(what: str, system: str | None = None) -> str:
    """The command (or the download) that installs ``what`` (:data:`FLUIDSYNTH`, :data:`PORTAUDIO`,
    :data:`JACK`) on ``system`` (default: this one)."""
    return _INSTALL[what, system or current_system()]


def install_hint(what: str, system: str | None = None) -> str:
    """``"macOS (Homebrew): brew install fluidsynth"``: the fix with the system it is meant for, so a message
    read on the wrong machine (a forum post, a log) still says which system it is for."""
    system = system or current_system()
    return f"{SYSTEM_LABEL[system]}: {install_command(what, system)}"


def missing_library(what: str, system: str | None = None) -> str:
    """The whole sentence for a library that did not load: what, and how to get it on this system."""
    return f"{LIBRARY_NAME[what]} was not found ({install_hint(what, system)})"


def jack_start_help(system: str | None = None) -> str:
    """Where no JACK server runs: how to start one on this system (said in the MIDI panel and in errors)."""
    system = system or current_system()
    if system == LINUX:
        return ("start a JACK server (`jackd -d alsa`, or QjackCtl), or run the app through PipeWire's JACK "
                "(`pw-jack everybody-compose`)")
    if system == MACOS:
        return f"start a JACK server (`jackd -d coreaudio`, or QjackCtl; install it: {install_command(JACK, MACOS)})"
    return f"start a JACK server (QjackCtl, from {install_command(JACK, WINDOWS)})"


def no_midi_system_help(system: str | None = None) -> str:
    """Where the system's own MIDI layer refused to start: what a user of that system checks."""
    system = system or current_system()
    if system == LINUX:
        return ("this machine has no ALSA sequencer (/dev/snd/seq), which MIDI ports need on Linux; load it with "
                "`sudo modprobe snd-seq` (add snd-seq to /etc/modules to keep it), or use JACK MIDI")
    if system == MACOS:
        return ("CoreMIDI did not answer; open Audio MIDI Setup (Applications > Utilities), Window > Show MIDI "
                "Studio, and check the keyboard is there and not greyed out")
    return ("Windows MIDI (WinMM) did not answer; check the keyboard in Device Manager and close other programs "
            "that use it: a Windows MIDI port opens for one program at a time")


def has_virtual_midi_ports(system: str | None = None) -> bool:
    """Whether the system's own MIDI layer can make a port other programs connect to (ALSA and CoreMIDI can;
    Windows' WinMM cannot, so the MIDI panel offers no virtual port there)."""
    return (system or current_system()) != WINDOWS


def virtual_port_help(system: str | None = None) -> str:
    """What to do instead of a virtual port on a system without them ("" where it has them)."""
    if has_virtual_midi_ports(system):
        return ""
    return ("Windows has no virtual MIDI ports: to record in a DAW on this computer, install a loopback driver "
            f"such as loopMIDI ({LOOPMIDI}), make a port there and choose it as Out")


def no_sound_card_help(system: str | None = None) -> str:
    """How to see whether the system has a sound output at all."""
    system = system or current_system()
    if system == LINUX:
        return "`aplay -l` should list a card"
    if system == MACOS:
        return "System Settings > Sound > Output should list a device"
    return "Settings > System > Sound should list an output device"
