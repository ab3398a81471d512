"""What surprised a musician in the second hour, tried as a new user would: each test plays the window as one."""

from __future__ import annotations

import pytest


def test_at_first_start_the_home_row_steers_and_the_hint_says_so(window, tap):
    assert window.tempo_bar.settings().steer == 1.0
    assert "a higher key, a higher note" in window.tap.hint
    tap(window, "d d d d j j j j")
    pitches = [n.pitch for n in window.engine.take.notes]
    assert pitches[1:4] == [pitches[0]] * 3 and pitches[5:] == [pitches[4]] * 3  # same key, same note
    assert [n.direction for n in window.roll.notes] == [None, 0, 0, 0, 1, 0, 0, 0]
    assert pitches[4] > pitches[3]  # j is higher than d: the note went up


def test_at_steer_zero_the_keys_promise_nothing(window, tap, wait_settled):
    window.tempo_bar.steer.setValue(0)
    wait_settled(window)
    assert "the keys do not steer" in window.tap.hint
    tap(window, "a d s")
    assert [n.direction for n in window.roll.notes] == [None, None, None]  # no arrows drawn
    assert [n.direction for n in window.engine.take.notes] == [None, None, None]


def _recolour(window, qtbot, **options):
    window.recolouring.compare = None
    window.recolouring.start("vanilla_rnn", "default", seed=4, variations=1, **options)
    qtbot.waitUntil(lambda: window.recolouring.compare is not None, timeout=10_000)
    compare = window.recolouring.compare
    compare.keep_played.click()
    return compare.recoloured


def test_recolour_has_its_own_contour_choice_off_by_default(window, qtbot, tap, monkeypatch):
    """Steer 1 on the tempo bar no longer leaks into Recolour; the dialog's Contour does, and the header says it."""
    from composer_app.gui import recolour_flow
    from composer_app.pitches import contour_of

    tap(window, "a f l ; d d a k", hold_ms=20, gap_ms=20)
    assert window.tempo_bar.settings().steer == 1.0
    free = _recolour(window, qtbot)
    assert free.header["recoloured"]["steer"] == 0.0
    followed = _recolour(window, qtbot, contour=1.0)
    assert followed.header["recoloured"]["steer"] == 1.0
    asked = window.engine.take.asked_contour()
    pitches = [n.pitch for n in followed.notes]
    settings = window.sampling_panel.settings()
    for prev, pitch, want, got in zip(pitches, pitches[1:], asked[1:], contour_of(pitches)[1:], strict=False):
        at_edge = (want > 0 and prev == settings.high) or (want < 0 and prev == settings.low)
        assert got == want or (at_edge and pitch == prev)  # followed, or held at the edge of the range

    shown = []

    def accept(dialog):
        shown.append(dialog.contour.currentData())
        dialog.contour.setCurrentIndex(dialog.contour.findData(1.0))
        return True

    monkeypatch.setattr(recolour_flow.RecolourDialog, "exec", accept)
    monkeypatch.setattr(window.recolouring, "start", lambda *a: shown.append(a))
    window.recolouring.dialog()
    window.recolouring.dialog()
    assert shown[0] == 0.0 and shown[1][5] == 1.0  # off at first; Recolour starts with the choice ...
    assert shown[2] == 1.0  # ... and it is remembered


def test_a_played_take_keeps_its_tempo_when_a_new_bpm_is_typed(window, tap, wait_settled, tmp_path):
    import pretty_midi

    window.tempo_bar.bpm.setValue(90)
    wait_settled(window)
    tap(window, "z x z x")
    grid_before = window.roll.grid
    window.tempo_bar.bpm.setValue(140)
    window.tempo_bar.metre.setCurrentText("3/4")
    wait_settled(window)
    take = window.engine.take
    assert take.tempo_bpm == 90 and str(take.time_signature) == "4/4"
    assert (window.roll.grid.bpm, window.roll.grid.beats_per_bar) == (grid_before.bpm, 4)  # the grid stays
    assert "stays at 90 BPM 4/4" in window.banner.message and "140 BPM 3/4" in window.banner.message
    window.files.export_midi(tmp_path / "played.mid")
    wait_settled(window)
    assert pretty_midi.PrettyMIDI(str(tmp_path / "played.mid")).get_tempo_changes()[1][0] == pytest.approx(90, abs=0.01)
    window.playing.new_take()
    wait_settled(window)
    assert window.engine.take.tempo_bpm == 140 and window.roll.grid.bpm == 140
    tap(window, "z")
    assert window.engine.take.tempo_bpm == 140 and str(window.engine.take.time_signature) == "3/4"


def test_opening_a_take_shows_its_tempo_and_tapping_says_a_new_take_starts(window, tap, wait_settled, tmp_path):
    window.tempo_bar.bpm.setValue(96)
    window.tempo_bar.metre.setCurrentText("3/4")
    wait_settled(window)
    tap(window, "z x z x z")
    window.files.save_take(tmp_path / "waltz")
    wait_settled(window)
    window.tempo_bar.bpm.setValue(150)
    window.tempo_bar.metre.setCurrentText("4/4")
    window.playing.new_take()
    wait_settled(window)
    window.files.open_take(tmp_path / "waltz.ectake")
    wait_settled(window)
    bar = window.tempo_bar.settings()
    assert (bar.bpm, bar.metre) == (96, "3/4")
    assert "96 BPM 3/4" in window.banner.message and "Tapping starts a new take" in window.banner.message
    assert window.engine.take.tempo_bpm == 150  # showing a take changes nothing of the live one
    tap(window, "z")
    assert window.document is None and len(window.engine.take) == 1
    assert "A new take started at 96 BPM 3/4" in window.banner.message and "waltz.ectake (5 notes)" in \
        window.banner.message
    assert window.engine.take.tempo_bpm == 96 and str(window.engine.take.time_signature) == "3/4"


