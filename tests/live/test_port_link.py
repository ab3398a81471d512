"""PortLink, the following of one MIDI port that MIDI in and MIDI out share, on a stand-in port (no MIDI system):
what is reported when, what is silenced when, and which port object is used for which MIDI system."""

from __future__ import annotations

import threading

import pytest

from composer_app.errors import UserError
from composer_app.live.midi_connection import MidiConnection
from composer_app.live.midi_out import MidiOutLink
from composer_app.live.midi_ports import PluggedPort
from composer_app.live.port_link import PortLink


class _Device:
    """What a mido port is to PluggedPort: a name and close()."""

    def __init__(self, name: str):
        self.name = name
        self.closed = False

    def close(self) -> None:
        self.closed = True


class _Port(PluggedPort):
    """A PluggedPort whose ports are the names in ``plugged``."""

    direction = "input"

    def __init__(self, backend, plugged: set[str], on_vanished):
        super().__init__(backend, "test", on_vanished)
        self.plugged = plugged
        self._lock = threading.Lock()

    def _open(self, name, virtual, **kwargs):
        name = name or min(self.plugged)
        if name not in self.plugged:
            raise OSError(f"no port {name}")
        return _Device(name)

    def open(self, name, virtual=False) -> str:
        with self._lock:
            self._close_port_locked()
            return self._open_locked(name, virtual)

    def poll_ports(self, names=None):
        return self.follow(sorted(self.plugged) if names is None else names, self._lock)

    def close(self) -> None:
        with self._lock:
            self._close_port_locked()
            self._port_name = None


class _Link(PortLink):
    direction = "input"
    label = "MIDI thing"
    closed_text = "MIDI thing: off"

    def __init__(self, plugged):
        self.events = []
        super().__init__(lambda: self.events.append("silence"),
                         lambda text, level="info": self.events.append((level, text)))
        self.plugged = plugged
        self.made = []

    def _make(self, backend):
        port = _Port(backend, self.plugged, self._vanished)
        self.made.append(port)
        return port

    def _open_port(self, port, name, virtual):
        return port.open(name, virtual)

    def _detach(self):
        self.events.append("detach")


def test_open_reports_the_port_and_a_failure_is_reported_and_raised():
    link = _Link({"Keys"})
    assert link.open("Keys", "a") == "Keys" and link.is_open and link.backend == "a"
    assert link.events == [("info", "MIDI thing: Keys")]
    link.events.clear()
    with pytest.raises(UserError, match="Pads"):
        link.open("Pads", "a")
    assert link.events[0] == "detach" and link.events[1][0] == "warning" and "Pads" in link.events[1][1]
    assert not link.is_open


def test_an_unplugged_port_is_silenced_reported_and_reopened_when_back():
    plugged = {"Keys", "Pads"}
    link = _Link(plugged)
    link.open("Keys", "a")
    assert link.poll(["Keys", "Pads"], "a") == (["Keys", "Pads"], [])  # the first look: all appeared
    assert link.events == [("info", "MIDI thing: Keys")]  # nothing said: it never went away
    plugged.discard("Keys")
    assert link.poll(None, "a") == ([], ["Keys"])
    assert link.events[1:] == ["silence", ("warning", "MIDI input 'Keys' disappeared (unplugged?); it reopens "
                                                      "when it is back")]
    assert not link.is_open and link.backend == "a"  # still chosen: it reopens
    assert link.poll(["Keys"], "b") == ([], [])  # a listing of another MIDI system says nothing of this port
    plugged.add("Keys")
    assert link.poll(None, "a") == (["Keys"], [])
    assert link.is_open and link.events[-1] == ("info", "MIDI thing: Keys (back)")


def test_another_midi_system_replaces_the_port_and_close_forgets_it():
    link = _Link({"Keys"})
    first = link.port("a")
    assert link.port() is first and link.port("a") is first
    link.open("Keys", "a")
    second = link.port("b")
    assert second is not first and second.backend_name == "b" and first.port_name is None
    assert "detach" in link.events and not link.is_open and link.backend is None
    link.events.clear()
    link.close()  # nothing chosen on the new one
    assert link.events == []
    link.open("Keys")
    link.events.clear()
    link.close()
    assert link.events == ["detach", "silence", ("info", "MIDI thing: off")] and link.backend is None
    assert link.poll(None, "b") == (["Keys"], []) and not link.is_open  # closed ports are not reopened


def test_midi_in_and_out_are_each_a_port_link():
    """Both directions follow their port through the one class, and their words stay their own."""
    assert issubclass(MidiConnection, PortLink) and issubclass(MidiOutLink, PortLink)
    assert (MidiConnection.label, MidiConnection.closed_text) == ("MIDI input", None)
    assert (MidiOutLink.label, MidiOutLink.closed_text) == ("MIDI out", "MIDI out: off")
