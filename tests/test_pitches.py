"""Hint notes from the command line, a profile or the settings: any text gives a note or a plain-words error."""

from __future__ import annotations

import pytest

from composer_app.errors import UserError
from composer_app.pitches import parse_hint


def test_degrees_and_names_are_notes():
    assert [parse_hint(h) for h in ("1", "3", "b3", "8", "E4")] == [60, 64, 63, 72, 64]


@pytest.mark.parametrize("text", ["1" * 5000, "#" + "9" * 5000, "1000"])
def test_a_number_of_many_digits_is_said_to_be_no_note(text):
    with pytest.raises(UserError, match="not a hint note") as caught:
        parse_hint(text)
    assert len(str(caught.value)) < 200  # the 5,000 digits are not echoed back
