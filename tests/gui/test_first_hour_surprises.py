"""What surprised a musician in the second hour, tried as a new user would: each test plays the window as one."""

from __future__ import annotations


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
    assert contour_of([n.pitch for n in followed.notes])[1:].tolist() == asked[1:].tolist()

    shown = []

    def accept(dialog):
        shown.append(dialog.contour.currentData())
        dialog.contour.setCurrentIndex(dialog.contour.findData(1.0))
        return True

    monkeypatch.setattr(recolour_flow.RecolourDialog, "exec", accept)
    monkeypatch.setattr(window.recolouring, "start", lambda *a: shown.append(a))
    window.recolouring.dialog()
    window.recolouring.dialog()
    assert shown[0] == 0.0 and shown[1][-1] == 1.0  # off at first, then remembered
    assert shown[2] == 1.0
