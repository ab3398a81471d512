"""Replay: a take's notes played through the engine's way out for notes, in real time, on a thread of its own."""

from __future__ import annotations

import threading
import time

from composer_app.live.signals import Signal
from composer_app.notes import Notes


class Replay:
    """Plays a melody through ``router`` (returns at once); :attr:`note` ``(index, on)`` and :attr:`finished`
    ``()`` report its progress, on the replay's thread."""

    def __init__(self, router):
        self.note = Signal("replay_note")
        self.finished = Signal("replay_finished")
        self._router = router
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def play(self, melody: Notes, speed: float = 1.0) -> None:
        """Play ``melody`` from its first note, ``speed`` times as fast; a replay still running stops first."""
        self.stop()
        events = sorted([(s, 1, i) for i, s in enumerate(melody.starts)] +
                        [(e, 0, i) for i, e in enumerate(melody.ends)])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="take-replay", daemon=True,
                                        args=(events, melody.pitches, melody.velocities, float(speed), self._stop))
        self._thread.start()

    def stop(self) -> None:
        """Stop a running replay (its notes end)."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            if thread is not threading.current_thread():
                thread.join(timeout=2)
            self._thread = None

    def _run(self, events, pitches, velocities, speed, stop: threading.Event) -> None:
        sounding: set[int] = set()
        t0 = time.perf_counter()
        offset = events[0][0] if events else 0.0
        for when, on, i in events:
            delay = (when - offset) / speed - (time.perf_counter() - t0)
            if delay > 0 and stop.wait(delay):
                break
            if stop.is_set():
                break
            if on:
                self._router.note_on(int(pitches[i]), int(velocities[i]))
                sounding.add(i)
            elif i in sounding:
                self._router.note_off(int(pitches[i]))
                sounding.discard(i)
            self.note.emit(i, bool(on))
        for i in sounding:
            self._router.note_off(int(pitches[i]))
        self.finished.emit()
