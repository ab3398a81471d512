"""Redraw the README's screenshot: the window as a first start shows it (shipped models, bundled soundfont, default
profile), after a short take played on the keyboard in real time — plain taps and steer keys.

    .venv/bin/python scripts/screenshot.py [--out docs/screenshot.png] [--seed 3]

Runs without a screen (Qt's offscreen platform) and without a sound card (the engine renders no audio); the user's
settings are not read: a first start's defaults are what a newcomer sees.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: (key, hold ms, gap ms after release): two bars of a reel-like rhythm with a steered run up and back down.
TAKE = [("z", 180, 60), ("x", 180, 60), ("space", 420, 60), ("z", 180, 60), ("x", 180, 60), ("space", 420, 60),
        ("a", 150, 40), ("s", 150, 40), ("d", 150, 40), ("f", 150, 40), ("j", 380, 80),
        ("z", 180, 60), ("x", 180, 60), ("space", 180, 60), ("z", 420, 60),
        ("k", 150, 40), ("j", 150, 40), ("f", 150, 40), ("d", 150, 40), ("s", 380, 80),
        ("z", 180, 60), ("x", 180, 60), ("space", 700, 60)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    ap.add_argument("--seed", type=int, default=3, help="the engine's seed: the same seed, the same melody")
    args = ap.parse_args()

    import torch
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from composer_app.gui.controls import settings_from_store
    from composer_app.gui.main_window import MainWindow
    from composer_app.gui.model_source import ModelSource
    from composer_app.gui.settings_store import SettingsStore
    from composer_app.gui.theme import apply_dark_theme
    from composer_app.live.engine import LiveEngine
    from composer_app.live.live_models import DEFAULT_ARCHITECTURE

    torch.set_num_threads(1)
    keys = {"z": Qt.Key.Key_Z, "x": Qt.Key.Key_X, "space": Qt.Key.Key_Space, "a": Qt.Key.Key_A, "s": Qt.Key.Key_S,
            "d": Qt.Key.Key_D, "f": Qt.Key.Key_F, "j": Qt.Key.Key_J, "k": Qt.Key.Key_K}
    app = QApplication([sys.argv[0]])
    apply_dark_theme(app)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        (data_dir / "takes").mkdir(parents=True)
        store, source = SettingsStore(Path(tmp) / "settings.ini"), ModelSource()
        engine = LiveEngine(source.live(DEFAULT_ARCHITECTURE).loaded, settings_from_store(store), seed=args.seed,
                            audio=False, take_dir=data_dir / "takes")  # what a first start makes, seeded
        engine.start()
        window = MainWindow(engine, store, data_dir, source, midi=False, audio=False)
        window.resize(1280, 720)
        window.show()
        QTest.qWait(500)
        for key, hold_ms, gap_ms in TAKE:
            QTest.keyPress(window.tap, keys[key])
            QTest.qWait(hold_ms)
            QTest.keyRelease(window.tap, keys[key])
            QTest.qWait(gap_ms)
        QTest.qWait(300)
        engine.wait_idle(5.0)
        QTest.qWait(200)
        window.grab().save(args.out)
        print(f"wrote {args.out}: {len(engine.take.notes)} notes")
        window.close()
        engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
