"""Recolour from the real window: a worker thread, progress, cancel, a compare dialog, and keeping either."""

from __future__ import annotations

import time

import pretty_midi

from composer_app.gui import recolour
from composer_app.gui.recolour import CompareDialog


def _wait_compare(qtbot, window, timeout=10_000) -> CompareDialog:
    qtbot.waitUntil(lambda: window.recolouring.compare is not None, timeout=timeout)
    return window.recolouring.compare


def test_recolour_keeps_timing_changes_pitches(window, qtbot, tap, wait_settled, source, tmp_path):
    tap(window, " ".join(["z", "x"] * 6), hold_ms=20, gap_ms=20)
    played = [(n.start, n.end, n.pitch, n.velocity) for n in window.engine.take.notes]
    window.recolouring.start("lstm_attn", "beam", seed=7)
    dialog = _wait_compare(qtbot, window)
    assert ("offline", "lstm_attn") in source.asked
    assert dialog.isVisible() and not dialog.isModal()
    assert not window.recolour_bar.isVisible()
    # listen to each version through the engine
    dialog.listen_recoloured.click()
    wait_settled(window)
    assert window.engine.replayer.running
    dialog.stop_button.click()
    wait_settled(window)
    assert not window.engine.replayer.running
    dialog.keep_recoloured.click()
    wait_settled(window)
    kept = window.document
    assert kept is not None and kept.header["recoloured"]["profile"] == "beam"
    assert [(n.start, n.end, n.velocity) for n in kept.notes] == [(s, e, v) for s, e, _, v in played]
    assert [n.pitch for n in kept.notes] != [p for _, _, p, _ in played]
    assert [n.pitch for n in window.roll.notes] == [n.pitch for n in kept.notes]
    saved = list((window.take_dir).glob("*-recoloured.ectake"))
    assert len(saved) == 1 and window.document_path == saved[0]
    window.files.export_midi(tmp_path / "recoloured.mid")
    wait_settled(window)
    assert [n.pitch for n in pretty_midi.PrettyMIDI(str(tmp_path / "recoloured.mid")).instruments[0].notes] == \
        [n.pitch for n in kept.notes]


def test_keep_played_changes_nothing(window, qtbot, tap, wait_settled):
    tap(window, "z x z")
    pitches = [n.pitch for n in window.engine.take.notes]
    window.recolouring.start("vanilla_rnn", "default", seed=1)
    dialog = _wait_compare(qtbot, window)
    dialog.keep_played.click()
    wait_settled(window)
    assert window.document is None
    assert [n.pitch for n in window.roll.notes] == pitches
    assert not list(window.take_dir.glob("*-recoloured.ectake"))


def _slow_generate(loaded, rests, durs, settings, seed=None, progress=None, contour=None, fixed=None):
    import numpy as np

    for i in range(len(rests)):
        time.sleep(0.05)
        if progress is not None:
            progress(i + 1, len(rests))
    return np.full(len(rests), 60)


def _slow_variations(loaded, rests, durs, settings, count, seed=None, progress=None, contour=None, fixed=None):
    return [_slow_generate(loaded, rests, durs, settings, seed, progress, contour)] * count


def test_recolour_runs_beside_playing_and_can_be_cancelled(window, qtbot, tap, wait_settled, monkeypatch):
    monkeypatch.setattr(recolour, "generate", _slow_generate)
    monkeypatch.setattr(recolour, "generate_variations", _slow_variations)
    tap(window, " ".join(["z"] * 40), hold_ms=1, gap_ms=1)
    window.recolouring.start("vanilla_rnn", "default")
    qtbot.waitUntil(lambda: window.recolouring.worker is not None and window.recolour_bar.progress.value() > 0)
    assert window.recolour_bar.isVisible()
    tap(window, "x z")  # the window keeps playing while the worker runs
    assert len(window.engine.take) == 42
    assert window.recolouring.worker is not None
    window.recolouring.cancel()
    qtbot.waitUntil(lambda: window.recolouring.worker is None)
    assert window.banner.message == "recolour cancelled" and not window.recolour_bar.isVisible()
    assert window.recolouring.compare is None


def test_recolour_of_an_empty_take_says_why(window, qtbot, wait_settled):
    window.recolouring.start("vanilla_rnn", "default")
    wait_settled(window)
    qtbot.waitUntil(lambda: window.banner.level == "error")
    assert "empty" in window.banner.message and window.recolouring.compare is None


def test_a_demo_rhythm_opens_and_recolours_into_a_melody(window, qtbot, wait_settled):
    from pathlib import Path

    import numpy as np

    rhythm = Path(__file__).resolve().parents[2] / "assets" / "rhythms" / "twinkle.npy"
    window.files.open_rhythm(rhythm)
    wait_settled(window)
    take = window.document
    assert take is not None and len(take) == len(np.load(rhythm)) == 28
    assert {n.pitch for n in take.notes} == {60} and "rhythm twinkle.npy" in window.windowTitle()
    window.recolouring.start("vanilla_rnn", "default", seed=2)
    dialog = _wait_compare(qtbot, window)
    dialog.keep_recoloured.click()
    wait_settled(window)
    assert len({n.pitch for n in window.document.notes}) > 1
    assert [n.start for n in window.document.notes] == [n.start for n in take.notes]
    assert "rhythm" not in window.windowTitle()  # the kept recolouring has a name of its own
    window.playing.undo()  # the rhythm comes back, named again (the title is made from what is shown)
    assert {n.pitch for n in window.document.notes} == {60}
    assert window.windowTitle().endswith(" — rhythm twinkle.npy")


