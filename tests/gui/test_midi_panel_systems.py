"""The MIDI panel's virtual port per system (platform faked): offered where the system has virtual ports, and on
Windows replaced by a greyed entry that says to use a loopback driver (loopMIDI); a virtual port remembered from
another system is refused there in those words, without asking rtmidi."""

from __future__ import annotations

import sys

import pytest

from composer_app.gui.midi_panel import JACK_VIRTUAL, NO_VIRTUAL, VIRTUAL, MidiPanel, MidiWatcher
from composer_app.live.midi_ports import DEFAULT_BACKEND, JACK_BACKEND
from composer_app.platform_help import virtual_port_help


def _texts(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_where_the_system_has_virtual_ports_the_out_list_offers_one(platform, qtbot, monkeypatch):
    monkeypatch.setattr(sys, "platform", platform)
    panel = MidiPanel()
    qtbot.addWidget(panel)
    panel.set_out_ports(["Synth A"], "")
    assert panel.out.findData(VIRTUAL) == 1 and NO_VIRTUAL not in _texts(panel.out)
    assert "loopMIDI" not in panel.out.toolTip()


def test_on_windows_the_out_list_says_there_is_no_virtual_port_and_what_to_use(qtbot, monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    panel = MidiPanel()
    qtbot.addWidget(panel)
    panel.set_out_ports(["loopMIDI Port", JACK_VIRTUAL], "")
    assert panel.out.findData(VIRTUAL) < 0
    assert _texts(panel.out)[1] == NO_VIRTUAL
    item = panel.out.model().item(1)
    assert not item.isEnabled() and "loopMIDI" in item.toolTip()
    assert "loopMIDI" in panel.out.toolTip()
    assert panel.out.findData("loopMIDI Port") >= 0 and panel.out.currentData() == ""  # off stays chosen


class _Out:
    def __init__(self):
        self.opened = []
        self.backend = None

    def open(self, name, backend, *, virtual=False, channel=0):
        self.opened.append((name, backend, virtual))
        return name or "Everybody Compose"


class _Engine:
    def __init__(self):
        self.midi_out = _Out()


def _watch(qtbot):
    engine = _Engine()
    watcher = MidiWatcher(engine, backend=DEFAULT_BACKEND)
    failed, opened = [], []
    watcher.outFailed.connect(lambda key, why: failed.append((key, why)))
    watcher.outOpened.connect(opened.append)
    return engine, watcher, failed, opened


def test_on_windows_a_remembered_virtual_port_is_refused_in_words(qtbot, monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    engine, watcher, failed, opened = _watch(qtbot)
    watcher._open_out(VIRTUAL, 0)
    assert failed == [(VIRTUAL, virtual_port_help())] and opened == [""]
    assert engine.midi_out.opened == []  # rtmidi was not asked


def test_on_windows_a_jack_virtual_port_is_still_asked_for(qtbot, monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    engine, watcher, failed, opened = _watch(qtbot)
    watcher._open_out(JACK_VIRTUAL, 0)
    assert failed == [] and engine.midi_out.opened == [(None, JACK_BACKEND, True)]


def test_on_macos_the_virtual_port_is_opened(qtbot, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    engine, watcher, failed, opened = _watch(qtbot)
    watcher._open_out(VIRTUAL, 0)
    assert failed == [] and engine.midi_out.opened == [(None, DEFAULT_BACKEND, True)]
