"""``everybody-compose run`` (the default command) opens the real window and closes it cleanly.

Run in this process (a child process would spend most of its time importing torch); the process-wide things
``run_app`` sets for a real session (signal handlers, GIL switch interval, the dark theme) are kept out of the
test process. The same start from a shell, under Xvfb, is the slow test in ``test_xvfb.py``.
"""

from __future__ import annotations

import signal
import sys

from composer_app import cli
from composer_app.gui import theme
from composer_app.gui.main_window import APP_TITLE


def test_run_is_the_default_command_and_takes_the_data_folder():
    args = cli.build_parser().parse_args(["run", "--data-dir", "/tmp/x", "--no-audio", "--midi-port", "Keys"])
    assert args.command == "run" and args.data_dir == "/tmp/x" and args.no_audio and args.midi_port == "Keys"


def test_the_run_command_opens_the_window_and_closes_cleanly(qapp, tmp_path, monkeypatch, capsys, run_app):
    handlers, themed = [], []
    monkeypatch.setattr(signal, "signal", lambda sig, fn: handlers.append(sig))
    monkeypatch.setattr(sys, "setswitchinterval", lambda seconds: None)
    monkeypatch.setattr(theme, "apply_dark_theme", themed.append)
    seen = {}

    def look(windows):
        seen["titles"] = [w.windowTitle() for w in windows]
        seen["focus"] = [type(w.focusWidget()).__name__ for w in windows]  # keyboard goes here when active

    data = tmp_path / "data"
    rc = run_app(["--data-dir", str(data), "--settings", str(tmp_path / "settings.ini"), "--no-audio",
                  "--no-midi"], look)  # no command: "run"
    assert rc == 0
    assert seen["titles"] == [APP_TITLE] and seen["focus"] == ["TapArea"]
    assert (data / "takes").is_dir() and "window is open" in capsys.readouterr().out
    assert set(handlers) == {signal.SIGINT, signal.SIGTERM} and themed
    assert "window" in (tmp_path / "settings.ini").read_text()  # the window saved its state on the way out
