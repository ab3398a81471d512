"""The rig's "keyboard": a JACK MIDI output port whose every event is stamped with the frame it left at."""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

from composer_app.bench.jack_rig.lib import load_jack


class JackMidiSender:
    """A JACK MIDI output port that plays the part of a keyboard.

    :meth:`send` hands the bytes to the next JACK cycle, which writes them at offset 0, and returns the JACK
    frame time at which the event went out: the start of the latency measurement.
    """

    def __init__(self, servername: str, name: str = "ec-keys", port: str = "out"):
        self._client = load_jack().Client(name, servername=servername, no_start_server=True)
        self.samplerate = self._client.samplerate
        self._port = self._client.midi_outports.register(port)
        self._pending: queue.SimpleQueue = queue.SimpleQueue()
        self._client.set_process_callback(self._process)

    @property
    def port_name(self) -> str:
        """Full JACK name, e.g. ``ec-keys:out``: what MidiInput lists with the JACK backend."""
        return self._port.name

    def _process(self, frames: int) -> None:  # JACK's thread
        self._port.clear_buffer()
        while True:
            try:
                data, done = self._pending.get_nowait()
            except queue.Empty:
                return
            self._port.write_midi_event(0, data)
            done.frame = self._client.last_frame_time
            done.set()

    def activate(self) -> JackMidiSender:
        self._client.activate()
        return self

    def send(self, data: bytes | Sequence[int], timeout: float = 2.0) -> int:
        """Send one MIDI message; return the JACK frame time at which it left."""
        done = threading.Event()
        done.frame = None
        self._pending.put((bytes(data), done))
        if not done.wait(timeout):
            raise TimeoutError("JACK did not run a cycle: is the server alive?")
        return done.frame

    def note_on(self, note: int, velocity: int = 100, channel: int = 0) -> int:
        return self.send([0x90 | channel, note, velocity])

    def note_off(self, note: int, velocity: int = 0, channel: int = 0) -> int:
        return self.send([0x80 | channel, note, velocity])

    def close(self) -> None:
        self._client.deactivate()
        self._client.close()

    def __enter__(self) -> JackMidiSender:
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.close()
