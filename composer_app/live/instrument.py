"""The instrument the player hears: one interface for the built-in synth and its silent stand-in.

An :class:`Instrument` is a :class:`~composer_app.live.note_sink.NoteSink` with a General MIDI program, a
soundfont and the metronome's clicks. :class:`~composer_app.live.synth.Synth` is the real one (FluidSynth);
:class:`SilentSynth` takes its place when FluidSynth is missing or while no sound stream renders, so the engine
never needs to ask which it has.
"""

from __future__ import annotations

from pathlib import Path

from composer_app.errors import UserError
from composer_app.live.note_sink import NoteSink


class BadSoundfont(UserError):
    """A soundfont file that is missing or cannot be read."""


class Instrument(NoteSink):
    """A sink with a General MIDI program (channel 0, bank 0) and the soundfont it plays from."""

    samplerate = 44100

    def __init__(self, program: int = 0):
        super().__init__()
        self._program = int(program)

    @property
    def program(self) -> int:
        """The General MIDI program playing (0 = piano)."""
        return self._program

    @property
    def soundfont(self) -> Path | None:
        """The loaded ``.sf2`` file (None: none)."""
        return None

    def program_select(self, program: int) -> None:
        """Play General MIDI ``program`` from now on (UserError when it cannot)."""
        raise NotImplementedError

    def load_soundfont(self, path) -> None:
        """Play from the ``.sf2`` file ``path`` (UserError when it cannot; the old sound stays)."""
        raise NotImplementedError

    def preset_names(self) -> dict[int, str]:
        """Program number -> preset name of the soundfont's bank 0."""
        return {}

    def click(self, note: int, velocity: int = 100) -> None:
        """A metronome click, General MIDI percussion ``note``: here, not on every note sink, because only the
        instrument the player hears makes a sound of it (the silent stand-in makes none; MIDI out never gets
        one, so no DAW records it)."""

    def click_off(self, note: int) -> None:
        """The end of :meth:`click`'s ``note``."""


class SilentSynth(Instrument):
    """Takes the notes when nothing can sound them (no FluidSynth, or no stream renders): keeps the program,
    refuses a soundfont."""

    def program_select(self, program: int) -> None:
        self._program = int(program)

    def load_soundfont(self, path) -> None:
        raise UserError("no synthesizer: FluidSynth is not installed, so no soundfont can be loaded")
