"""The shell set-up on macOS, with the system faked: ``uname`` and ``brew`` are stand-ins on PATH that say
"Darwin" and record what they were asked, so bootstrap's Homebrew branch and run_app's HOMEBREW_PREFIX are
checked on this Linux machine (not on a Mac)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash")


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _fake_mac(tmp_path: Path, brew_has_fluidsynth: bool | None) -> tuple[Path, Path]:
    """A bin folder with ``uname`` (Darwin) and, unless None, a ``brew`` logging its arguments."""
    bin_dir, log = tmp_path / "bin", tmp_path / "brew.log"
    bin_dir.mkdir()
    _tool(bin_dir, "uname", 'echo Darwin')
    if brew_has_fluidsynth is not None:
        listed = "exit 0" if brew_has_fluidsynth else "exit 1"
        _tool(bin_dir, "brew", f'echo "$*" >> {log}\n'
                               f'case "$1" in list) {listed};; --prefix) echo /opt/fakebrew;; esac')
    return bin_dir, log


def _macos_packages(bin_dir: Path) -> subprocess.CompletedProcess:
    """bootstrap.sh's system-package step, on the fake Mac (the rest of the script, venv and pip, not run)."""
    script = (ROOT / "scripts/bootstrap.sh").read_text()
    start = script.index("macos_packages() {")
    functions = script[start:script.index("\n}\n", start) + 3]
    dispatch = next(line for line in script.splitlines() if "macos_packages; else linux_packages" in line)
    return subprocess.run([BASH, "-c", f"set -euo pipefail\nlinux_packages() {{ echo LINUX; }}\n{functions}\n{dispatch}"],
                          capture_output=True, text=True, env={"PATH": str(bin_dir)}, timeout=30)


def test_on_macos_bootstrap_installs_fluidsynth_with_homebrew(tmp_path):
    bin_dir, log = _fake_mac(tmp_path, brew_has_fluidsynth=False)
    done = _macos_packages(bin_dir)
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == ["list --formula fluid-synth", "install fluidsynth"]
    assert "LINUX" not in done.stdout  # no apt-get/dpkg on a Mac


def test_on_macos_bootstrap_leaves_an_installed_fluidsynth_alone(tmp_path):
    bin_dir, log = _fake_mac(tmp_path, brew_has_fluidsynth=True)
    assert _macos_packages(bin_dir).returncode == 0
    assert log.read_text().splitlines() == ["list --formula fluid-synth"]


def test_on_macos_without_homebrew_bootstrap_says_how_to_get_it_and_goes_on(tmp_path):
    bin_dir, _ = _fake_mac(tmp_path, brew_has_fluidsynth=None)
    done = _macos_packages(bin_dir)
    assert done.returncode == 0 and "https://brew.sh" in done.stdout and "brew install fluidsynth" in done.stdout


def test_on_macos_run_app_tells_pyfluidsynth_where_homebrew_is(tmp_path):
    bin_dir, _ = _fake_mac(tmp_path, brew_has_fluidsynth=True)
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts/run_app.sh", tmp_path / "scripts/run_app.sh")
    (tmp_path / ".venv/bin").mkdir(parents=True)
    _tool(tmp_path / ".venv/bin", "everybody-compose", 'echo "prefix=$HOMEBREW_PREFIX args=$*"')
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.path.dirname(BASH)}"}
    done = subprocess.run([BASH, str(tmp_path / "scripts/run_app.sh"), "x.mid"], capture_output=True, text=True,
                          env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "prefix=/opt/fakebrew args=run x.mid"
    done = subprocess.run([BASH, str(tmp_path / "scripts/run_app.sh")], capture_output=True, text=True,
                          env={**env, "HOMEBREW_PREFIX": "/usr/local"}, timeout=30)
    assert done.stdout.strip() == "prefix=/usr/local args=run"  # the user's own setting is kept
