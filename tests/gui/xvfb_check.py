"""The issue's own check of the desktop app, on a virtual X display (not part of the default test run).

Run: ``.venv/bin/python tests/gui/xvfb_check.py [--screenshot docs/screenshot.png] [--keep]``

It starts ``Xvfb``, opens the app exactly as a user would (``everybody-compose run``), and with ``xdotool``:

1. taps eight notes and checks they are in the take's journal;
2. kills the app with SIGKILL and checks the data folder holds a take of eight notes left by the crash;
3. starts the app again, checks it offers the take back ("Restore"), restores it, exports it with Ctrl+E through
   the file dialog and checks the MIDI file holds the eight notes;
4. with ``--screenshot``, plays a longer take (steered with the home-row keys, click on) in a fresh window and
   saves a picture of the window.

Needs ``Xvfb`` and ``xdotool`` (``apt-get install xvfb xdotool``). Screenshots are taken by a separate Qt client
grabbing the X root window, the way ``xwd`` would. With ``--jack`` the app plays into a private JACK dummy server
(paced like a real card), so the status bar shows a real output device and latency.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / ".venv" / "bin" / "everybody-compose"
PY = ROOT / ".venv" / "bin" / "python"
GRAB = """
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(sys.argv[:1])
shot = app.primaryScreen().grabWindow(0)
if len(sys.argv) > 2:  # x y width height: the window only
    shot = shot.copy(*map(int, sys.argv[2:6]))
