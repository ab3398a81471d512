"""No Linux-only assumption: the app's folders come from platformdirs (checked with each system's platformdirs
class standing in), no shortcut names the Meta key (Qt maps Ctrl to Cmd on a Mac; Meta would be the Mac's
Control key), and file kinds are told by suffix whatever its case (macOS and Windows file systems ignore case)."""

from __future__ import annotations

import ast
from pathlib import Path

import platformdirs
import pytest
from platformdirs.macos import MacOS
from platformdirs.unix import Unix
from platformdirs.windows import Windows

ROOT = Path(__file__).resolve().parents[1]
APP = "everybody-compose"


@pytest.mark.parametrize("dirs_class", [Unix, MacOS, Windows])
def test_the_apps_folders_are_the_systems(dirs_class, monkeypatch):
    from composer_app.data.cache import ENV_VAR, cache_root
    from composer_app.gui.app import default_data_dir
    from composer_app.gui.settings_store import default_settings_file

    dirs = dirs_class(APP)
    # What platformdirs would answer on that system (the Windows class needs no Windows for these paths: it
    # reads the shell folders through a function, faked here).
    monkeypatch.setattr("platformdirs.windows.get_win_folder", lambda csidl: f"C:\\Users\\me\\{csidl}",
                        raising=False)
    for name in ("user_data_dir", "user_config_dir", "user_cache_dir"):
        monkeypatch.setattr(platformdirs, name, lambda appname, _name=name: getattr(dirs_class(appname), _name))
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_data_dir() == Path(dirs.user_data_dir)
    assert default_settings_file().parent == Path(dirs.user_config_dir)
    assert cache_root() == Path(dirs.user_cache_dir)


def test_no_shortcut_names_the_meta_key():
    found = []
    for path in sorted((ROOT / "composer_app" / "gui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else \
                node.attr if isinstance(node, ast.Attribute) else ""
            if "Meta+" in text or text == "MetaModifier":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text}")
    assert not found, "shortcuts with Meta (the Mac's Control key, not Cmd):\n" + "\n".join(found)


def test_takes_and_journals_are_found_whatever_the_case_of_their_suffix(tmp_path):
    from composer_app.training.finetune import take_files

    for name in ("a.ectake", "B.ECTAKE", "c.JSONL", "notes.txt"):
        (tmp_path / name).write_text("")
    assert [p.name for p in take_files(tmp_path)] == ["B.ECTAKE", "a.ectake", "c.JSONL"]


def test_the_readme_tells_a_mac_and_a_windows_user_the_two_commands_and_where_the_detail_is():
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for words in ("**macOS**", "brew install fluidsynth", "**Windows**", "py -m composer_app run",
                  "py -m composer_app test", "pipx install .", "docs/other_systems.md"):
        assert words in readme, words
    detail = (ROOT / "docs/other_systems.md").read_text(encoding="utf-8")
    cited = re.findall(r"`(tests/[\w/]+\.py)`", detail)
    assert cited and all((ROOT / path).is_file() for path in cited), cited
