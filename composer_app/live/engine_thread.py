"""The engine's worker thread: runs submitted calls in order (the headless stand-in for a GUI's event loop)."""

from __future__ import annotations

import logging
import queue
import threading
import time

log = logging.getLogger(__name__)


class EngineThread:
    """A thread that runs submitted calls one after another; a failing call is logged and the next one runs."""

    def __init__(self, name: str = "live-engine"):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> EngineThread:
        self._thread.start()
        return self

    def submit(self, fn, *args, **kwargs) -> None:
        self._queue.put((fn, args, kwargs))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args, kwargs = item
            try:
                fn(*args, **kwargs)
            except Exception:
                log.exception("engine call %r failed", fn)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted so far has run."""
        done = threading.Event()
        self.submit(done.set)
        return done.wait(timeout)

    def stop(self, timeout: float = 2.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            if self._thread is not threading.current_thread():
                self._thread.join(timeout)

    def __enter__(self) -> EngineThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class WorkerHandOver:
    """A part of :class:`~composer_app.live.engine.LiveEngine` (a mixin): calls from other threads (a GUI, a
    MIDI callback) handed to the engine's worker thread, in order, with their timestamps taken at once."""

    _worker: EngineThread | None = None

    def submit(self, fn, *args, **kwargs) -> None:
        """Run ``fn(*args, **kwargs)`` on the engine's worker thread, after everything submitted before."""
        if self._worker is None:
            self._worker = EngineThread().start()
        self._worker.submit(fn, *args, **kwargs)

    def submit_press(self, source, t_ns: int | None = None, velocity: int | None = None, *,
                     direction: int | None = None, key_height: float | None = None) -> None:
        """:meth:`press` on the worker thread; the timestamp is taken now, so the hand-over costs no timing."""
        self.submit(self.press, source, time.perf_counter_ns() if t_ns is None else t_ns, velocity,
                    direction=direction, key_height=key_height)

    def submit_release(self, source, t_ns: int | None = None) -> None:
        self.submit(self.release, source, time.perf_counter_ns() if t_ns is None else t_ns)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until the worker has run everything submitted so far."""
        return self._worker is None or self._worker.wait_idle(timeout)