assert shot.save(sys.argv[1]), "could not save the screenshot"
"""


class Check:
    def __init__(self, display: str, work: Path, jack: str | None):
        self.display = display
        self.work = work
        self.env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        self.env.pop("WAYLAND_DISPLAY", None)
        if jack:
            self.env.update(JACK_DEFAULT_SERVER=jack, JACK_NO_START_SERVER="1")
        self.app: subprocess.Popen | None = None

    def x(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=30)
        if check and out.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def wait_window(self, name: str, timeout: float = 120.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ids = self.x("search", "--onlyvisible", "--name", name, check=False).split()
            if ids:
                return ids[-1]
            if self.app is not None and self.app.poll() is not None:
                raise RuntimeError(f"the app exited ({self.app.returncode}):\n{self.log()}")
            time.sleep(0.2)
        raise RuntimeError(f"no window named {name!r} after {timeout} s:\n{self.log()}")

    def start(self, data: Path, settings: Path, *extra: str) -> None:
        self.logfile = open(self.work / "app.log", "a")  # noqa: SIM115 - lives as long as the app
        self.app = subprocess.Popen([str(APP), "run", "--data-dir", str(data), "--settings", str(settings), *extra],
                                    env=self.env, stdout=self.logfile, stderr=subprocess.STDOUT)

    def log(self) -> str:
        path = self.work / "app.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def play(self, pattern: list[tuple[str, float, float]]) -> None:
        """(key, hold seconds, gap seconds) with real key-down / key-up events."""
        self.x("mousemove", "500", "620")
        self.x("windowfocus", self.wait_window("Everybody Compose"), check=False)  # as a window manager would
        for key, hold, gap in pattern:
            self.x("keydown", key)
            time.sleep(hold)
            self.x("keyup", key)
            time.sleep(gap)

    def screenshot(self, path: Path, window: str | None = None) -> None:
        """The whole screen, or only ``window`` (an X window id)."""
        area = []
        if window is not None:
            geo = dict(line.split("=", 1) for line in self.x("getwindowgeometry", "--shell", window).splitlines())
            area = [geo["X"], geo["Y"], geo["WIDTH"], geo["HEIGHT"]]
        subprocess.run([str(PY), "-c", GRAB, str(path), *area], env=self.env, check=True, timeout=60)

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.app is not None and self.app.poll() is None:
            self.app.send_signal(sig)
            self.app.wait(timeout=15)
        self.app = None


def free_display() -> str:
    """An X display number nobody uses (no lock file, no socket)."""
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return f":{n}"
    raise RuntimeError("no free X display number between :90 and :199")


def journal_notes(path: Path) -> int:
    from composer_app.live.recovery import load_take

    return len(load_take(path))


def start_servers(args) -> tuple[str, subprocess.Popen | None, subprocess.Popen | None, str | None]:
    """The X display (Xvfb started unless ``--display``) and, with ``--jack``, a private JACK dummy server:
    ``(display, xvfb, jackd, jack server name)``."""
    display = args.display or free_display()
    xvfb = jackd = jack_name = None
    if not args.display:
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    if args.jack:
        jack_name = f"ec-xvfb-{os.getpid()}"
        jackd = subprocess.Popen(["jackd", "--no-realtime", "-n", jack_name, "-d", "dummy", "-r", "44100", "-p",
                                  "128"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=dict(os.environ, JACK_NO_START_SERVER="1"))
        time.sleep(1.5)
    return display, xvfb, jackd, jack_name


def tap_and_kill(check: Check, data: Path, settings: Path, results: dict) -> Path:
    """Steps 1-2: eight taps reach the journal; SIGKILL leaves that journal for recovery. Its path."""
    from composer_app.live.recovery import find_recoverable_takes

    check.start(data, settings)
    check.wait_window("Everybody Compose")
    time.sleep(1.5)
    check.play([(k, 0.12, 0.15) for k in "z x z space x z x space".split()])
    time.sleep(0.5)
    journals = sorted((data / "takes").glob("take-*.jsonl"))
    assert len(journals) == 1, journals
    results["notes_before_kill"] = journal_notes(journals[0])
    assert results["notes_before_kill"] == 8, results
    check.kill(signal.SIGKILL)
    found = find_recoverable_takes(data / "takes")
    assert found == journals, found
    results["recoverable"] = [p.name for p in found]
    results["recoverable_notes"] = journal_notes(found[0])
    print("killed after 8 taps; left for recovery:", found[0].name, results["recoverable_notes"], "notes")
    return found[0]


def restore_and_export(check: Check, data: Path, settings: Path, crashed: Path, results: dict,
                       screenshot: bool) -> None:
    """Step 3: the next start offers the crashed take back; restore it and export it with Ctrl+E."""
    from composer_app.live.recovery import find_recoverable_takes

    check.start(data, settings)
    dialog = check.wait_window("Restore the last take")
    if screenshot:
        check.screenshot(check.work / "recovery.png")
    check.x("windowfocus", dialog, check=False)
    check.x("key", "Return")
    time.sleep(1.0)
    main_window = check.wait_window("Everybody Compose")
    check.x("windowfocus", main_window, check=False)  # what a window manager does; bare Xvfb has none
    time.sleep(0.3)
    title = check.x("getwindowname", main_window)
    results["title_after_restore"] = title
    assert crashed.name in title, title
    out = check.work / "restored.mid"
    check.x("key", "ctrl+e")
    file_dialog = check.wait_window("Export MIDI")
    time.sleep(0.5)
    check.x("key", "ctrl+a")
    check.x("type", "--delay", "20", str(out))
    check.x("key", "Return")
    end = time.monotonic() + 10
    while not out.exists() and time.monotonic() < end:
        time.sleep(0.2)
    import pretty_midi

    notes = pretty_midi.PrettyMIDI(str(out)).instruments[0].notes
    results["exported_notes"] = len(notes)
    assert len(notes) == 8, len(notes)
    print(f"restored and exported {out.name}: {len(notes)} notes (file dialog {file_dialog})")
    check.kill(signal.SIGTERM)
    assert find_recoverable_takes(data / "takes") == []


def play_for_screenshot(check: Check, screenshot: Path) -> None:
    """Step 4: a longer take, steered and with the click on, in a fresh window; a picture of the window."""
    from composer_app.gui.settings_store import SettingsStore

    work = check.work
    store = SettingsStore(work / "shot.ini")
    store.set("sampling/scale", "C major")
    store.set("sampling/low", 57)
    store.set("sampling/high", 81)
    store.set("sound/program", 0)
    for key, value in (("time/bpm", 100), ("time/metre", "4/4"), ("time/click", True),
                       ("time/count_in", True), ("time/steer", 0.8), ("time/quantize", "1/16")):
        store.set(key, value)
    store.sync()
    check.start(work / "shot-data", work / "shot.ini")
    check.wait_window("Everybody Compose")
    time.sleep(2.0)
    # eighth notes at 100 BPM (0.3 s), steered up the home row, down again, then a tapped ending
    eighth = 0.3
    line = ["a", "s", "d", "f", "j", "j", "k", "semicolon", "l", "k", "j", "f", "f", "d", "s", "d",
            "f", "j", "l", "k"]
    rhythm = [(key, eighth * 0.7, eighth * 0.3) for key in line]
    rhythm += [("z", 0.12, 0.18), ("x", 0.12, 0.18), ("z", 0.4, 0.2), ("x", 0.25, 0.05)]
    check.play(rhythm)
    check.x("keydown", "space")
    time.sleep(0.35)
    check.screenshot(screenshot, check.wait_window("Everybody Compose"))
    check.x("keyup", "space")
    print("screenshot:", screenshot)
    check.kill(signal.SIGTERM)


def run(args) -> int:
    work = Path(tempfile.mkdtemp(prefix="ec-xvfb-"))
    display, xvfb, jackd, jack_name = start_servers(args)
    check = Check(display, work, jack_name)
    data, settings = work / "data", work / "settings.ini"
    results = {}
    try:
        crashed = tap_and_kill(check, data, settings, results)
        restore_and_export(check, data, settings, crashed, results, bool(args.screenshot))
        if args.screenshot:
            play_for_screenshot(check, Path(args.screenshot))
        results["ok"] = True
        print(json.dumps(results, indent=1))
        return 0
    except Exception:
        print(check.log(), file=sys.stderr)
        raise
    finally:
        check.kill(signal.SIGKILL)
        for server in (jackd, xvfb):
            if server is not None:
                server.terminate()
                server.wait(5)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--screenshot", default=None, help="also save a screenshot of a played take here")
    p.add_argument("--display", default=None, help="use this X display instead of starting Xvfb")
    p.add_argument("--jack", action="store_true", help="play into a private JACK dummy server")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, files)")
    args = p.parse_args()
    for tool in ("xdotool",) + (() if args.display else ("Xvfb",)):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (apt-get install xvfb xdotool)", file=sys.stderr)
            return 2
    sys.path.insert(0, str(ROOT))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
