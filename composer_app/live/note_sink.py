"""Where the notes that sound go: one declared interface for the synth, its silent stand-in and MIDI out.

Shaped like mido's ports: the base checks the note and its state, keeps the set of sounding notes (so
:meth:`NoteSink.panic` can release each of them), and calls the hooks ``_note_on``, ``_note_off``, ``_panic``
and ``_close`` that a backend writes. :class:`NoteRouter` is what the engine plays into: the built-in synth
(which can be switched off) and, when one is open, the MIDI output.
"""

from __future__ import annotations

import threading

#: The MIDI controllers the sinks send (defined here once: the synth and MIDI out both speak them).
CC_SUSTAIN = 64
CC_SOSTENUTO = 66
CC_ALL_SOUND_OFF = 120
CC_ALL_NOTES_OFF = 123


class NoteSink:
    """A destination for note-on/note-off events (see the module docstring); every method is thread-safe.

    Its whole face, as mido's ``BasePort``: :meth:`note_on`, :meth:`note_off`, :meth:`reset` (all notes off),
    :meth:`panic` (all sound off) and :meth:`close`. What only some sinks do stays on them: the metronome's
    click is the player's instrument's (:class:`~composer_app.live.instrument.Instrument`), a program change
    the MIDI output's.
    """

    def __init__(self):
        self._sink_lock = threading.Lock()
        self._held: set[int] = set()
        self.closed = False

    def note_on(self, pitch: int, velocity: int = 100) -> None:
        pitch, velocity = int(pitch), max(1, min(127, int(velocity)))
        if not 0 <= pitch <= 127:
            raise ValueError(f"MIDI pitch must be 0-127, got {pitch}")
        with self._sink_lock:
            if self.closed:
                return
            self._held.add(pitch)
            self._note_on(pitch, velocity)

    def note_off(self, pitch: int) -> None:
        pitch = int(pitch)
        with self._sink_lock:
            if self.closed or not 0 <= pitch <= 127:
                return
            self._held.discard(pitch)
            self._note_off(pitch)

    def all_notes_off(self, immediate: bool = False) -> None:
        """A note-off for every note sounding, then whatever else silences this sink (:meth:`_panic`);
        ``immediate`` also cuts what still rings (release tails, reverb)."""
        with self._sink_lock:
            if self.closed:
                return
            self._release_all_locked(immediate)

    def reset(self) -> None:
        """All notes off (mido's ``reset``): what a stop or a switch sends."""
        self.all_notes_off(False)

    def panic(self) -> None:
        """All sound off (mido's ``panic``): nothing rings on, not even release tails."""
        self.all_notes_off(True)

    @property
    def sounding_notes(self) -> frozenset[int]:
        with self._sink_lock:
            return frozenset(self._held)

    def close(self) -> None:
        """All notes off, then close. Safe to call twice."""
        if self.closed:
            return
        self.all_notes_off()
        with self._sink_lock:
            self.closed = True
            self._close()

    # -- for subclasses, with the lock held ---------------------------------------------------------------------
    def _release_all_locked(self, immediate: bool = False) -> None:
        """A note-off for each sounding note, then :meth:`_panic`."""
        for pitch in sorted(self._held):
            self._note_off(pitch)
        self._held.clear()
        self._panic(immediate)

    def _forget_all_locked(self) -> None:
        """The sounding notes are gone without a note-off (a device unplugged, a synth re-made)."""
        self._held.clear()

    # -- hooks --------------------------------------------------------------------------------------------------
    def _note_on(self, pitch: int, velocity: int) -> None:
        pass

    def _note_off(self, pitch: int) -> None:
        pass

    def _panic(self, immediate: bool) -> None:
        pass

    def _close(self) -> None:
        pass


class NoteRouter:
    """The engine's way out for notes: the built-in synth (``synth``, swapped for a silent stand-in while no
    sound stream renders; ``synth_enabled`` False mutes it) and ``midi_out`` (None when no port is open).

    The metronome's clicks do not come this way: they are for the player alone, so they go to ``synth`` only
    (the engine hands the metronome ``lambda: router.synth``), also while ``synth_enabled`` is False, never to
    MIDI out."""

    def __init__(self, synth):
        self.synth = synth
        self.synth_enabled = True
        self.midi_out: NoteSink | None = None

    def note_on(self, pitch: int, velocity: int = 100) -> None:
        if self.synth_enabled:
            self.synth.note_on(pitch, velocity)
        out = self.midi_out
        if out is not None:
            out.note_on(pitch, velocity)

    def note_off(self, pitch: int) -> None:
        self.synth.note_off(pitch)  # also when muted: a note begun before muting must end
        out = self.midi_out
        if out is not None:
            out.note_off(pitch)

    def all_notes_off(self, immediate: bool = False) -> None:
        self.synth.all_notes_off(immediate)
        out = self.midi_out
        if out is not None:
            out.all_notes_off()
