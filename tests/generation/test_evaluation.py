"""Scoring: the whole-sequence forward and the per-beat generation path agree, int8 scores within a hair of
exact on a shipped model, and `evaluate` scores MIDI files either way."""

import json

import numpy as np
import pretty_midi
import pytest

from composer_app.checkpoints import default_checkpoint, load_checkpoint
from composer_app.cli import main
from composer_app.evaluation import score_model, score_sessions

from .test_sampling import tiny


def melodies(count=3, length=40, seed=0):
    """(start, end, pitch) melodies: stepwise lines with varied note lengths and rests."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        durs = rng.choice([0.25, 0.5, 0.75], length)
        rests = rng.choice([0.0, 0.0, 0.25], length)
        starts = np.cumsum(rests + np.concatenate([[0], durs[:-1]]))
        pitches = 60 + np.cumsum(rng.choice([-2, -1, 1, 2], length)).clip(-12, 12)
        out.append(np.stack([starts, starts + durs, pitches], 1))
    return out


@pytest.mark.parametrize("arch", ["vanilla_rnn", "lstm_attn", "attention_rnn"])
def test_per_beat_scores_equal_whole_sequence_scores(arch):
    loaded = tiny(arch)
    whole, per_beat = score_model(loaded, melodies()), score_sessions(loaded, melodies())
    assert whole.notes == per_beat.notes == 120
    assert per_beat.nll == pytest.approx(whole.nll, abs=1e-4)
    assert per_beat.accuracy == pytest.approx(whole.accuracy, abs=1e-9)


def test_int8_scores_like_exact_on_the_shipped_model():
    loaded = load_checkpoint(default_checkpoint("lstm_attn", "offline"))
    exact, int8 = score_sessions(loaded, melodies(count=4)), score_sessions(loaded, melodies(count=4), int8=True)
    assert exact.nll != int8.nll  # another arithmetic...
    assert int8.nll == pytest.approx(exact.nll, abs=0.01)  # ...that scores the same to 1e-2 nats a note
    assert exact.nll == pytest.approx(score_model(loaded, melodies(count=4)).nll, abs=1e-4)


def test_evaluate_command_scores_midi_files_both_ways(tmp_path, capsys):
    for i, melody in enumerate(melodies(count=2)):
        pm = pretty_midi.PrettyMIDI()
        piano = pretty_midi.Instrument(0)
        piano.notes = [pretty_midi.Note(90, int(p), s, e) for s, e, p in melody]
        pm.instruments.append(piano)
        pm.write(str(tmp_path / f"m{i}.mid"))
    results = {}
    for flags in ([], ["--as-generated", "exact"], ["--as-generated", "int8"]):
        assert main(["evaluate", str(default_checkpoint("lstm_attn")), str(tmp_path), "--json", *flags]) == 0
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert result["files"] == 2 and result["notes"] == 80
        results[result["scored_as"]] = result["nll"]
    assert set(results) == {"whole sequence", "per beat, exact", "per beat, int8"}
    assert results["per beat, exact"] == pytest.approx(results["whole sequence"], abs=1e-3)
    assert results["per beat, int8"] == pytest.approx(results["per beat, exact"], abs=0.02)
