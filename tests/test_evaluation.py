"""Scoring: the whole-sequence forward and the per-beat generation path agree, and `evaluate` scores MIDI files
either way."""

import json

import numpy as np
import pretty_midi
import pytest
import torch

from composer_app.checkpoints import default_checkpoint, load_checkpoint
from composer_app.cli import main
from composer_app.evaluation import score_model, score_sessions
from composer_app.notes import Notes


def melodies(count=3, length=40, seed=0):
    """(start, end, pitch) melodies: stepwise lines with varied note lengths and rests."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        durs = rng.choice([0.25, 0.5, 0.75], length)
        rests = rng.choice([0.0, 0.0, 0.25], length)
        starts = np.cumsum(rests + np.concatenate([[0], durs[:-1]]))
        pitches = 60 + np.cumsum(rng.choice([-2, -1, 1, 2], length)).clip(-12, 12)
        out.append(Notes(starts, starts + durs, pitches))
    return out


@pytest.mark.parametrize("arch", ["vanilla_rnn", "lstm_attn", "attention_rnn"])
def test_per_beat_scores_equal_whole_sequence_scores(tiny_model, arch):
    loaded = tiny_model(arch, "offline")
    whole, per_beat = score_model(loaded, melodies()), score_sessions(loaded, melodies())
    assert whole.notes == per_beat.notes == 120
    assert per_beat.nll == pytest.approx(whole.nll, abs=1e-4)
    assert per_beat.accuracy == pytest.approx(whole.accuracy, abs=1e-9)


def test_the_shipped_model_scores_the_same_per_beat_as_whole():
    loaded = load_checkpoint(default_checkpoint("lstm_attn", "offline"))
    per_beat, whole = score_sessions(loaded, melodies(count=4)), score_model(loaded, melodies(count=4))
    assert per_beat.nll == pytest.approx(whole.nll, abs=1e-4) and per_beat.notes == whole.notes == 160


def test_evaluate_command_scores_midi_files_both_ways(tmp_path, capsys):
    for i, melody in enumerate(melodies(count=2)):
        pm = pretty_midi.PrettyMIDI()
        piano = pretty_midi.Instrument(0)
        piano.notes = [pretty_midi.Note(90, int(p), s, e) for s, e, p in melody.rows()]
        pm.instruments.append(piano)
        pm.write(str(tmp_path / f"m{i}.mid"))
    results = {}
    for flags in ([], ["--as-generated"]):
        assert main(["evaluate", str(default_checkpoint("lstm_attn")), str(tmp_path), "--json", *flags]) == 0
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert result["files"] == 2 and result["notes"] == 80
        results[result["scored_as"]] = result["nll"]
    assert set(results) == {"whole sequence", "per beat"}
    assert results["per beat"] == pytest.approx(results["whole sequence"], abs=1e-3)


def write_midi_files(folder, melodies_):
    folder.mkdir(exist_ok=True)
    for i, melody in enumerate(melodies_):
        pm = pretty_midi.PrettyMIDI()
        piano = pretty_midi.Instrument(0)
        piano.notes = [pretty_midi.Note(90, int(p), s, e) for s, e, p in melody.rows()]
        pm.instruments.append(piano)
        pm.write(str(folder / f"m{i}.mid"))
    return folder


def repetitive(count=2, length=48):
    """Melodies that play one 8-note motif over and over: the short-term model should learn them fast."""
    motif = [60, 62, 64, 65, 67, 65, 64, 62]
    return [Notes.from_rows([[0.3 * j, 0.3 * j + 0.25, motif[j % 8] + 2 * k] for j in range(length)])
            for k in range(count)]


def test_the_mix_with_the_short_term_model_is_the_models_distribution_mixed_note_by_note(tiny_model):
    from composer_app import short_term as stm
    from composer_app.evaluation import score, short_term_scores

    loaded = tiny_model("lstm_attn", "offline")
    tunes = repetitive()
    out = score(loaded, tunes, short_term=True)
    nll = correct = 0.0
    for tune in tunes:
        beats, prev, target = loaded.melody_inputs(tune)
        with torch.no_grad():
            p_model = torch.softmax(loaded.model(beats, prev)[0].double(), -1).numpy()
        pitches = target[0].numpy()
        p_stm, longest = stm.predictions(pitches)
        mixed = (1 - stm.mix_weight(longest)[:, None]) * p_model + stm.mix_weight(longest)[:, None] * p_stm
        nll -= np.log(mixed[np.arange(len(pitches)), pitches]).sum()
        correct += (mixed.argmax(1) == pitches).sum()
    assert out["with_short_term"].notes == out["model"].notes == 96
    assert out["with_short_term"].nll == pytest.approx(nll / 96)
    assert out["with_short_term"].accuracy == pytest.approx(correct / 96)
    # An untrained model knows nothing; the memory of the motif takes most of the loss away.
    assert out["with_short_term"].nll < out["model"].nll - 1.0
    alone = short_term_scores(tunes)
    assert alone.notes == 96 and alone.nll < out["model"].nll


# vanilla_rnn with the melody memory, whose outputs are log-probabilities
@pytest.mark.parametrize("arch,memory", [("lstm_attn", False), ("attention_rnn", False), ("vanilla_rnn", True)])
def test_long_melodies_are_scored_per_beat_with_the_same_numbers(tiny_model, arch, memory, monkeypatch):
    import models.fast
    from composer_app import evaluation

    loaded = tiny_model(arch, "offline", memory=memory)
    whole = evaluation.score_model(loaded, melodies())
    sessions = []
    real_session_for = models.fast.session_for
    monkeypatch.setattr(models.fast, "session_for", lambda *a, **k: sessions.append(1) or real_session_for(*a, **k))
    monkeypatch.setattr(evaluation, "LONG_MELODY", 39)  # each of the 40-note melodies counts as long
    long = evaluation.score_model(loaded, melodies())
    assert len(sessions) == 3
    assert long.notes == whole.notes and long.nll == pytest.approx(whole.nll, abs=1e-4)
    assert long.accuracy == whole.accuracy


def test_evaluate_scores_several_checkpoints_side_by_side(tmp_path, capsys):
    folder = write_midi_files(tmp_path / "tunes", melodies(count=2))
    offline, live = str(default_checkpoint("lstm_attn")), str(default_checkpoint("vanilla_rnn", "live"))
    assert main(["evaluate", live, str(folder), "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert main(["evaluate", offline, str(folder), live, "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert [m["checkpoint"] for m in both["models"]] == [offline, live]
    assert [m["kind"] for m in both["models"]] == ["offline", "live"]
    # The first checkpoint's numbers stay at the top level, as when evaluate took one checkpoint.
    assert both["checkpoint"] == offline and both["nll"] == both["models"][0]["nll"] and both["notes"] == 80
    assert both["models"][1]["nll"] == pytest.approx(alone["nll"], abs=1e-9)
    assert both["models"][0]["nll"] != both["models"][1]["nll"]
    assert main(["evaluate", offline, str(folder), live]) == 0
    table = capsys.readouterr().out
    assert "lstm_attn_offline.pt" in table and "vanilla_rnn_live.pt" in table and "NLL" in table


def test_evaluate_without_a_checkpoint_scores_with_the_shipped_default(tmp_path, capsys):
    folder = write_midi_files(tmp_path / "tunes", melodies(count=1))
    assert main(["evaluate", str(folder / "m0.mid"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["checkpoint"] == str(default_checkpoint("lstm_attn")) and result["notes"] == 40


def test_evaluate_baselines_report_the_short_term_model_alone_and_mixed(tmp_path, capsys, monkeypatch):
    import composer_app.data.corpus as corpus
    from composer_app.evaluation import short_term_scores

    train = [corpus.Melody(f"t{i}", "test", m) for i, m in enumerate(melodies(count=5, seed=1))]
    monkeypatch.setattr(corpus, "load_melodies", lambda split, **_: train)  # no prepared corpus needed
    tunes = repetitive()
    folder = write_midi_files(tmp_path / "tunes", tunes)
    assert main(["evaluate", str(default_checkpoint("lstm_attn")), str(folder), "--baselines", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    base = result["baselines"]
    assert set(base) == {"short_term", "with_short_term", "repeat", "most_frequent", "unigram", "bigram"}
    assert base["short_term"]["nll"] == pytest.approx(short_term_scores(tunes).nll, abs=1e-9)
    assert base["with_short_term"] == result["models"][0]["with_short_term"]
    assert base["with_short_term"]["nll"] < result["nll"]  # a motif played over and over: memory helps


def test_evaluate_tells_a_missing_input_clearly(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing_here")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.pt"), str(tmp_path)]) == 2
    assert "missing.pt" in capsys.readouterr().err
