"""The rig's "ears": a JACK client that records what it is connected to, stamped with JACK frame times."""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from composer_app.bench.jack_rig.lib import load_jack


class JackRecorder:
    """A JACK client with audio inputs that records into a preallocated buffer, stamped with JACK frame times.

    Recording starts at :meth:`activate` and stops silently when the buffer (``seconds`` long) is full.
    ``first_frame`` is the JACK frame time of ``audio[0]``, so a sample index converts to a frame time by adding it.
    """

    def __init__(self, servername: str, name: str = "ec-recorder", channels: int = 2, seconds: float = 10.0):
        self._client = load_jack().Client(name, servername=servername, no_start_server=True)
        self.samplerate = self._client.samplerate
        self.ports = [self._client.inports.register(f"in_{i + 1}") for i in range(channels)]
        self._buf = np.zeros((int(seconds * self.samplerate), channels), dtype=np.float32)
        self._pos = 0
        self.first_frame: int | None = None
        self._client.set_process_callback(self._process)

    @property
    def name(self) -> str:
        return self._client.name

    def _process(self, frames: int) -> None:  # JACK's thread
        now = self._client.last_frame_time
        if self.first_frame is None:
            self.first_frame = now
        # Placed by frame time, not by count: a cycle the (non-real-time) server skipped stays a gap of zeros
        # instead of shifting everything after it.
        start = now - self.first_frame
        end = min(start + frames, len(self._buf))
        n = end - start
        if n <= 0:
            return
        for ch, port in enumerate(self.ports):
            self._buf[start:end, ch] = port.get_array()[:n]
        self._pos = end

    def activate(self) -> JackRecorder:
        self._client.activate()
        return self

    def connect(self, sources: Iterable[str]) -> None:
        """Connect output ports (names) to our inputs, pairwise (a mono source feeds in_1 only)."""
        for src, dst in zip(sources, self.ports, strict=False):
            self._client.connect(src, dst)

    @property
    def audio(self) -> np.ndarray:
        """What was recorded so far, shape ``(frames, channels)``, floats in [-1, 1]."""
        return self._buf[: self._pos]

    @property
    def frames_recorded(self) -> int:
        return self._pos

    def onset_after(self, frame: int, threshold: float = 0.01) -> int | None:
        """JACK frame time of the first sample at or after ``frame`` whose magnitude exceeds ``threshold``."""
        if self.first_frame is None:
            return None
        start = max(0, frame - self.first_frame)
        loud = np.nonzero(np.abs(self.audio[start:]).max(axis=1) > threshold)[0]
        return None if len(loud) == 0 else self.first_frame + start + int(loud[0])

    def wait_onset(self, frame: int, threshold: float = 0.01, timeout: float = 2.0) -> int | None:
        """Poll :meth:`onset_after` until it finds one or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            onset = self.onset_after(frame, threshold)
            if onset is not None or time.monotonic() > deadline:
                return onset
            time.sleep(0.005)

    def peak_since(self, frame: int) -> float:
        """Largest magnitude recorded from JACK frame ``frame`` on (0.0 if nothing yet)."""
        if self.first_frame is None:
            return 0.0
        part = self.audio[max(0, frame - self.first_frame):]
        return float(np.abs(part).max()) if part.size else 0.0

    def wait_quiet(self, threshold: float = 0.01, quiet_for: float = 0.05, timeout: float = 3.0) -> bool:
        """Wait until the last ``quiet_for`` seconds recorded stay under ``threshold``."""
        need = int(quiet_for * self.samplerate)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tail = self.audio[-need:]
            if len(tail) >= need and float(np.abs(tail).max()) <= threshold:
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self._client.deactivate()
        self._client.close()

    def __enter__(self) -> JackRecorder:
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.close()
