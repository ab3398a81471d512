"""A melody memory or attention window that cannot work is refused when the model is built, in words, before any
note divides by its size."""

from __future__ import annotations

import pytest

import models


@pytest.mark.parametrize("window", [0, -3])
def test_a_memory_window_below_one_is_refused(window):
    memory = {"key_dim": 4, "pitch_dim": 2, "context": 2, "window": window}
    with pytest.raises(ValueError, match=f"window {window}"):
        models.build("vanilla_rnn", kind="live", embed_size=4, hidden_dim=4, memory=memory)
    assert models.build("vanilla_rnn", kind="live", embed_size=4, hidden_dim=4,
                        memory={**memory, "window": 1}).memory.window == 1


def test_an_attention_window_below_one_is_refused():
    with pytest.raises(ValueError, match="window 0"):
        models.build("attention_rnn", kind="live", embed_dim=4, encode_hidden_dim=4, decode_hidden_dim=4, window=0)
