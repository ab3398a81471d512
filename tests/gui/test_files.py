"""Keeping takes from the real window: MIDI/WAV export, save and open, crash recovery, and the errors of each."""

from __future__ import annotations

import json
import wave

import pretty_midi
import pytest

from composer_app.live.engine import LiveEngine
from composer_app.live.recovery import find_recoverable_takes, load_take


def test_export_midi_writes_the_take(window, qtbot, tap, wait_settled, tmp_path):
    tap(window, "z x z space x")
    target = tmp_path / "out"  # no suffix: .mid is added
    window.files.export_midi(target)
    wait_settled(window)
    written = tmp_path / "out.mid"
    assert window.banner.level == "info" and str(written) in window.banner.message
    pm = pretty_midi.PrettyMIDI(str(written))
    notes = pm.instruments[0].notes
    take = window.engine.take
    assert [n.pitch for n in notes] == [n.pitch for n in take.notes]
    assert notes[0].start == pytest.approx(take.notes[0].start, abs=2e-3)


def test_export_to_an_unwritable_place_says_so_and_keeps_playing(window, tap, wait_settled, tmp_path):
    tap(window, "z x")
    window.files.export_midi(tmp_path / "no such folder" / "take.mid")
    wait_settled(window)
    assert window.banner.level == "error" and window.banner.isVisible()
    assert "does not exist" in window.banner.message and "Traceback" not in window.banner.message
    tap(window, "z")
    assert len(window.engine.take) == 3


def test_export_of_an_empty_take_is_refused_in_words(window, wait_settled, tmp_path):
    window.files.export_midi(tmp_path / "empty.mid")
    wait_settled(window)
    assert window.banner.level == "error" and "empty" in window.banner.message
    assert not (tmp_path / "empty.mid").exists()


def test_export_wav_renders_the_take(window, tap, wait_settled, tmp_path):
    tap(window, "z x", hold_ms=60)
    window.files.export_wav(tmp_path / "take.wav")
    wait_settled(window, 20)
    with wave.open(str(tmp_path / "take.wav")) as w:
        assert w.getnframes() > w.getframerate() * 0.1
    assert window.banner.level == "info"


def test_save_then_open_shows_the_same_take(window, qtbot, tap, wait_settled, tmp_path):
    tap(window, "z x z x")
    played = [(n.start, n.end, n.pitch) for n in window.engine.take.notes]
    window.files.save_take(tmp_path / "mine")
    wait_settled(window)
    saved = tmp_path / "mine.ectake"
    assert saved.exists() and window.banner.level == "info"
    window.playing.new_take()
    wait_settled(window)
    assert window.roll.notes == []
    window.files.open_take(saved)
    wait_settled(window)
    assert window.document is not None and window.windowTitle().endswith("mine.ectake")
    assert [(n.start, n.end, n.pitch) for n in window.document.notes] == played
    assert [n.pitch for n in window.roll.notes] == [p for *_, p in played]
    window.files.export_midi(tmp_path / "again.mid")  # export acts on the take shown
    wait_settled(window)
    assert [n.pitch for n in pretty_midi.PrettyMIDI(str(tmp_path / "again.mid")).instruments[0].notes] == \
        [p for *_, p in played]
    tap(window, "z")  # tapping starts a new live take; the opened one stays in its file
    assert window.document is None and len(window.engine.take) == 1 and len(window.roll.notes) == 1


@pytest.mark.parametrize("content", ["this is not a take", '{"header": {"format": "everybody-compose-take/1"}'])
def test_opening_a_corrupt_take_says_so(window, tap, wait_settled, tmp_path, content):
    bad = tmp_path / "bad.ectake"
    bad.write_text(content)
    window.files.open_take(bad)
    wait_settled(window)
    assert window.banner.level == "error"
    assert "could not open the take" in window.banner.message
    assert "not a take file" in window.banner.message or "corrupt" in window.banner.message
    assert window.document is None
    tap(window, "x")
    assert len(window.engine.take) == 1


def _crashed_journal(model, take_dir, taps: int = 8):
    """A journal as a killed app leaves it: no 'closed' line."""
    engine = LiveEngine(model, audio=False, take_dir=take_dir, seed=2)
    t = 10**12
    for i in range(taps):
        engine.press("key:z", t + i * 200_000_000)
        engine.release("key:z", t + i * 200_000_000 + 100_000_000)
    path = engine.take_path
    pitches = [n.pitch for n in engine.take.notes]
    lines = path.read_text()
    engine.close()
    path.write_text(lines)  # drop the closed line close() wrote
    return path, pitches


def test_a_take_left_by_a_crash_is_offered_back_and_restored(make_window, tiny_model, data_dir, wait_settled, monkeypatch):
    path, pitches = _crashed_journal(tiny_model(), data_dir / "takes")
    assert find_recoverable_takes(data_dir / "takes") == [path]
    window = make_window()
    asked = []
    monkeypatch.setattr(window.files, "ask_recovery", lambda p, n: asked.append((p, n)) or "restore")
    assert window.files.offer_recovery() == "restore"
    assert asked == [(path, 1)]
    assert window.document is not None and [n.pitch for n in window.document.notes] == pitches
    assert [n.pitch for n in window.roll.notes] == pitches
    assert window.banner.level == "info" and "restored 8 notes" in window.banner.message
    assert find_recoverable_takes(data_dir / "takes") == []  # offered once, not at every start
    assert len(load_take(path)) == 8  # and the notes are still in the file


def test_a_crashed_take_can_be_discarded(make_window, tiny_model, data_dir, monkeypatch):
    path, _ = _crashed_journal(tiny_model(), data_dir / "takes", taps=3)
    window = make_window()
    monkeypatch.setattr(window.files, "ask_recovery", lambda p, n: "discard")
    assert window.files.offer_recovery() == "discard"
    assert window.document is None and find_recoverable_takes(data_dir / "takes") == []


def test_a_damaged_crashed_take_is_restored_without_its_damaged_line(make_window, tiny_model, data_dir, monkeypatch, tap):
    path, _ = _crashed_journal(tiny_model(), data_dir / "takes", taps=3)
    lines = path.read_text().splitlines()
    lines.insert(2, "{broken")
    path.write_text("\n".join(lines) + "\n")
    window = make_window()
    monkeypatch.setattr(window.files, "ask_recovery", lambda p, n: "restore")
    window.files.offer_recovery()
    assert window.banner.level == "warning" and "restored 3 notes" in window.banner.message
    assert "line 3" in window.banner.message
    tap(window, "z")
    assert len(window.engine.take) == 1


def test_the_recovery_question_names_the_take(make_window, data_dir, qtbot, monkeypatch, tiny_model):
    from PySide6.QtWidgets import QMessageBox

    path, _ = _crashed_journal(tiny_model(), data_dir / "takes", taps=2)
    window = make_window()
    seen = {}

    def fake_exec(box):
        seen["text"] = box.text()
        seen["buttons"] = [b.text() for b in box.buttons()]
        return 0

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    assert window.files.ask_recovery(path, 1) == "later"
    assert "2 notes" in seen["text"] and path.name in seen["text"]
    assert {"Restore", "Discard"} <= set(seen["buttons"])


def test_journal_header_records_the_window_choices(window, tap):
    tap(window, "z")
    header = json.loads(window.engine.take_path.read_text().splitlines()[0])
    assert header["model"]["architecture"] == "vanilla_rnn"
