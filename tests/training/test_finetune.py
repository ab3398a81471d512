"""Fine-tuning a checkpoint on a folder of the user's MIDI: same model, split by file, never worse on the
held-out files, a model card, a clear refusal of too little music, cancel, and the command line."""

import csv
import hashlib
import threading

import numpy as np
import pretty_midi
import pytest
import torch

from composer_app.checkpoints import load_checkpoint, read_payload, save_checkpoint
from composer_app.cli import main
from composer_app.training.finetune import (
    MIN_NOTES,
    Cancelled,
    NotEnoughMusic,
    finetune,
    midi_files,
    read_material,
)


def no_time_passes() -> float:
    """A clock for runs bounded by ``max_epochs`` alone."""
    return 0.0


def write_midi(path, notes):
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=0)
    for start, end, pitch in notes:
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=int(pitch), start=float(start), end=float(end)))
    pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))


def tune_notes(rng, length):
    """A simple style: stepwise motion in D dorian, long notes on the even degrees."""
    scale = [62, 64, 65, 67, 69, 71, 72, 74]
    degree, t, out = 3, 0.0, []
    for _ in range(length):
        degree = int(np.clip(degree + rng.choice([-1, 1]), 0, len(scale) - 1))
        dur = 0.5 if degree % 2 == 0 else 0.25
        out.append((t, t + dur * 0.9, scale[degree]))
        t += dur
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Twelve files of one style (about 500 notes), of varied lengths."""
    root = tmp_path_factory.mktemp("my_midi")
    rng = np.random.default_rng(0)
    for i in range(12):
        write_midi(root / f"tune{i:02d}.mid", tune_notes(rng, int(rng.integers(25, 60))))
    return root


@pytest.fixture
def start(tmp_path_factory, tiny_model):
    """A small untrained live model saved as one of our checkpoints."""
    loaded = tiny_model("vanilla_rnn", "live", dropout=0.0)
    path = tmp_path_factory.mktemp("start") / "start.pt"
    save_checkpoint(path, loaded.model, "vanilla_rnn", "live", loaded.features, training={"recipe": "ours"})
    return path


def run(start, folder, out, minutes=1.0, **kw):
    kw.setdefault("clock", no_time_passes)
    kw.setdefault("max_epochs", 3)
    kw.setdefault("recipe", {"lr": 0.01, "warmup_steps": 0})
    return finetune(start, midi_files(folder), minutes, out, **kw)


def test_tunes_the_same_model_and_writes_card_and_curves(start, folder, tmp_path):
    seen = []
    result = run(start, folder, tmp_path / "run", progress=seen.append)
    assert result.after.nll < result.before.nll - 0.3  # an untrained model learns the style quickly
    tuned, original = read_payload(result.best_path), read_payload(start)
    assert (tuned["architecture"], tuned["kind"], tuned["config"], tuned["features"]) == (
        original["architecture"], original["kind"], original["config"], original["features"])
    assert load_checkpoint(result.best_path).metrics["valid"]["nll"] == pytest.approx(result.after.nll)
    assert tuned["training"]["finetuned_from"]["sha256"] == hashlib.sha256(start.read_bytes()).hexdigest()
    rows = list(csv.DictReader(open(tmp_path / "run" / "curves.csv")))
    assert float(rows[0]["epoch"]) == 0 and float(rows[0]["valid_nll"]) == pytest.approx(result.before.nll)
    assert float(rows[-1]["epoch"]) == pytest.approx(3.0) and (tmp_path / "run" / "curves.png").is_file()
    card = result.card_path.read_text()
    material = result.material
    assert len(material.used) == 12 and material.held_out and not {f.path for f in material.held_out} & {
        f.path for f in material.tuning}
    prints = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir())
    assert material.fingerprint == hashlib.sha256("\n".join(prints).encode()).hexdigest()
    for text in ("start.pt", material.fingerprint, "12 MIDI files", f"{material.notes} notes",
                 f"{result.before.nll:.3f}", f"{result.after.nll:.3f}"):
        assert text in card
    phases = [p.phase for p in seen]
    assert phases[0] == "reading" and "tuning" in phases and phases[-1] == "done"
    assert all(0 <= p.fraction <= 1 for p in seen) and seen[-1].fraction == 1


def test_never_worse_than_the_start_on_the_held_out_files(start, folder, tmp_path):
    result = run(start, folder, tmp_path / "run", recipe={"lr": 50.0, "warmup_steps": 0, "clip_value": 0},
                 max_epochs=2)
    assert not any(r["valid_nll"] < result.before.nll for r in result.history[1:])  # tuning only made it worse
    assert result.after == result.before
    kept, original = read_payload(result.best_path)["state_dict"], read_payload(start)["state_dict"]
    assert all(torch.equal(kept[k], original[k]) for k in original)
    assert "the starting weights" in result.card_path.read_text()


def test_split_is_by_file_content_whatever_the_order_or_names(folder, tmp_path):
    files = midi_files(folder)
    a = read_material(files)
    b = read_material(list(reversed(files)))
    assert [f.sha256 for f in a.held_out] == [f.sha256 for f in b.held_out]
    assert 1 <= len(a.held_out) < len(files) and sum(len(f.notes) for f in a.held_out) >= a.notes / 10
    copy = tmp_path / "renamed_copy.mid"
    copy.write_bytes(files[0].read_bytes())
    c = read_material([*files, copy])
    assert len(c.used) == 12 and c.skipped[0].skipped == "same content as another file"


def test_too_little_music_is_refused_before_anything_is_written(start, tmp_path):
    rng = np.random.default_rng(1)
    small = tmp_path / "small"
    for i in range(3):
        write_midi(small / f"t{i}.mid", tune_notes(rng, 40))
    (small / "broken.mid").write_bytes(b"not midi")
    with pytest.raises(NotEnoughMusic, match=f"120 notes in 3 usable MIDI files.*at least {MIN_NOTES} notes"):
        finetune(start, midi_files(small), 1.0, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_cancel_stops_within_a_batch(start, folder, tmp_path):
    cancel = threading.Event()
    steps = []

    def progress(p):
        if p.phase == "tuning":
            steps.append(p)
            cancel.set()

    with pytest.raises(Cancelled):
        run(start, folder, tmp_path / "run", progress=progress, cancel=cancel, max_epochs=1000)
    assert len(steps) == 1


def test_time_budget_ends_the_run(start, folder, tmp_path):
    ticks = iter(range(10_000))
    result = run(start, folder, tmp_path / "run", minutes=0.25, clock=lambda: float(next(ticks)), max_epochs=1000)
    # one tick a clock reading, a budget of 15 ticks: the run stops after a dozen batches or so
    assert 0 < result.steps < 15 and result.seconds >= 15


def test_command_line(start, folder, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "--from", str(start), "--midi-dir", str(folder), "--time-limit", "0.02", "-n", "2",
               "--out", str(out), "--set", "lr=0.01", "-d", "cpu"])
    assert rc == 0
    said = capsys.readouterr().out
    assert "held-out files" in said and (out / "best.pt").is_file() and (out / "card.md").is_file()
    assert main(["train", "--from", str(start), "--midi-dir", str(folder), "-m", "lstm_attn"]) == 2
    assert "holds a vanilla_rnn model" in capsys.readouterr().err
    assert main(["train", "--from", str(start), "--midi-dir", str(folder), "--set", "learning_rate=1"]) == 2
    assert "learning_rate" in capsys.readouterr().err
    assert main(["train", "--from", str(start)]) == 2
    assert "--midi-dir" in capsys.readouterr().err


def test_the_apps_takes_are_material_too(tmp_path):
    """Saved takes and take journals count like MIDI files; a damaged take is skipped, named as such."""
    from composer_app.take import Take, TakeNote, save_take
    from composer_app.training.finetune import take_files

    rng = np.random.default_rng(2)
    takes = tmp_path / "takes"
    takes.mkdir()
    for i in range(8):
        notes = [TakeNote(k, float(s), int(p), 90, end=float(e))
                 for k, (s, e, p) in enumerate(tune_notes(rng, 45))]
        save_take(Take(header={"format": "everybody-compose-take/1"}, notes=notes), takes / f"take{i}.ectake")
    (takes / "broken.ectake").write_text("{not json")
    (takes / "notes.txt").write_text("not a take")
    material = read_material(take_files(takes))
    assert len(material.used) == 8 and material.notes == 8 * 45
    assert [f.skipped for f in material.skipped] == ["unreadable take"]
    assert material.skipped[0].detail  # what was wrong with this file travels beside the reason
