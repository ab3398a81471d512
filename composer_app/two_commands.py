"""``py -m composer_app setup|run|test``: the two commands (``make run``, ``make test``) where there is no make
or bash, that is on Windows, and the same entry point on every system.

Why here and in Python: Windows has Python (the ``py`` launcher) but neither make nor bash. On Linux and macOS
the verbs hand over to the shell scripts the Makefile runs (one implementation per system: they install system
packages with apt or Homebrew); on Windows the same steps are done here: a ``.venv``, the Python packages (the
PyPI wheels of sounddevice and python-rtmidi carry PortAudio and WinMM support), and a look for FluidSynth's DLL
where pyfluidsynth will look, saying how to get it when it is not there (Windows has no package for it that a
script may install unasked). Standard library only: it runs before the virtual environment exists.
"""

from __future__ import annotations

import ctypes.util
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from composer_app import platform_help as ph

ROOT = Path(__file__).resolve().parents[1]
VERBS = ("setup", "run", "test")
#: What each verb runs on Linux and macOS (as the Makefile: run and test set up first).
SCRIPTS = {"setup": ("scripts/bootstrap.sh",), "run": ("scripts/bootstrap.sh", "scripts/run_app.sh"),
           "test": ("scripts/bootstrap.sh", "scripts/run_tests.sh")}
#: The library names pyfluidsynth tries, in its order, and the folder it adds on Windows (Chocolatey's).
FLUIDSYNTH_NAMES = ("fluidsynth", "fluidsynth-3", "libfluidsynth", "libfluidsynth-3", "libfluidsynth-2",
                    "libfluidsynth-1")
CHOCO_FLUIDSYNTH = Path("C:/tools/fluidsynth/bin")
#: The torch bootstrap.sh installs (on Windows PyPI's wheel is the CPU build already).
TORCH = "torch==2.13.0"
STAMP = ".venv/.setup-stamp"


def venv_tool(name: str, root: Path = ROOT, system: str | None = None) -> Path:
    """A program of the project's ``.venv``: ``.venv/Scripts/name.exe`` on Windows, ``.venv/bin/name`` elsewhere."""
    if (system or ph.current_system()) == ph.WINDOWS:
        return root / ".venv" / "Scripts" / f"{name}.exe"
    return root / ".venv" / "bin" / name


def find_fluidsynth(find_library: Callable[[str], str | None] = ctypes.util.find_library,
                    folder: Path = CHOCO_FLUIDSYNTH) -> str | None:
    """Where pyfluidsynth will find the FluidSynth library (None: nowhere): the names it tries on the library
    path (PATH on Windows), then a fluidsynth DLL in ``folder``."""
    for name in FLUIDSYNTH_NAMES:
        if found := find_library(name):
            return found
    if folder.is_dir():
        dlls = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".dll" and "fluidsynth" in p.name.lower())
        if dlls:
            return str(dlls[0])
    return None


def fluidsynth_report(found: str | None, system: str | None = None) -> str:
    """The line set-up prints about FluidSynth: where it is, or how to get it on ``system``."""
    if found:
        return f"==> FluidSynth: {found}"
    return (f"!! {ph.missing_library(ph.FLUIDSYNTH, system)}; the app plays silently until it is there, "
            "then needs no other step")


def setup_wanted(root: Path = ROOT) -> str:
    """What defines the environment (as bootstrap.sh's stamp): change pyproject.toml and set-up runs again."""
    return hashlib.sha256((root / "pyproject.toml").read_bytes() + Path(__file__).read_bytes()).hexdigest()


def windows_setup(root: Path = ROOT, python: str = sys.executable) -> list[list[str]]:
    """The commands that make ``.venv`` on Windows ([] when the stamp says it is made and unchanged)."""
    stamp = root / STAMP
    if stamp.is_file() and stamp.read_text().strip() == setup_wanted(root):
        return []
    py = str(venv_tool("python", root, ph.WINDOWS))
    steps = [] if Path(py).exists() else [[python, "-m", "venv", str(root / ".venv")]]
    return steps + [[py, "-m", "pip", "install", "-q", "--upgrade", "pip"],
                    [py, "-m", "pip", "install", "-q", TORCH],
                    [py, "-m", "pip", "install", "-q", "-e", ".[test]"]]


def plan(verb: str, args: Sequence[str] = (), root: Path = ROOT, system: str | None = None) -> list[list[str]]:
    """The commands ``verb`` runs on ``system`` after set-up (Windows) or including it (the scripts)."""
    system = system or ph.current_system()
    if system != ph.WINDOWS:
        scripts = SCRIPTS[verb]
        return [["bash", str(root / s), *(args if s == scripts[-1] and verb != "setup" else ())] for s in scripts]
    if verb == "run":
        return [[str(venv_tool("everybody-compose", root, system)), "run", *args]]
    if verb == "test":
        return [[str(venv_tool("ruff", root, system)), "check", "composer_app", "models", "tests"],
                [str(venv_tool("python", root, system)), "-m", "pytest", *args]]
    return []


def main(argv: Sequence[str], run: Callable[..., int] | None = None, root: Path = ROOT) -> int:
    """Run ``argv[0]`` (a verb of :data:`VERBS`) with the rest as its arguments; the exit status of the first
    command that fails, else 0. ``run(command, cwd=, env=)`` runs one command (tests pass a stand-in)."""
    run = run or (lambda cmd, **kw: subprocess.call(cmd, **kw))
    verb, args = argv[0], list(argv[1:])
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen")) if verb == "test" \
        else None
    commands = plan(verb, args, root)
    if ph.current_system() == ph.WINDOWS:
        for command in windows_setup(root):
            if status := run(command, cwd=root, env=None):
                return status
        (root / STAMP).write_text(setup_wanted(root))
        print(fluidsynth_report(find_fluidsynth()))
    for command in commands:
        if status := run(command, cwd=root if verb != "run" else None, env=env):
            return status
    return 0
