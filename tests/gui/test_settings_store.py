"""Every value read from the settings file is held to a range where it is read: a hand-edited or hostile value is
said in plain words and the default is used, the window always comes up, and the file the user points at is
written through (a symbolic link stays a link) or left alone (a pipe or a device is never read nor replaced)."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from composer_app.gui import theme
from composer_app.gui.controls import settings_from_store
from composer_app.gui.piano_roll import DEFAULT_PX_PER_S, MAX_PX_PER_S, MIN_PX_PER_S, PianoRoll
from composer_app.gui.settings_store import SettingsStore
from composer_app.gui.tempo_bar import time_settings_from_store
from composer_app.sampling import SamplingSettings

HOSTILE = ("[sampling]\ntop_k=3000000000\ntemperature=1e-40\nhints=" + "1" * 5000 + "\nlow=-5\n"
           "[view]\npx_per_s={px}\n[time]\nbpm=" + "9" * 5000 + "\nsteer=7\n[sound]\nprogram=300\nblocksize=0\n")


def store_with(tmp_path, text: str) -> SettingsStore:
    path = tmp_path / "settings.ini"
    path.write_text(text)
    return SettingsStore(path)


def test_numbers_outside_their_range_give_the_default_and_say_so(tmp_path):
    store = store_with(tmp_path, "[a]\nbig=3000000000\nhuge=" + "7" * 5000 + "\nzero=0\ntiny=1e-300\nok=5\n")
    assert store.get_int("a/big", 4) == 4  # past a C int: a Qt spin box would overflow
    assert store.get_int("a/huge", 4) == 4 and store.get_float("a/huge", 1.5) == 1.5
    assert store.get_float("a/zero", 110.0, 10.0, 2000.0) == 110.0
    assert store.get_float("a/tiny", 110.0, 10.0, 2000.0) == 110.0
    assert store.get_int("a/ok", 0, 1, 9) == 5 and store.get_int("a/ok", 0, 6, 9) == 0
    said = "\n".join(store.problems)
    assert "a/big = 3000000000" in said and "a/zero = 0" in said and "outside 10..2000" in said
    assert "5000 characters" in said and len(said) < 2000  # the value is shown cut short, not in full
    assert "a/missing" not in said and store.get_int("a/missing", 3) == 3  # a missing value is no problem


def test_long_text_gives_the_default(tmp_path):
    store = store_with(tmp_path, "[p]\nlong=" + "x" * 5000 + "\nshort=abc\n")
    assert store.get_str("p/long", "d") == "d" and store.get_str("p/short", "d", max_chars=3) == "abc"
    assert any("longer than 4096 characters" in p for p in store.problems)


def test_sampling_and_time_settings_are_held_to_what_the_panels_offer(tmp_path):
    store = store_with(tmp_path, HOSTILE.format(px=0))
    s, d = settings_from_store(store), SamplingSettings()
    assert (s.top_k, s.temperature, s.hints, s.low) == (d.top_k, d.temperature, (), d.low)
    t = time_settings_from_store(store)
    assert t.bpm == 120 and t.steer == 1.0  # the defaults (Steer 1 at first start: the keys steer)
    said = "\n".join(store.problems)
    for key in ("sampling/top_k", "sampling/temperature", "sampling/hints", "sampling/low", "time/bpm", "time/steer"):
        assert key in said


@pytest.mark.parametrize("value", [0.0, 1e-300, -5.0, float("nan"), float("inf"), 1e300])
def test_the_roll_never_takes_a_zoom_it_cannot_draw(qtbot, value):
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.px_per_s = value
    assert MIN_PX_PER_S <= roll.px_per_s <= MAX_PX_PER_S
    if value != value or value in (float("inf"),):
        assert roll.px_per_s == DEFAULT_PX_PER_S


@pytest.mark.parametrize("px", ["0", "1e-300"])
def test_the_window_comes_up_with_hostile_settings(qapp, tmp_path, monkeypatch, capsys, px, run_app):
    monkeypatch.setattr(signal, "signal", lambda sig, fn: None)
    monkeypatch.setattr(sys, "setswitchinterval", lambda seconds: None)
    monkeypatch.setattr(theme, "apply_dark_theme", lambda app: None)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = tmp_path / "settings.ini"
    settings.write_text(HOSTILE.format(px=px))
    seen = {}

    def look(windows):
        for w in windows:
            w.grab()  # paints the roll at the zoom it took
            seen.update(px=w.roll.px_per_s, top_k=w.sampling_panel.top_k.value(), bpm=w.tempo_bar.bpm.value(),
                        banner=w.banner.isVisible())

    rc = run_app(["--data-dir", str(tmp_path / "data"), "--settings", str(settings), "--no-audio", "--no-midi"],
                 look)
    assert rc == 0
    assert seen == {"px": DEFAULT_PX_PER_S, "top_k": SamplingSettings().top_k, "bpm": 120, "banner": True}
    err = capsys.readouterr().err
    assert f"view/px_per_s = {px} in the settings file" in err and "sampling/top_k = 3000000000" in err
    assert "sound/program = 300" in err and "sound/blocksize = 0" in err


def test_a_linked_settings_file_is_written_through(tmp_path):
    real = tmp_path / "dotfiles" / "ec.conf"
    real.parent.mkdir()
    real.write_text("[sound]\nprogram=3\n")
    link = tmp_path / "settings.ini"
    link.symlink_to(real)
    store = SettingsStore(link)
    store.set("sound/program", 7)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert SettingsStore(real).get_int("sound/program", 0) == 7 and store.problems == []


def test_a_pipe_as_settings_is_neither_read_nor_replaced(tmp_path):
    fifo = tmp_path / "settings.fifo"
    os.mkfifo(fifo)
    store = SettingsStore(fifo)  # reading a FIFO would wait for a writer forever
    assert store.values == {} and "not a regular file" in store.problems[0]
    store.set("sound/program", 7)
    assert fifo.is_fifo() and any("cannot save settings" in p and "left as it is" in p for p in store.problems)
