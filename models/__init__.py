"""The three architectures of the original everybody-compose project, each in an offline and a live kind.

Model code here knows nothing of the application: no Qt, no audio, no files beyond tensors.
"""

from models.full_attention import FullAttentionLSTM
from models.local_attention import LocalAttentionLSTM
from models.vanilla_rnn import VanillaRNN

ARCHITECTURES = {
    "vanilla_rnn": VanillaRNN,
    "lstm_attn": LocalAttentionLSTM,
    "attention_rnn": FullAttentionLSTM,
}

LABELS = {
    "vanilla_rnn": "Decoder-only Vanilla RNN",
    "lstm_attn": "LSTM with Local Attention",
    "attention_rnn": "LSTM with Full Attention",
}


def build(name: str, **config):
    """Instantiate architecture ``name`` from a config dict (as stored in a checkpoint)."""
    try:
        cls = ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}") from None
    return cls(**config)


__all__ = ["ARCHITECTURES", "LABELS", "FullAttentionLSTM", "LocalAttentionLSTM", "VanillaRNN", "build"]
