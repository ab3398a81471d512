"""`train` given impossible settings, a run folder it cannot use, or a MIDI folder that loops or nests without end:
one `error:` line and exit 2 before any data is read; and a fine-tuning run never replaces an earlier one's
best.pt."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from composer_app.cli import main
from composer_app.commands import train
from composer_app.data import sources
from composer_app.training import config as training_config


def error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "error:" in line]


@pytest.fixture
def no_data(monkeypatch):
    """Reading any corpus fails the test: every case here must be refused before."""
    import composer_app.data.corpus as corpus

    monkeypatch.setattr(corpus, "load_melodies", lambda *a, **k: pytest.fail("data was read"))


@pytest.mark.parametrize("setting,words", [
    ("seq_len=0", "seq_len must be a whole number from 2"), ("batch_size=0", "batch_size must be a whole number"),
    ("lr=nan", "lr must be a number"), ("lr=" + "9" * 5000, "lr must be a number"),
    ("hidden_dim=-4", "hidden_dim must be"), ("tempo_prob=2", "tempo_prob must be"),
])
def test_impossible_settings_are_refused_before_any_data_is_read(capsys, tmp_path, no_data, setting, words):
    rc = main(["train", "-m", "vanilla_rnn", "--set", setting, "--out", str(tmp_path / "run"), "-d", "cpu"])
    lines = error_lines(capsys)
    assert rc == 2 and len(lines) == 1 and words in lines[0] and len(lines[0]) < 300


def test_finetuning_settings_are_checked_too(tiny_checkpoint):
    loaded_path = tiny_checkpoint("vanilla_rnn", "live")
    from composer_app.checkpoints import load_checkpoint
    from composer_app.errors import UserError
    from composer_app.training.finetune import _recipe

    with pytest.raises(UserError, match="seq_len must be"):
        _recipe(load_checkpoint(loaded_path), {"seq_len": 0})
    with pytest.raises(UserError, match="lr must be"):
        _recipe(load_checkpoint(loaded_path), {"lr": float("nan")})
    assert training_config.toml_value("9" * 5000) == "9" * 5000  # TOML's bare ValueError never escapes


def test_an_out_that_is_a_file_is_refused_first(capsys, tmp_path, no_data):
    blocker = tmp_path / "run"
    blocker.write_text("my notes")
    assert main(["train", "-m", "vanilla_rnn", "--out", str(blocker), "-d", "cpu"]) == 2
    assert "is a file" in error_lines(capsys)[0] and blocker.read_text() == "my notes"
    assert main(["train", "-m", "vanilla_rnn", "--out", str(blocker / "inside"), "-d", "cpu"]) == 2
    assert "is a file" in error_lines(capsys)[0]


def test_a_read_only_out_is_refused_first(capsys, tmp_path, no_data):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    if os.access(folder, os.W_OK):  # root writes into read-only folders, but not into a process's /proc entry
        folder = Path("/proc/self")
    assert main(["train", "-m", "vanilla_rnn", "--out", str(folder / "run"), "-d", "cpu"]) == 2
    assert "not writable" in error_lines(capsys)[0]


def test_a_fresh_run_folder_never_replaces_a_tuned_model(tmp_path):
    first = tmp_path / "finetune_x"
    assert train.fresh_folder(first) == first
    (first / "best.pt").parent.mkdir()
    (first / "best.pt").write_bytes(b"tuned")
    second = train.fresh_folder(first)
    assert second == tmp_path / "finetune_x-2" and not second.exists()
    (second).mkdir()
    (second / "best.pt").write_bytes(b"tuned again")
    assert train.fresh_folder(first) == tmp_path / "finetune_x-3"


def test_an_explicit_out_holding_a_tuned_model_is_refused(capsys, tmp_path, tiny_checkpoint):
    start = tiny_checkpoint("vanilla_rnn", "live")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "best.pt").write_bytes(b"tuned earlier")
    (tmp_path / "midi").mkdir()
    assert main(["train", "--from", str(start), "--midi-dir", str(tmp_path / "midi"), "--out", str(out)]) == 2
    assert "already holds a tuned model" in error_lines(capsys)[0]
    assert (out / "best.pt").read_bytes() == b"tuned earlier"


def test_the_default_out_of_a_second_finetuning_is_fresh(capsys, tmp_path, monkeypatch, tiny_checkpoint):
    from composer_app.training import finetune

    start = tiny_checkpoint("vanilla_rnn", "live")
    monkeypatch.chdir(tmp_path)
    earlier = tmp_path / "runs" / f"finetune_{start.stem}"
    earlier.mkdir(parents=True)
    (earlier / "best.pt").write_bytes(b"tuned earlier")
    (tmp_path / "midi").mkdir()
    used = {}

    def fake_finetune(start_path, files, minutes, out, **kwargs):
        used["out"] = out
        raise train.UserError("stopped here")

    monkeypatch.setattr(finetune, "finetune", fake_finetune)
    assert main(["train", "--from", str(start), "--midi-dir", str(tmp_path / "midi")]) == 2
    assert (tmp_path / used["out"]) == earlier.with_name(f"{earlier.name}-2")
    assert (earlier / "best.pt").read_bytes() == b"tuned earlier"


def test_a_midi_folder_that_loops_or_nests_without_end_is_said(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(sources.UserError, match="link loop"):
        sources.parse_source(f"midi:{loop}")
    deep = tmp_path / "deep"
    folder = deep
    deep.mkdir()
    for _ in range(100):
        folder = folder / "d"
        folder.mkdir()
    (folder / "x.mid").write_bytes(b"MThd")
    started = time.perf_counter()
    with pytest.raises(sources.UserError, match="nested more than 64 levels"):
        sources.parse_source(f"midi:{deep}").items()
    assert time.perf_counter() - started < 10
    (tmp_path / "ok" / "a").mkdir(parents=True)
    (tmp_path / "ok" / "a" / "t.mid").write_bytes(b"MThd")
    (tmp_path / "ok" / "up").symlink_to(tmp_path / "ok")  # a link back up is not followed
    assert [item[2] for item in sources.parse_source(f"midi:{tmp_path / 'ok'}").items()[0]] == ["a/t.mid"]


def test_finetuning_into_a_log_writes_plain_progress_lines(capsys, tmp_path, monkeypatch, tiny_checkpoint):
    """Not a terminal (capsys, like `train ... > log 2>&1`): progress lines, no carriage-return bar."""
    from composer_app.training import finetune

    start = tiny_checkpoint("vanilla_rnn", "live")
    (tmp_path / "midi").mkdir()

    def fake_finetune(start_path, files, minutes, out, progress=None, log=print, **kwargs):
        for i in range(40):
            progress(finetune.Progress("tuning", i / 40, f"epoch {i // 10 + 1}"))
        log("epoch 4: valid nll 2.5")
        raise train.UserError("stopped here")

    monkeypatch.setattr(finetune, "finetune", fake_finetune)
    assert main(["train", "--from", str(start), "--midi-dir", str(tmp_path / "midi"),
                 "--out", str(tmp_path / "run")]) == 2
    captured = capsys.readouterr()
    assert "\r" not in captured.out + captured.err
    lines = captured.out.splitlines()
    assert "  0 % epoch 1" in lines and "epoch 4: valid nll 2.5" in lines
