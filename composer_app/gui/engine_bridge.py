"""Engine listeners -> Qt signals, and key events -> the engine by the fastest path that keeps their order.

Listeners
---------
The engine calls its listeners on whichever thread made the change (the engine worker for keys, rtmidi's thread
for MIDI, the replay thread), with its lock held. A listener here only emits a Qt signal, which Qt queues to the
GUI thread: no widget work ever runs inside the engine's lock or on a foreign thread. Payloads travel as
``object`` because the nanosecond timestamps inside them overflow Qt's ``int``.

Key events (:meth:`EngineBridge.press`, :meth:`EngineBridge.release`)
-------------------------------------------------------------------
A key-down calls ``engine.press`` **on the GUI thread, at once**, when the engine thread has nothing of ours
queued: the model step is short, while handing the event to another Python thread costs a GIL hand-over, which
waits up to the interpreter's switch interval whenever the GUI thread is busy in Python (painting). When
something slow of ours is queued there (a model switch, a soundfont or sound device change, a new take) the key
event is queued behind it instead, so the GUI thread never waits for it and events keep their order.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger(__name__)


class EngineBridge(QObject):
    """Re-emits :class:`~composer_app.live.engine.LiveEngine` signals as queued Qt signals."""

    noteStarted = Signal(object)  # NoteStarted
    noteEnded = Signal(object)  # NoteEnded
    statusChanged = Signal(object)  # composer_app.status.Status
    takeChanged = Signal(object)  # Take
    replayNote = Signal(int, bool)  # index, on
    replayFinished = Signal()
    metronomeClick = Signal(object)  # Click
    #: a call handed to the engine worker failed: (what was tried, plain-words message)
    callFailed = Signal(str, str)
    #: a callable to run on the GUI thread: how a call's result (or its failure) comes back to its caller
    _onGuiThread = Signal(object)

    def __init__(self, engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self._hooks = [
            (engine.note_started, self.noteStarted.emit),
            (engine.note_ended, self.noteEnded.emit),
            (engine.status_changed, self.statusChanged.emit),
            (engine.take_changed, self.takeChanged.emit),
            (engine.replayer.note, self.replayNote.emit),
            (engine.replayer.finished, self.replayFinished.emit),
            (engine.metronome_click, self.metronomeClick.emit),
        ]
        for signal, slot in self._hooks:
            signal.connect(slot)
        self._onGuiThread.connect(self._follow_up, Qt.ConnectionType.QueuedConnection)
        self._pending = 0
        self._pending_lock = threading.Lock()
        #: how each key event went: 'direct' (GUI thread) or 'queued' (engine thread), for tests and stats
        self.last_route = ""

    # -- key events -------------------------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Calls handed to the engine thread by the window and not finished yet."""
        return self._pending

    def press(self, source, t_ns: int, key_height: float | None = None) -> None:
        """A key-down: straight into the engine when nothing of ours is queued there, else queued behind it.
        ``key_height``: a steer key's place (it asks the melody up or down against the previous one)."""
        if self._pending == 0:
            self.last_route = "direct"
            try:
                self.engine.press(source, t_ns, key_height=key_height)
            except Exception as exc:  # noqa: BLE001 - the instrument keeps running; say what happened
                log.exception("press failed")
                self.callFailed.emit("play the note", _plain(exc))
        else:
            self.last_route = "queued"
            self.submit(lambda: self.engine.press(source, t_ns, key_height=key_height))

    def release(self, source, t_ns: int) -> None:
        if self._pending == 0:
            try:
                self.engine.release(source, t_ns)
            except Exception as exc:  # noqa: BLE001
                log.exception("release failed")
                self.callFailed.emit("end the note", _plain(exc))
        else:
            self.submit(self.engine.release, source, t_ns)

    def submit(self, fn, *args) -> None:
        """Run ``fn(*args)`` on the engine thread, counted in :attr:`pending` until it has run."""
        with self._pending_lock:
            self._pending += 1

        def run():
            try:
                fn(*args)
            finally:
                with self._pending_lock:
                    self._pending -= 1

        self.engine.submit(run)

    def call(self, what: str, fn, *args, done: Callable[[Any], None] | None = None,
             failed: Callable[[], None] | None = None) -> None:
        """Run ``fn(*args)`` on the engine's worker thread, after every key event already handed over. The GUI
        thread never waits for it; what follows runs there, later:

        - ``done(result)`` when it worked;
        - when it failed, :attr:`callFailed` says ``what`` could not be done, in plain words (a
          :class:`UserError`'s own message, or the exception's), then ``failed()`` puts the view back.

        The caller hands the follow-up itself, so nothing has to recognise a call by its description."""

        def run():
            try:
                result = fn(*args)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a message in the window
                self.callFailed.emit(what, _plain(exc))
                if failed is not None:
                    self._onGuiThread.emit(failed)
                return
            if done is not None:
                self._onGuiThread.emit(functools.partial(done, result))

        self.submit(run)

    def _follow_up(self, fn) -> None:
        """A follow-up of :meth:`call`, queued to the bridge's (the GUI) thread."""
        fn()

    def detach(self) -> None:
        for signal, slot in self._hooks:
            try:
                signal.disconnect(slot)
            except ValueError:
                pass
        self._hooks = []


def _plain(exc: BaseException) -> str:
    from composer_app.errors import UserError

    if isinstance(exc, UserError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