def test_opening_a_rhythm_shows_its_tempo(window, wait_settled):
    from pathlib import Path

    window.tempo_bar.bpm.setValue(77)
    wait_settled(window)
    window.files.open_rhythm(Path(__file__).resolve().parents[2] / "assets" / "rhythms" / "twinkle.npy")
    wait_settled(window)
    assert window.tempo_bar.settings().bpm == round(window.document.tempo_bpm) != 77


def _cut(window) -> list[tuple[str, int, int]]:
    """Every label, button, box and spin box of the window narrower than its text needs: (text, width, needed).
    Word-wrapped labels and :class:`ElidedLabel` (which says "…" and has the whole text as its tooltip) are
    meant to fit any width; a combo box must show its current item whole."""
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLabel, QWidget

    from composer_app.gui.elided_label import ElidedLabel

    cut = []
    for w in window.findChildren(QWidget):
        if not w.isVisibleTo(window) or isinstance(w, ElidedLabel) or (isinstance(w, QLabel) and w.wordWrap()):
            continue
        if isinstance(w, QComboBox):
            text, need = w.currentText(), w.fontMetrics().horizontalAdvance(w.currentText()) + 30
        elif isinstance(w, QLabel):
            text, need = w.text(), w.minimumSizeHint().width()
        elif isinstance(w, QAbstractButton | QAbstractSpinBox):
            text, need = (w.text(), w.sizeHint().width())
        else:
            continue
        if w.width() < need:
            cut.append((text, w.width(), need))
    return cut


@pytest.mark.parametrize("model", ["vanilla_rnn", "lstm_attn", "attention_rnn"])
def test_no_label_is_cut_and_the_side_panel_grows_with_the_window(window, qtbot, model):
    window.model_panel.combo.setCurrentIndex(window.model_panel.combo.findData(model))
    window.tempo_bar.metre.setCurrentText("6/8")  # the longest metre row: it says which note the BPM counts
    widths = []
    for size in ((1024, 600), (1280, 720), (1920, 1080)):
        window.resize(*size)
        qtbot.waitUntil(lambda size=size: window.width() == size[0])
        qtbot.wait(20)
        assert _cut(window) == [], size
        widths.append(window.side_panel.width())
    assert widths[0] <= widths[1] < widths[2]


def test_f1_lists_the_steering_keys(window):
    dialog = window.show_shortcuts()
    rows = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert "the same key for the same note" in rows["a s d f j k l ;"]
    dialog.close()


def test_learn_starts_from_the_model_playing(make_window, qtbot):
    from composer_app.checkpoints import default_checkpoint

    window = make_window(arch="lstm_attn")
    dialog = window.learn_dialog()
    assert dialog.model.currentData() == str(default_checkpoint("lstm_attn", "live"))
    dialog.close()


def test_learn_starts_from_a_checkpoint_file_playing(window, qtbot, tiny_checkpoint, wait_settled):
    path = tiny_checkpoint("attention_rnn", "live")
    window.choices.choose_model_file(path)
    qtbot.waitUntil(lambda: str(window.engine.model.path) == str(path), timeout=5000)
    dialog = window.learn_dialog()
    assert dialog.model.currentData() == str(path) and "playing now" in dialog.model.currentText()
    dialog.close()


def test_export_and_recolour_of_an_empty_take_say_so_before_any_dialog(window, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from composer_app.gui import recolour_flow

    opened = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: opened.append(a) or ("", ""))
    monkeypatch.setattr(recolour_flow.RecolourDialog, "exec", lambda self: opened.append(self) or False)
    for action in (window.act_export, window.act_export_wav, window.act_save, window.act_recolour):
        window.banner.show_message("", "info")
        action.trigger()
        assert "The take is empty: play something first" in window.banner.message, action.text()
    assert opened == []


def test_six_eight_says_which_note_the_bpm_counts(window):
    bar = window.tempo_bar
    assert not bar.counts.isVisibleTo(bar)
    bar.metre.setCurrentText("6/8")
    assert bar.counts.isVisibleTo(bar) and "♩" in bar.counts.text() and "quarter notes" in bar.counts.toolTip()


def _no_alsa_sequencer() -> bool:
    from pathlib import Path

    return not Path("/dev/snd/seq").exists()


@pytest.mark.skipif(not _no_alsa_sequencer(), reason="this machine has an ALSA sequencer")
def test_a_virtual_midi_out_without_alsa_says_what_is_missing_and_falls_back(make_window, qtbot, store):
    from composer_app.gui.midi_panel import VIRTUAL

    window = make_window(midi=True)
    window.choices.choose_midi_out(VIRTUAL, 0)
    qtbot.waitUntil(lambda: "cannot open MIDI output" in window.banner.message, timeout=10_000)
    message = window.banner.message
    assert "ALSA sequencer" in message and "modprobe snd-seq" in message and "MidiOutAlsa" not in message
    assert window.banner.level == "warning"
    assert store.get_str("midi/out", "") == "" and window.midi_panel.out.currentData() == ""  # fell back


@pytest.mark.skipif(not _no_alsa_sequencer(), reason="this machine has an ALSA sequencer")
def test_a_remembered_midi_out_that_fails_is_said_calmly_once(make_window, qtbot, store):
    from composer_app.gui.midi_panel import VIRTUAL

    store.set("midi/out", VIRTUAL)  # chosen last time, on a machine that had the sequencer
    window = make_window(midi=True)
    qtbot.waitUntil(lambda: "MIDI out is off this time" in window.banner.message, timeout=10_000)
    assert window.banner.level == "info" and "modprobe snd-seq" in window.banner.message
    assert store.get_str("midi/out", "") == ""  # the next start tries nothing, says nothing