def _recolour_pitches(window, qtbot, wait_settled, contour: float = 0.0) -> list[int]:
    window.recolouring.start("vanilla_rnn", "default", seed=3, keep_locks=False, contour=contour)
    dialog = _wait_compare(qtbot, window)
    pitches = [n.pitch for n in dialog.recoloured.notes]
    steer = dialog.recoloured.header["recoloured"]["steer"]
    dialog.keep_played.click()
    wait_settled(window)
    return pitches, steer


def test_recolour_is_steered_along_the_keys(window, qtbot, tap, wait_settled):
    tap(window, "a s d f j k l ; a s d f j k l ;", hold_ms=10, gap_ms=10)  # up, up, ... (then down once)
    free, steer = _recolour_pitches(window, qtbot, wait_settled)
    assert steer == 0.0  # the tempo bar's Steer (1 at first start) is for playing, not for Recolour
    steered, steer = _recolour_pitches(window, qtbot, wait_settled, contour=1.0)  # the dialog's own Contour
    assert steer == 1.0

    asked = window.engine.take.asked_contour()[1:]
    high, low = window.sampling_panel.settings().high, window.sampling_panel.settings().low

    def followed(pitches):  # moves that go the asked way, or hold the range's edge when it cannot
        return sum((b - a) * want > 0 or (b == a and (want == 0 or a == (high if want > 0 else low)))
                   for a, b, want in zip(pitches, pitches[1:], asked, strict=False))

    assert followed(steered) == len(asked) and followed(free) < len(asked), (free, steered)


def test_recolour_offers_variations_to_audition_and_keeps_the_one_chosen(window, qtbot, tap, wait_settled):
    tap(window, " ".join(["z", "x"] * 12), hold_ms=10, gap_ms=10)
    played = [n.pitch for n in window.engine.take.notes]
    window.recolouring.start("lstm_attn", "default", seed=5, variations=4)
    dialog = _wait_compare(qtbot, window)
    assert len(dialog.variations) == 4 and dialog.variation.isVisible()
    lines = [[n.pitch for n in take.notes] for take in dialog.variations]
    assert len({tuple(line) for line in lines}) == 4  # four different melodies
    for take in dialog.variations:  # each keeps the rhythm played
        assert [(n.start, n.end) for n in take.notes] == [(n.start, n.end) for n in window.engine.take.notes]
    dialog._audition(2)  # key 4: variation 3, shown and played
    wait_settled(window)
    assert dialog.variation.currentIndex() == 2 and window.engine.replayer.running
    assert [n.pitch for n in dialog.recoloured_view.roll.notes] == lines[2]
    assert "variation 3 of 4" in dialog.recoloured_label.text() and dialog.keep_recoloured.text() == "Keep variation 3"
    dialog.keep_recoloured.click()
    wait_settled(window)
    kept = window.document
    assert [n.pitch for n in kept.notes] == lines[2] != played
    assert kept.header["recoloured"]["variation"] == 3


def test_recolour_a_selection_around_locked_notes_then_undo(window, qtbot, tap, wait_settled):
    tap(window, " ".join(["z", "x"] * 10), hold_ms=10, gap_ms=10)
    wait_settled(window)
    played = [n.pitch for n in window.engine.take.notes]
    roll = window.roll
    notes = roll.notes
    roll.select_range(notes[6].start, notes[13].start)  # notes 7-14
    roll.toggle_locks([notes[9]])  # note 10 stays whatever happens
    assert [n.index for n in roll.selected_notes()] == list(range(6, 14))
    window.recolouring.start("lstm_attn", "default", seed=3, variations=3)
    dialog = _wait_compare(qtbot, window)
    for take in dialog.variations:
        pitches = [n.pitch for n in take.notes]
        assert pitches[:6] == played[:6] and pitches[14:] == played[14:]  # outside the selection: untouched
        assert pitches[9] == played[9] and take.notes[9].locked
        assert take.header["recoloured"]["only"] == [7, 14] and take.header["recoloured"]["locked"] == [10]
    assert any([n.pitch for n in t.notes][6:14] != played[6:14] for t in dialog.variations)
    assert "notes" in dialog.recoloured_label.text() and dialog.recoloured_view.roll.selected_notes()
    dialog._audition(1)
    kept_pitches = [n.pitch for n in dialog.recoloured.notes]
    dialog.keep_recoloured.click()
    wait_settled(window)
    assert [n.pitch for n in window.document.notes] == kept_pitches
    assert window.roll.notes[9].locked  # the lock is drawn on the kept take too
    window.playing.undo()  # one step back: the line as it was played
    assert [n.pitch for n in window.roll.notes] == played
    assert "before the recolouring" in window.banner.message


def test_recolouring_only_locked_notes_says_why(window, qtbot, tap, wait_settled):
    tap(window, "z x z x", hold_ms=10, gap_ms=10)
    wait_settled(window)
    roll = window.roll
    roll.select_range(roll.notes[1].start, roll.notes[2].start)
    roll.toggle_locks()
    window.recolouring.start("vanilla_rnn", "default", seed=1)
    qtbot.waitUntil(lambda: window.banner.level == "error")
    assert "locked" in window.banner.message and window.recolouring.compare is None
