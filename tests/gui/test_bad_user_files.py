"""Bad user files never stop the app and never run code: the settings file is read as plain values only (a
pickled object in it never runs, a damaged file gives defaults, every ignored value is said), and start-up with
every user file damaged at once still opens a window that plays."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from composer_app.gui import theme
from composer_app.gui.settings_store import SettingsStore

PAYLOAD = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QSettings

    class Payload:  # unpickling it opens (creates) the marker file
        def __reduce__(self):
            return (open, (sys.argv[2], "w"))

    s = QSettings(sys.argv[1], QSettings.Format.IniFormat)
    s.setValue("model/file", Payload())
    s.setValue("sampling/temperature", 0.7)
    s.setValue("sampling/top_k", 3)
    s.setValue("model/architecture", "vanilla_rnn")
    s.sync()
""")


def qsettings(code: str, *args) -> None:
    subprocess.run([sys.executable, "-c", code, *map(str, args)], check=True, capture_output=True, timeout=60)


def test_a_pickled_object_in_the_settings_never_runs(tmp_path):
    settings, marker = tmp_path / "settings.ini", tmp_path / "unpickled"
    qsettings(PAYLOAD, settings, marker)
    assert "@Variant(" in settings.read_text() and not marker.exists()

    store = SettingsStore(settings)
    assert not marker.exists()
    assert store.get_str("model/file") is None
    assert store.get_float("sampling/temperature", 1.0) == 0.7 and store.get_int("sampling/top_k", 4) == 3
    assert store.get_str("model/architecture") == "vanilla_rnn"
    assert len(store.problems) == 1 and "ignored model/file" in store.problems[0]
    assert "never loaded" in store.problems[0]

    store.set("view/px_per_s", 120.0)  # the next save drops the payload from the file
    assert "@Variant" not in settings.read_text()
    assert SettingsStore(settings).problems == []

    # The payload is live: QSettings itself runs it on reading the original file.
    qsettings(PAYLOAD, tmp_path / "again.ini", tmp_path / "written-by-qsettings")
    qsettings("import sys; from PySide6.QtCore import QSettings; "
              "QSettings(sys.argv[1], QSettings.Format.IniFormat).allKeys()", tmp_path / "again.ini")
    assert (tmp_path / "written-by-qsettings").exists()


def test_values_read_back_as_they_were_kept(tmp_path):
    path = tmp_path / "settings.ini"
    store = SettingsStore(path)
    values = {"paths/last_dir": ' @odd "folder" \\ name ', "sampling/hints": "1 3\n5", "sound/program": 40,
              "view/px_per_s": 96.5, "recolour/keep_locks": False, "toplevel": "x"}
    for key, value in values.items():
        store.set(key, value)
    store.set("window/geometry", b"\x00\x01\xffgeometry")
    again = SettingsStore(path)
    assert again.problems == []
    assert again.get_str("paths/last_dir") == values["paths/last_dir"]
    assert again.get_str("sampling/hints") == "1 3\n5" and again.get_str("toplevel") == "x"
    assert again.get_int("sound/program", 0) == 40 and again.get_float("view/px_per_s", 1.0) == 96.5
    assert again.get_bool("recolour/keep_locks", True) is False
    assert again.get_bytes("window/geometry") == b"\x00\x01\xffgeometry"
    again.remove("sound/program")
    assert SettingsStore(path).get_int("sound/program", 7) == 7


def test_choices_saved_by_qsettings_are_kept(tmp_path):
    path = tmp_path / "old.conf"
    qsettings("import sys; from PySide6.QtCore import QSettings, QByteArray\n"
              "s = QSettings(sys.argv[1], QSettings.Format.IniFormat)\n"
              "s.setValue('model/architecture', 'attention_rnn'); s.setValue('sound/program', 12)\n"
              "s.setValue('sound/soundfont', '/home/me/My Fonts/a, b.sf2'); s.setValue('midi/port', '@Keys')\n"
              "s.setValue('window/geometry', QByteArray(b'\\x01\\x02')); s.setValue('recolour/keep_locks', True)\n"
              "s.sync()", path)
    store = SettingsStore(path)
    assert store.problems == []  # an old window geometry is dropped silently, as harmless
    assert store.get_str("model/architecture") == "attention_rnn" and store.get_int("sound/program", 0) == 12
    assert store.get_str("sound/soundfont") == "/home/me/My Fonts/a, b.sf2"
    assert store.get_str("midi/port") == "@Keys" and store.get_bool("recolour/keep_locks", False)


