"""``py -m composer_app setup|run|test`` per system (platform faked): the shell scripts on Linux and macOS, the
same steps in Python on Windows, and FluidSynth's DLL found where pyfluidsynth looks or its fix named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from composer_app import platform_help as ph
from composer_app import two_commands as tc

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("system", [ph.LINUX, ph.MACOS])
def test_on_linux_and_macos_the_verbs_are_the_makefiles_scripts(system, tmp_path):
    assert tc.plan("setup", ["x"], tmp_path, system) == [["bash", str(tmp_path / "scripts/bootstrap.sh")]]
    assert tc.plan("run", ["take.mid"], tmp_path, system) == [
        ["bash", str(tmp_path / "scripts/bootstrap.sh")], ["bash", str(tmp_path / "scripts/run_app.sh"), "take.mid"]]
    assert tc.plan("test", ["-k", "synth"], tmp_path, system)[-1][-2:] == ["-k", "synth"]


def test_the_scripts_named_exist():
    assert all((ROOT / script).is_file() for scripts in tc.SCRIPTS.values() for script in scripts)


def test_on_windows_the_verbs_use_the_venvs_scripts_folder(tmp_path):
    run = tc.plan("run", ["take.mid"], tmp_path, ph.WINDOWS)
    assert run == [[str(tmp_path / ".venv/Scripts/everybody-compose.exe"), "run", "take.mid"]]
    lint, tests = tc.plan("test", ["-x"], tmp_path, ph.WINDOWS)
    assert lint[0].endswith("ruff.exe") and tests[0] == str(tmp_path / ".venv/Scripts/python.exe")
    assert tests[1:] == ["-m", "pytest", "-x"]


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return tmp_path


def test_windows_setup_makes_the_venv_then_is_quiet_until_pyproject_changes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(tc, "find_fluidsynth", lambda: None)
    root = _project(tmp_path)
    ran = []

    def run(command, **kwargs):
        ran.append(command)
        if command[1:3] == ["-m", "venv"]:
            (root / ".venv/Scripts").mkdir(parents=True)
            (root / ".venv/Scripts/python.exe").write_text("")
        return 0

    assert tc.main(["setup"], run, root) == 0
    assert ran[0][1:] == ["-m", "venv", str(root / ".venv")] and ran[-1][-2:] == ["-e", ".[test]"]
    assert "choco install fluidsynth" in capsys.readouterr().out  # the DLL is missing: Windows' fix named
    ran.clear()
    assert tc.main(["setup"], run, root) == 0 and ran == []
    (root / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    assert tc.main(["setup"], run, root) == 0 and len(ran) == 3  # the venv is there: no new one


def test_a_failing_step_stops_and_gives_its_status(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    ran = []
    assert tc.main(["run"], lambda command, **kw: ran.append(command) or 7, _project(tmp_path)) == 7
    assert len(ran) == 1 and not (tmp_path / tc.STAMP).exists()


def test_the_tests_run_offscreen(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    envs = []
    tc.main(["test"], lambda command, **kw: envs.append(kw["env"]) or 0, tmp_path)
    assert envs and all(env["QT_QPA_PLATFORM"] for env in envs)


def test_fluidsynth_is_found_by_pyfluidsynths_names_in_its_order(tmp_path):
    asked = []

    def find(name):
        asked.append(name)
        return "C:/x/libfluidsynth-3.dll" if name == "libfluidsynth-3" else None

    assert tc.find_fluidsynth(find, tmp_path / "none") == "C:/x/libfluidsynth-3.dll"
    assert asked == list(tc.FLUIDSYNTH_NAMES[:4])


def test_fluidsynth_is_found_in_chocolateys_folder_whatever_the_case_of_its_name(tmp_path):
    (tmp_path / "readme.txt").write_text("")
    (tmp_path / "LibFluidSynth-3.DLL").write_text("")
    assert tc.find_fluidsynth(lambda name: None, tmp_path) == str(tmp_path / "LibFluidSynth-3.DLL")
    assert tc.find_fluidsynth(lambda name: None, tmp_path / "missing") is None


@pytest.mark.parametrize(("system", "fix"), [(ph.LINUX, "apt-get"), (ph.MACOS, "brew install fluidsynth"),
                                             (ph.WINDOWS, "choco install fluidsynth")])
def test_the_fluidsynth_report_names_the_systems_fix(system, fix):
    assert fix in tc.fluidsynth_report(None, system)
    assert tc.fluidsynth_report("/lib/libfluidsynth.so.3", system) == "==> FluidSynth: /lib/libfluidsynth.so.3"


def test_python_m_composer_app_passes_other_commands_to_the_command_line():
    done = subprocess.run([sys.executable, "-m", "composer_app", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0 and "generate" in done.stdout
