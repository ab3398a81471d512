"""Fixtures for driving the real window offscreen: tiny models, a private settings file, a private data folder.

The window is the app's own :class:`MainWindow` on a real :class:`LiveEngine` (FluidSynth included) with
``audio=False`` and no MIDI watcher, so nothing here needs a sound card, a MIDI system or the user's settings.
"""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from composer_app.gui import tasks
from composer_app.gui.main_window import MainWindow
from composer_app.gui.model_source import ModelChoice
from composer_app.gui.settings_store import SettingsStore
from composer_app.live.engine import LiveEngine


@pytest.fixture
def run_app():
    """``run(args, look) -> rc``: the app's command line (``cli.main(args)``) until its main window is up; then
    ``look(windows)`` sees the visible main windows and they are closed.

    The window is looked for every 50 ms, not after a fixed wait (start-up takes seconds on a busy machine), and a
    deadline quits the event loop if it never comes up. Both timers are stopped before ``run`` returns: a quit
    left pending would end a later test's event loop, and that test would fail for no fault of its own."""
    from composer_app import cli

    def run(args, look, deadline_ms: int = 60_000) -> int:
        def poll() -> None:
            windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
            if windows:
                watch.stop()
                look(windows)
                for w in windows:
                    w.close()

        watch, deadline = QTimer(), QTimer()
        watch.timeout.connect(poll)
        deadline.setSingleShot(True)
        deadline.timeout.connect(QApplication.quit)
        watch.start(50)
        deadline.start(deadline_ms)
        try:
            return cli.main(args)
        finally:
            watch.stop()
            deadline.stop()

    return run


class TinySource:
    """Stands in for :class:`ModelSource`: tiny untrained models, instantly; records what was asked."""

    def __init__(self, tiny_model):
        self.tiny_model = tiny_model
        self.asked: list[tuple[str, str]] = []

    def live(self, arch):
        self.asked.append(("live", arch))
        return ModelChoice(self.tiny_model(arch, "live"))

    def offline(self, arch):
        self.asked.append(("offline", arch))
        return ModelChoice(self.tiny_model(arch, "offline", seed=1))

    def from_file(self, path, kind):
        from composer_app.checkpoints import load_checkpoint

        return ModelChoice(load_checkpoint(path, kind=kind))


@pytest.fixture
def store(tmp_path):
    return SettingsStore(tmp_path / "settings.ini")


@pytest.fixture
def source(tiny_model):
    return TinySource(tiny_model)


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    (path / "takes").mkdir(parents=True)
    return path


@pytest.fixture
def make_window(qtbot, store, source, data_dir, tiny_model):
    """``make_window(**engine_kwargs)``: the real window, shown and focused, closed at the end."""
    made = []

    def make(arch="vanilla_rnn", midi=False, midi_backend=None, **engine_kwargs):
        engine_kwargs.setdefault("audio", False)
        engine = LiveEngine(tiny_model(arch), take_dir=data_dir / "takes", seed=1, **engine_kwargs)
        win = MainWindow(engine, store, data_dir, source, midi=midi, midi_backend=midi_backend, audio=False)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        win.activateWindow()
        made.append(win)
        return win

    yield make
    for win in made:
        win.close()


@pytest.fixture
def window(make_window):
    return make_window()


def settle(qtbot, win, timeout: float = 5.0) -> None:
    """Let the engine thread run everything handed to it, then deliver its queued signals."""
    assert win.engine.wait_idle(timeout)
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=int(timeout * 1000))
    qtbot.wait(1)


@pytest.fixture
def tap(qtbot):
    """``tap(win, keys, hold_ms=40, gap_ms=30)``: key-down/key-up on the tap area, like a player."""
    names = {"z": Qt.Key.Key_Z, "x": Qt.Key.Key_X, "space": Qt.Key.Key_Space, "a": Qt.Key.Key_A,
             "s": Qt.Key.Key_S, "d": Qt.Key.Key_D, "f": Qt.Key.Key_F, "j": Qt.Key.Key_J, "k": Qt.Key.Key_K,
             "l": Qt.Key.Key_L, ";": Qt.Key.Key_Semicolon}

    def play(win, keys, hold_ms: int = 40, gap_ms: int = 30, target=None):
        target = target or win.tap
        for key in keys.split():
            qtbot.keyPress(target, names[key])
            time.sleep(hold_ms / 1000)
            qtbot.keyRelease(target, names[key])
            time.sleep(gap_ms / 1000)
        settle(qtbot, win)

    return play


@pytest.fixture
def wait_settled(qtbot):
    return lambda win, timeout=5.0: settle(qtbot, win, timeout)
