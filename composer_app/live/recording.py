"""The take being played and its journal: every note, its end, an undo and a change go to both at once."""

from __future__ import annotations

import time
from dataclasses import asdict

from composer_app.clock import s_to_ns
from composer_app.live.journal import TakeJournal, note_off_record, note_on_record
from composer_app.take import FORMAT, Take, TakeNote

#: Changes that also change what the take's header says of the whole take (as reading a journal does).
HEADER_CHANGES = ("program", "tempo_bpm", "time_signature", "origin")


def settings_record(settings) -> dict:
    """Sampling settings as a take records them."""
    values = asdict(settings)
    values["hints"] = list(values["hints"])
    return values


def take_header(loaded, settings, instrument, max_rest_s, tempo_bpm: float, metre, origin: str) -> dict:
    """How a take is played, for its header: model, sampling settings, instrument, rest clamp, tempo, metre,
    and where its time 0 is."""
    return {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": {"architecture": loaded.architecture, "kind": loaded.kind, "label": loaded.label,
                      "path": str(loaded.path)},
            "settings": settings_record(settings), "program": instrument.program,
            "soundfont": str(instrument.soundfont or ""), "max_rest_s": max_rest_s, "tempo_bpm": tempo_bpm,
            "time_signature": str(metre), "origin": origin}


class TakeRecording:
    """A :class:`~composer_app.take.Take` and its :class:`~composer_app.live.journal.TakeJournal` (none when
    ``take_dir`` is None); ``on_error(text)`` hears that the journal cannot write (any thread)."""

    def __init__(self, header: dict, take_dir, on_error):
        self.take = Take({"format": FORMAT, **header})
        self.journal = TakeJournal(take_dir, header, on_error=on_error) if take_dir is not None else None

    @property
    def path(self):
        """The journal file (None until the first note, or without a journal)."""
        return self.journal.path if self.journal is not None else None

    def add(self, note: TakeNote, step_us: float = 0.0) -> None:
        """A note began; the model took ``step_us`` microseconds to step and draw it."""
        self.take.notes.append(note)
        self.take.step_us[note.index] = step_us
        self._write(note_on_record(note, step_us))

    def end(self, index: int, at: float) -> TakeNote:
        """Note ``index`` ended at ``at`` seconds."""
        note = self.take.notes[index]
        note.end = at
        self._write(note_off_record(note))
        return note

    def undo(self) -> TakeNote:
        """Take back the last note (there must be one)."""
        note = self.take.notes.pop()
        self.take.step_us.pop(note.index, None)
        self._write({"type": "undo", "i": note.index})
        return note

    def change(self, at: float, **values) -> None:
        """A change of settings, model, instrument, tempo or metre at ``at`` seconds.

        Before the first note nothing was played with the old values, and no journal file exists yet: the take
        simply starts with the new ones (its header), so choosing settings never leaves an empty take behind."""
        if not self.take.notes and (self.journal is None or self.journal.path is None):
            for header in (self.take.header, *((self.journal.header,) if self.journal is not None else ())):
                for key, value in values.items():
                    old = header.get(key)
                    header[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
            return
        record = {"t": s_to_ns(at), **values}
        self.take.events.append(record)
        for key in HEADER_CHANGES:
            if key in values:
                self.take.header[key] = values[key]
        self._write({"type": "settings", **record})

    def close(self, at: float) -> None:
        if self.journal is not None:
            self.journal.close(at)

    def wait_closed(self) -> bool:
        """Wait until the closed journal is on disk; False when that took too long."""
        return self.journal is None or self.journal.wait_closed()

    def _write(self, record: dict) -> None:
        if self.journal is not None:
            self.journal.write(record)
