"""The engine's worker thread: runs submitted calls in order (the headless stand-in for a GUI's event loop)."""

from __future__ import annotations

import logging
import queue
import threading

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