def test_damaged_files_give_defaults_and_a_message(tmp_path):
    cases = {
        "binary": bytes(range(256)) * 8,
        "no-section": b"just some words\nmore words\n[sampling]\ntemperature=0.5\n",
        "wrong-types": b"[sampling]\ntemperature=hot\ntop_k=2.5\nlow=nan\n[recolour]\nkeep_locks=\n",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        store = SettingsStore(path)
        assert store.get_float("sampling/temperature", 1.0) in (1.0, 0.5)
        assert store.get_int("sampling/top_k", 4) == 4 and store.get_int("sampling/low", 21) == 21
        assert store.get_bool("recolour/keep_locks", True) is True
    assert SettingsStore(tmp_path / "no-section").get_float("sampling/temperature", 1.0) == 0.5
    assert any("damaged" in p for p in SettingsStore(tmp_path / "no-section").problems)
    huge = tmp_path / "huge"
    huge.write_bytes(b"x" * (2 << 20))
    assert "far too large" in SettingsStore(huge).problems[0]


def test_a_settings_file_that_cannot_be_written_is_said_not_raised(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the settings folder should be")
    store = SettingsStore(blocker / "settings.ini")
    store.set("sound/program", 3)
    store.set("sound/program", 4)
    assert store.get_int("sound/program", 0) == 4  # kept for this run
    assert len(store.problems) == 1 and "cannot save settings" in store.problems[0]


@pytest.mark.parametrize("how", ["--checkpoint", "remembered"])
def test_the_window_opens_and_plays_whatever_the_files_hold(qapp, tmp_path, monkeypatch, capsys, tiny_checkpoint,
                                                            how, run_app):
    monkeypatch.setattr(signal, "signal", lambda sig, fn: None)
    monkeypatch.setattr(sys, "setswitchinterval", lambda seconds: None)
    monkeypatch.setattr(theme, "apply_dark_theme", lambda app: None)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    profiles = tmp_path / "config" / "everybody-compose" / "profiles.toml"
    profiles.parent.mkdir(parents=True)
    profiles.write_text('stray = 1\n[hot]\ntemperature = "hot"\n[odd]\ntop_k = 2.5\n')

    broken = tiny_checkpoint("lstm_attn", "live")
    payload = torch.load(broken, weights_only=True)
    del payload["config"]
    torch.save(payload, broken)

    settings, marker = tmp_path / "settings.ini", tmp_path / "unpickled"
    subprocess.run([sys.executable, "-c", PAYLOAD, str(settings), str(marker)], check=True, timeout=60)
    with open(settings, "a") as f:
        f.write("\n[sampling]\nlow=90\nhigh=20\ntemperature=hot\n[sound]\nblocksize=-5\nlatency=zzz\n")
        if how == "remembered":
            f.write(f"[model]\nfile={broken}\n")
    extra = ["--checkpoint", str(broken)] if how == "--checkpoint" else []

    seen = {}

    def look(windows):
        for w in windows:
            seen["model"] = (w.engine.model.architecture, w.engine.model.kind, w.engine.model.path)
            seen["banner"] = w.banner.isVisible()

    rc = run_app(["--data-dir", str(tmp_path / "data"), "--settings", str(settings), "--no-audio", "--no-midi",
                  *extra], look)
    assert rc == 0 and not marker.exists()
    # the remembered architecture (plain text in the settings) with its shipped live model
    assert seen["model"][:2] == ("vanilla_rnn", "live") and seen["model"][2].endswith("vanilla_rnn_live.pt")
    assert seen["banner"]
    err = capsys.readouterr().err
    assert "ignored model/file" in err or how == "remembered"
    assert f"{broken} is damaged: it has no 'config' table" in err and "the default one plays" in err
    assert "'stray' is ignored" in err and "'hot' is not used" in err and "'odd' is not used" in err
