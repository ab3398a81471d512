"""``everybody-compose run`` starts the real app (offscreen here) and SIGTERM closes it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from composer_app.cli import build_parser


def test_run_is_the_default_command_and_takes_the_data_folder():
    args = build_parser().parse_args(["run", "--data-dir", "/tmp/x", "--no-audio", "--midi-port", "Keys"])
    assert args.command == "run" and args.data_dir == "/tmp/x" and args.no_audio and args.midi_port == "Keys"


def test_the_app_starts_and_closes_cleanly(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    settings = tmp_path / "settings.ini"
    app = subprocess.Popen([sys.executable, "-m", "composer_app.cli", "--data-dir", str(tmp_path / "data"),
                            "--settings", str(settings), "--no-audio", "--no-midi"],
                           env=env, cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(app.stdout), daemon=True)
    reader.start()
    try:
        end = time.monotonic() + 60
        while not any("window is open" in line for line in lines) and time.monotonic() < end:
            assert app.poll() is None, "".join(lines)
            time.sleep(0.05)
        time.sleep(0.5)
        assert app.poll() is None, "".join(lines)
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=30)
        reader.join(5)
    finally:
        if app.poll() is None:
            app.kill()
    out = "".join(lines)
    assert app.returncode == 0, out
    assert "Traceback" not in out
    assert "window" in settings.read_text()  # the window saved its state on the way out
