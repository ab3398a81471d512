"""The straightforward per-beat step, for benchmarks only: the same weights, run the way the original's
sampler ran them — each recurrent module called on a length-one sequence (through oneDNN on CPU), and full
attention recomputed over the whole history (``attn1`` on ``[h; e_j]`` for every ``j``) at every step.

Outputs equal the fast :meth:`step` of each model (tested), so a benchmark compares like with like.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from models.full_attention import FullAttentionLSTM
from models.local_attention import LocalAttentionLSTM
from models.vanilla_rnn import VanillaRNN


def naive_start(model, batch_size: int = 1, beats=None) -> dict:
    """The state the naive steps read; offline encoders run through their modules, as the original did."""
    if model.kind == "offline" and not isinstance(model, VanillaRNN):
        start = torch.zeros(beats.shape[0], dtype=torch.long)
        with torch.no_grad():
            if isinstance(model, LocalAttentionLSTM):
                context, (h, c) = model.encoder(beats)
                return {"memory_context": context, "h": h[0], "c": c[0], "t": start}
            enc = model.encoder(beats)
        h = enc.new_zeros(beats.shape[0], model.decode_hidden_dim)
        return {"memory_enc": enc, "h": h, "c": h.clone(), "t": start}
    state = model.start(batch_size, beats=beats)
    if isinstance(model, FullAttentionLSTM) and model.kind == "live":
        state["history"] = state["eh"].new_zeros(batch_size, 0, model.encode_hidden_dim)
    return state


def _offline_step(model, state: dict, prev_pitch):
    t = int(state["t"][0])
    new = dict(state, t=state["t"] + 1)
    if isinstance(model, LocalAttentionLSTM):
        context = state["memory_context"][:, t].expand(prev_pitch.shape[0], -1)
        z = model.decoder.combine(prev_pitch, context).unsqueeze(1)
        y, (h, c) = model.decoder.rnn(z, (state["h"].unsqueeze(0), state["c"].unsqueeze(0)))
        new["h"], new["c"] = h[0], c[0]
        return model.decoder.notes_output(y[:, 0]), new
    enc = state["memory_enc"].expand(prev_pitch.shape[0], -1, -1)
    att, dec = model.decoder.attention, model.decoder
    query = state["h"].unsqueeze(1).expand(-1, enc.shape[1], -1)
    scores = att.attn2(F.leaky_relu(att.attn1(torch.cat([query, enc], dim=-1))))
    context = torch.bmm(torch.softmax(scores, dim=1).transpose(1, 2), enc)[:, 0]
    z = F.relu(dec.combine_fc(torch.cat([dec.note_embedding(prev_pitch), context], dim=-1))).unsqueeze(1)
    y, (h, c) = dec.post_attention_lstm(z, (state["h"].unsqueeze(0), state["c"].unsqueeze(0)))
    new["h"], new["c"] = h[0], c[0]
    return dec.notes_output(y[:, 0]), new


def naive_step(model, state: dict, beat, prev_pitch):
    """One beat through the modules, as the original did it."""
    if model.kind == "offline" and not isinstance(model, VanillaRNN):
        return _offline_step(model, state, prev_pitch)
    if isinstance(model, VanillaRNN):
        x = model._inputs(beat, prev_pitch).unsqueeze(1)
        y1, h1 = model.layer1(x, state["h1"].unsqueeze(0))
        y2, h2 = model.layer2(y1, state["h2"].unsqueeze(0))
        return model.notes_output(y2[:, 0]), {"h1": h1[0], "h2": h2[0]}
    if isinstance(model, LocalAttentionLSTM):
        x = model.encoder.duration_fc(beat).unsqueeze(1)
        e, (eh, ec) = model.encoder.encoder(x, (state["eh"].unsqueeze(0), state["ec"].unsqueeze(0)))
        z = model.decoder.combine(prev_pitch, e[:, 0]).unsqueeze(1)
        y, (h, c) = model.decoder.rnn(z, (state["h"].unsqueeze(0), state["c"].unsqueeze(0)))
        return model.decoder.notes_output(y[:, 0]), {"eh": eh[0], "ec": ec[0], "h": h[0], "c": c[0]}
    if isinstance(model, FullAttentionLSTM):
        x = model.encoder.fc(beat).unsqueeze(1)
        e, (eh, ec) = model.encoder.encoder_lstm(x, (state["eh"].unsqueeze(0), state["ec"].unsqueeze(0)))
        history = torch.cat([state["history"], e], dim=1)[:, -model.window:]
        att = model.decoder.attention
        query = state["h"].unsqueeze(1).expand(-1, history.shape[1], -1)
        scores = att.attn2(F.leaky_relu(att.attn1(torch.cat([query, history], dim=-1))))
        context = torch.bmm(torch.softmax(scores, dim=1).transpose(1, 2), history)[:, 0]
        dec = model.decoder
        z = F.relu(dec.combine_fc(torch.cat([dec.note_embedding(prev_pitch), context], dim=-1))).unsqueeze(1)
        y, (h, c) = dec.post_attention_lstm(z, (state["h"].unsqueeze(0), state["c"].unsqueeze(0)))
        return dec.notes_output(y[:, 0]), {"eh": eh[0], "ec": ec[0], "h": h[0], "c": c[0], "history": history}
    raise TypeError(f"no naive step for {type(model).__name__}")
