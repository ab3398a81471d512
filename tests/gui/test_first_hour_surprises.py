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
