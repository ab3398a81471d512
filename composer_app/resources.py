"""Where the shipped files are: the trained models (``checkpoints/``), the app's assets (``assets/``) and the
default soundfont (which pretty_midi ships).

In a source checkout both folders sit at the repository's top level. A wheel carries them inside the package,
as ``composer_app/_bundled/<folder>`` (the build step in ``setup.py`` copies them there), so an installed app
finds its models, icon and demo rhythms without the source tree.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = PACKAGE_DIR / "_bundled"
SOURCE_ROOT = PACKAGE_DIR.parent


def shipped_folder(name: str) -> Path:
    """The shipped folder ``name`` (``checkpoints`` or ``assets``): inside the installed package, else at the
    top of the source checkout."""
    installed = BUNDLED_DIR / name
    return installed if installed.is_dir() else SOURCE_ROOT / name


CHECKPOINT_DIR = shipped_folder("checkpoints")
ASSETS_DIR = shipped_folder("assets")
ICON = ASSETS_DIR / "icon.svg"
DEMO_RHYTHMS = ASSETS_DIR / "rhythms"


def default_soundfont() -> Path:
    """The General MIDI soundfont bundled with pretty_midi (TimGM6mb, 6 MB): always there, so no download. The
    live synth and the WAV export both fall back on it (pretty_midi is imported only when it is asked for)."""
    import pretty_midi

    return Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")
