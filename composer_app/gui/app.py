"""Starting the app: the QApplication, the engine made from the saved choices, the window, crash recovery.

Start-up never fails for something the player can fix from inside the window: a saved soundfont that no longer
loads falls back to the bundled one, a missing trained model to an untrained stand-in, a damaged model file to
the default model, a damaged settings or profiles file to the defaults, a missing sound card to silent play, a
missing MIDI system to the computer keyboard; each is said in the window's banner (and on stderr).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from composer_app.errors import UserError

DEFAULT_ARCHITECTURE = "lstm_attn"


def default_data_dir() -> Path:
    """The platform's user data folder (``~/.local/share/everybody-compose`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("everybody-compose"))


def check_display() -> None:
    """Qt aborts the process with a cryptic xcb message when there is no display: say it in words first."""
    if sys.platform.startswith("linux") and not any(os.environ.get(v) for v in
                                                    ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        raise UserError("no display found (neither DISPLAY nor WAYLAND_DISPLAY is set), so no window can open. "
                        "Over ssh use ssh -X, or a virtual display: xvfb-run -a everybody-compose; without any "
                        "window: QT_QPA_PLATFORM=offscreen")


def create_engine(store, source, data_dir: Path, *, audio: bool = True, model: str | None = None,
                  soundfont=None, model_file=None):
    """A :class:`LiveEngine` from the saved choices; returns ``(engine, model_warning, problems)``.

    ``problems`` are plain-words messages about saved choices that could not be honoured.
    """
    import models
    from composer_app.gui.controls import settings_from_store
    from composer_app.gui.sound_panel import BLOCK_SIZES, latency_from_store
    from composer_app.live.engine import LiveEngine

    problems: list[str] = []
    choice = None
    model_file = model_file or (None if model else store.get_str("model/file"))
    if model_file:
        try:
            choice = source.from_file(model_file, "live")
        except UserError as exc:
            problems.append(f"the live model could not be loaded, so the default one plays: {exc}")
    if choice is None:
        arch = model or store.get_str("model/architecture", DEFAULT_ARCHITECTURE)
        if arch not in models.ARCHITECTURES:
            arch = DEFAULT_ARCHITECTURE
        choice = source.live(arch)
    settings = settings_from_store(store)
    sf2 = soundfont or store.get_str("sound/soundfont")
    program = store.get_int("sound/program", 0, 0, 127)
    kwargs = {"audio": audio, "device": store.get_str("sound/device") or None,
              "blocksize": store.get_int("sound/blocksize", 128, min(BLOCK_SIZES), max(BLOCK_SIZES)),
              "latency": latency_from_store(store.get_str("sound/latency", "low")),
              "take_dir": data_dir / "takes"}
    try:
        engine = LiveEngine(choice.loaded, settings, soundfont=sf2, program=program, **kwargs)
    except UserError as exc:
        if not sf2 and program == 0:
            raise
        problems.append(f"the saved sound ({sf2 or 'bundled soundfont'}, instrument {program + 1}) could not "
                        f"be loaded: {exc}; the bundled piano plays instead")
        engine = LiveEngine(choice.loaded, settings, **kwargs)
    return engine, choice.warning, problems


#: Python's GIL switch interval for the app (default 5 ms). The audio callback, the MIDI thread and the GUI
#: thread all run Python; when one of them wants the GIL while another computes, it waits up to this long.
SWITCH_INTERVAL_S = 0.001


def run_app(args) -> int:
    """``everybody-compose run``: open the window and run until it closes."""
    check_display()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    import torch

    # Live steps on one torch thread, once for the whole program: the audio callback needs the other core,
    # and two threads gave the same medians with far longer tails.
    torch.set_num_threads(1)
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    try:
        (data_dir / "takes").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot use the data folder {data_dir}: {exc.strerror or exc}") from None

    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from composer_app.gui.main_window import ICON, MainWindow
    from composer_app.gui.model_source import ModelSource
    from composer_app.gui.settings_store import APPLICATION, ORGANISATION, SettingsStore
    from composer_app.sampling import read_profiles

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "everybody-compose"])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName("everybody-compose")
    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))
    if not os.environ.get("EVERYBODY_COMPOSE_SYSTEM_STYLE"):
        from composer_app.gui.theme import apply_dark_theme

        apply_dark_theme(app)
    store = SettingsStore(args.settings)
    source = ModelSource()
    engine, warning, problems = create_engine(store, source, data_dir, audio=not args.no_audio, model=args.model,
                                              soundfont=args.soundfont, model_file=args.checkpoint)
    problems = [*store.problems, *read_profiles().messages(), *problems]
    for message in problems:
        print(f"everybody-compose: {message}", file=sys.stderr, flush=True)
    engine.start()
    window = MainWindow(engine, store, data_dir, source, midi=not args.no_midi, model_warning=warning,
                        audio=not args.no_audio)
    late = [m for m in store.problems if m not in problems]  # values the window itself read (zoom, tempo ...)
    for message in late:
        print(f"everybody-compose: {message}", file=sys.stderr, flush=True)
    problems += late
    for message in problems:
        window.banner.show_message(message, "warning")
    window.show()
    window.raise_()
    window.activateWindow()
    if args.midi_port:
        window.choices.choose_midi_port(args.midi_port)
    QTimer.singleShot(0, window.files.offer_recovery)
    print(f"everybody-compose: the window is open; takes are kept in {data_dir / 'takes'}", flush=True)

    # Ctrl+C / SIGTERM close the window properly (all notes off, the take's journal closed). Python runs signal
    # handlers only between bytecodes, so a idle timer lets it look in while Qt waits for events.
    def _quit(*_):
        window.close()

    signal.signal(signal.SIGINT, _quit)
    signal.signal(signal.SIGTERM, _quit)
    wake = QTimer()
    wake.start(250)
    wake.timeout.connect(lambda: None)
    try:
        return app.exec()
    finally:
        window.close()
