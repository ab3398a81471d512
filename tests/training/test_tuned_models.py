"""The user's tuned models in the data folder: kept under a unique name, listed, removed; runs in progress and
damaged folders never listed."""

import pytest

from composer_app.errors import UserError
from composer_app.training import tuned_models as tm


def finished_run(data_dir):
    folder = tm.staging_folder(data_dir)
    (folder / "best.pt").write_bytes(b"weights")
    (folder / "card.md").write_text("# card")
    return folder


def test_keep_list_remove(tmp_path):
    assert tm.list_tuned(tmp_path) == []
    run = finished_run(tmp_path)
    assert tm.list_tuned(tmp_path) == []  # a run in progress is not a model yet
    kept = tm.keep(run, "  My   reels ", tmp_path, "lstm_attn", "live")
    assert kept.name == "My reels" and kept.checkpoint.read_bytes() == b"weights" and not run.exists()
    assert tm.list_tuned(tmp_path) == [kept]
    with pytest.raises(UserError, match="already a tuned model called 'my reels'"):
        tm.keep(finished_run(tmp_path), "my reels", tmp_path, "lstm_attn", "live")
    other = tm.keep(finished_run(tmp_path), "My/reels?", tmp_path, "vanilla_rnn", "offline")  # same file name
    assert other.folder != kept.folder and [m.name for m in tm.list_tuned(tmp_path)] == ["My reels", "My/reels?"]
    tm.remove(kept, tmp_path)
    assert tm.list_tuned(tmp_path) == [other] and not kept.folder.exists()


def test_damaged_folders_are_left_out_and_nothing_outside_is_removed(tmp_path):
    kept = tm.keep(finished_run(tmp_path), "Good", tmp_path, "lstm_attn", "live")
    broken = tm.models_dir(tmp_path) / "broken"
    broken.mkdir()
    (broken / "best.pt").write_bytes(b"x")
    (broken / tm.META).write_text("{not json")
    assert tm.list_tuned(tmp_path) == [kept]
    outside = tm.TunedModel("x", tmp_path / "elsewhere", "lstm_attn", "live")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(UserError, match="not one of the tuned models"):
        tm.remove(outside, tmp_path)
    assert (tmp_path / "elsewhere").exists()
    with pytest.raises(UserError, match="give the tuned model a name"):
        tm.check_name(tmp_path, "   ")


@pytest.mark.parametrize("meta,why", [
    ("[" * 5000 + "]" * 5000, "not readable JSON"),  # deeper than the parser's recursion goes
    ('{"name": "x", "architecture": "lstm_attn", "kind": "live", "pad": "' + "x" * 20_000 + '"}', "larger than"),
    ('{"name": ' + "9" * 5000 + ', "architecture": "lstm_attn", "kind": "live"}', "not readable JSON"),
    ('{"name": ["x"], "architecture": "lstm_attn", "kind": "live"}', "does not hold a name"),
    ('[1, 2]', "does not hold a name"),
])
def test_a_damaged_model_json_is_left_out_and_said(tmp_path, meta, why):
    good = tm.keep(finished_run(tmp_path), "good", tmp_path, "lstm_attn", "live")
    bad = tm.keep(finished_run(tmp_path), "bad", tmp_path, "lstm_attn", "live")
    (bad.folder / tm.META).write_text(meta)
    problems = []
    assert tm.list_tuned(tmp_path, problems) == [good]
    assert len(problems) == 1 and str(bad.folder) in problems[0] and why in problems[0]
    assert len(problems[0]) < 300


def test_a_pipe_as_model_json_is_not_read(tmp_path):
    import os

    bad = tm.keep(finished_run(tmp_path), "bad", tmp_path, "lstm_attn", "live")
    (bad.folder / tm.META).unlink()
    os.mkfifo(bad.folder / tm.META)
    problems = []
    assert tm.list_tuned(tmp_path, problems) == [] and "not a regular file" in problems[0]
