"""The project as an installed app: a wheel holds the shipped models, assets and configs, and `generate` runs
from a fresh environment outside the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pretty_midi

ROOT = Path(__file__).resolve().parents[1]
#: what a wheel is built from (a copy of it, so the build leaves nothing in the checkout)
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "composer_app", "models", "checkpoints", "assets")


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, timeout=240, **kwargs)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done


def build_wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_bundled"))
        else:
            shutil.copy2(path, src / name)
    run([sys.executable, "-m", "pip", "wheel", ".", "--no-build-isolation", "--no-deps", "--no-index", "-q",
         "-w", tmp_path / "dist"], cwd=src)
    (wheel,) = (tmp_path / "dist").glob("everybody_compose-*.whl")
    return wheel


def test_wheel_installs_and_generates_outside_the_source_tree(tmp_path):
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(p.name for p in (ROOT / "checkpoints").iterdir() if p.suffix in (".pt", ".md"))
    assert shipped, "the repository ships no checkpoints"
    for name in shipped:
        assert f"composer_app/_bundled/checkpoints/{name}" in names
    for name in ("assets/icon.svg", "assets/icon.png", "assets/rhythms/twinkle.npy"):
        assert f"composer_app/_bundled/{name}" in names
    assert {"composer_app/profiles.toml", "composer_app/training/config.toml"} <= names

    # A fresh environment with only the wheel installed; the heavy dependencies (torch, Qt) come from this
    # project's environment through a .pth line added after the install (pip never sees them).
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    py = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q", wheel])
    site = Path(run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    (site / "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = run([py, "-c", "import composer_app, composer_app.resources as r; "
                 "print(composer_app.__file__); print(r.CHECKPOINT_DIR); print(r.ICON.is_file())"], cwd=work)
    package, checkpoints, icon = where.stdout.split()
    assert Path(package).is_relative_to(site) and Path(checkpoints).is_relative_to(site) and icon == "True"

    rhythm = site / "composer_app" / "_bundled" / "assets" / "rhythms" / "twinkle.npy"
    done = run([venv / "bin" / "everybody-compose", "generate", "-s", rhythm, "-o", "twinkle.mid", "--seed", "1"],
               cwd=work)
    assert "LSTM with Local Attention (offline)" in done.stdout
    notes = pretty_midi.PrettyMIDI(str(work / "twinkle.mid")).instruments[0].notes
    assert len(notes) == 28
