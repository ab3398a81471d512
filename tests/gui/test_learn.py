"""The "Learn from my MIDI…" dialog on the real window: a tuned model joins the model list and plays; Cancel
adds nothing; a tuned model can be removed; bad choices are said in the dialog."""

from __future__ import annotations

import itertools

import numpy as np
import pretty_midi
import pytest

import models
from composer_app.training import tuned_models


def ticking_clock():
    """One 'second' per reading: a one-minute budget ends after a few dozen batches, whatever the machine."""
    counter = itertools.count()
    return lambda: float(next(counter))


@pytest.fixture
def midi_folder(tmp_path):
    rng = np.random.default_rng(0)
    scale = [62, 64, 65, 67, 69, 71, 72, 74]
    folder = tmp_path / "my_midi"
    folder.mkdir()
    for i in range(10):
        pm = pretty_midi.PrettyMIDI(initial_tempo=120)
        inst = pretty_midi.Instrument(program=0)
        degree, t = 3, 0.0
        for _ in range(int(rng.integers(30, 60))):
            degree = int(np.clip(degree + rng.choice([-1, 1]), 0, 7))
            dur = 0.5 if degree % 2 == 0 else 0.25
            inst.notes.append(pretty_midi.Note(velocity=90, pitch=scale[degree], start=t, end=t + dur * 0.9))
            t += dur
        pm.instruments.append(inst)
        pm.write(str(folder / f"tune{i}.mid"))
    return folder


@pytest.fixture
def start_checkpoint(tiny_checkpoint):
    return tiny_checkpoint("vanilla_rnn", "live")


def open_dialog(window, folder, start, name):
    dialog = window.learn_dialog()
    dialog.folder.setText(str(folder))
    dialog.model.addItem("tiny", str(start))
    dialog.model.setCurrentIndex(dialog.model.count() - 1)
    dialog.name.setText(name)
    dialog.minutes.setValue(1)
    return dialog


def test_a_tuned_model_joins_the_list_plays_and_can_be_removed(window, qtbot, tap, midi_folder, start_checkpoint,
                                                               data_dir):
    dialog = open_dialog(window, midi_folder, start_checkpoint, "My dorian")
    dialog.start(clock=ticking_clock())
    assert dialog.running and not dialog.learn_button.isEnabled()
    tap(window, "z x z")  # playing goes on while it learns
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert "Added" in dialog.status.text(), dialog.status.text()
    assert dialog.outcome.after.nll < dialog.outcome.before.nll and "now" in dialog.numbers.text()
    [tuned] = tuned_models.list_tuned(data_dir)
    assert tuned.name == "My dorian" and tuned.card.is_file() and "My dorian (tuned)" in [
        window.model_panel.combo.itemText(i) for i in range(window.model_panel.combo.count())]
    qtbot.waitUntil(lambda: str(window.engine.model.path) == str(tuned.checkpoint), timeout=10_000)
    tap(window, "z x")
    assert len(window.engine.take) >= 2  # the tuned model plays
    assert window.model_panel.combo.currentText() == "My dorian (tuned)"
    assert not [p for p in tuned_models.models_dir(data_dir).iterdir() if p.name.startswith(".")]

    dialog.tuned.setCurrentRow(0)
    dialog.remove_selected()
    assert tuned_models.list_tuned(data_dir) == [] and not tuned.folder.exists()
    assert window.model_panel.combo.count() == len(models.ARCHITECTURES)


def test_cancel_adds_nothing(window, qtbot, midi_folder, start_checkpoint, data_dir):
    dialog = open_dialog(window, midi_folder, start_checkpoint, "Never")
    dialog.start(clock=lambda: 0.0)  # a budget that never runs out: only Cancel ends it
    qtbot.waitUntil(lambda: dialog.status.text().startswith("tuning"), timeout=30_000)  # it is learning
    dialog.cancel_or_close()
    qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)
    assert dialog.status.text() == "Cancelled: no model was added."
    assert tuned_models.list_tuned(data_dir) == []
    assert list(tuned_models.models_dir(data_dir).iterdir()) == []  # the staging folder is gone


def test_bad_choices_are_said_in_the_dialog(window, tmp_path, start_checkpoint, midi_folder):
    dialog = open_dialog(window, tmp_path / "nowhere", start_checkpoint, "X")
    dialog.start()
    assert not dialog.running and "no such folder" in dialog.status.text()
    dialog.folder.setText(str(midi_folder))
    dialog.name.setText("  ")
    dialog.start()
    assert not dialog.running and "name" in dialog.status.text()
    dialog.from_takes.setChecked(True)
    dialog.name.setText("Y")
    dialog.start()
    assert not dialog.running and "no takes" in dialog.status.text()
