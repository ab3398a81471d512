"""Background work with the result delivered on the GUI thread.

Loading a checkpoint, rendering a WAV, writing a file or listing MIDI ports can take from milliseconds to
seconds; none of it may run on the GUI thread, which must stay free for key events. :func:`run_in_thread` runs a
function on a plain daemon thread and hands its result (or its error, in plain words) back through a queued Qt
signal.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal

from composer_app.errors import UserError


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(str)


_alive: set[_Relay] = set()  # a relay must outlive its thread until the queued signal is delivered


def run_in_thread(fn, on_done=None, on_error=None, name: str = "gui-task") -> threading.Thread:
    """Run ``fn()`` on a new daemon thread; ``on_done(result)`` / ``on_error(message)`` run on the GUI thread.

    Must be called from the GUI thread (the relay object lives there).
    """
    relay = _Relay()
    _alive.add(relay)

    def finish(*_):
        _alive.discard(relay)
        relay.deleteLater()

    if on_done is not None:
        relay.done.connect(on_done, Qt.ConnectionType.QueuedConnection)
    if on_error is not None:
        relay.failed.connect(on_error, Qt.ConnectionType.QueuedConnection)
    relay.done.connect(finish, Qt.ConnectionType.QueuedConnection)
    relay.failed.connect(finish, Qt.ConnectionType.QueuedConnection)

    def body():
        try:
            result = fn()
        except UserError as exc:
            relay.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown in the window, the app keeps running
            relay.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            relay.done.emit(result)

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread


def pending() -> int:
    """Tasks whose result has not reached the GUI thread yet (tests wait for 0)."""
    return len(_alive)
