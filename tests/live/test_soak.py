"""Soak: thousands of random presses and releases through the engine and the real synth.

Overlaps (legato), auto-repeats, bursts, chords, long pauses, velocity-0 note-offs, all three tap keys and a
range of MIDI notes, with the odd undo, settings change and stop. Checked at every event: never more than the
one model note sounding. At the end: nothing sounding and the audio decays to silence, memory growth bounded
by the take itself, every beat stepped once, the journal on disk equal to the take in memory. Whether a step
costs more late in a take is a figure, not asserted here: ``everybody-compose bench step --take``.
"""

from __future__ import annotations

import ctypes
import gc
import os
import time
import tracemalloc

import numpy as np
import pytest

from composer_app.live.beat_capture import key_source, midi_source
from composer_app.live.engine import LiveEngine
from composer_app.live.live_models import untrained_live_model
from composer_app.live.recovery import load_take
from composer_app.live.synth import SILENCE_PEAK, Synth
from composer_app.sampling import SamplingSettings

MS = 1_000_000
SOURCES = [key_source(k) for k in ("z", "x", "space")] + [midi_source(n) for n in range(48, 73, 3)]
#: Python memory a note may cost in the take (a TakeNote and its list slot, measured ~0.6 KB) with margin.
PER_NOTE_BYTES = 1500
ORGAN = 16  # GM "Drawbar Organ"





def rss_bytes() -> int:
    """Resident memory after handing freed heap back to the OS (glibc), so it tracks live memory."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _memory() -> tuple[int, int]:
    gc.collect()
    return (tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0), rss_bytes()


def soak(loaded, beats: int, tmp_path, seed: int = 0, trace: bool = True) -> dict:
    """Random play; ``trace``: measure Python heap growth with tracemalloc (which inflates RSS), else RSS
    after returning freed memory to the OS."""
    rng = np.random.default_rng(seed)
    # An organ: it sounds as long as a key is held (a lost note-off would ring on, unlike a piano that fades)
    # and it stops ~0.2 s after release, so the 128 frames rendered per event keep few voices alive.
    eng = LiveEngine(loaded, audio=False, take_dir=tmp_path, seed=seed, synth=Synth(program=ORGAN))
    synth = eng.synth
    steps = np.zeros(beats + 10, dtype=np.int64)
    started = [0]

    def on_start(ev):
        steps[started[0]] = ev.timing.step_ns
        started[0] += 1

    eng.note_started.connect(on_start)
    held: list = []
    t = time.perf_counter_ns()
    warm = max(beats // 10, 400)
    mem0 = rss0 = notes0 = None
    events = 0
    if trace:
        tracemalloc.start()  # from the start, so every step pays the same tracing overhead
    while started[0] < beats:
        r = rng.random()
        t += int((rng.uniform(2, 15) if r < 0.3 else rng.uniform(40, 400) if r < 0.97 else rng.uniform(1000, 8000)) * MS)
        action = rng.random()
        if held and action < 0.45:
            src = held.pop(rng.integers(len(held)))
            if src.startswith("midi:") and rng.random() < 0.5:
                eng.midi_note("on", int(src[5:]), 0, t)  # velocity-0 note-on = note-off
            else:
                eng.release(src, t)
        elif held and action < 0.55:
            eng.press(held[rng.integers(len(held))], t)  # auto-repeat / duplicate of a held key
        elif action < 0.995:
            src = SOURCES[rng.integers(len(SOURCES))]
            if src not in held:
                held.append(src)
            eng.press(src, t, int(rng.integers(1, 128)) if src.startswith("midi:") else None)
        elif action < 0.997:
            eng.undo()
        elif action < 0.999:
            eng.set_settings(SamplingSettings(temperature=float(rng.uniform(0.5, 1.5)), top_k=int(rng.integers(1, 8))))
        else:
            eng.stop()
        events += 1
        sounding = synth.sounding_notes
        last = eng.take.notes[-1] if eng.take.notes else None
        expected = {last.pitch} if last is not None and last.end is None else set()
        assert sounding == expected, (events, sounding, expected)
        synth.render(128)
        if mem0 is None and started[0] >= warm:
            (mem0, rss0), notes0 = _memory(), len(eng.take)
    (mem1, rss1), notes1 = _memory(), len(eng.take)
    tracemalloc.stop()
    eng.stop()
    after_stop = synth.sounding_notes
    synth.render_seconds(2.0)  # release tails and reverb
    tail_peak = int(np.abs(synth.render_seconds(0.2).astype(np.int32)).max())
    for _ in range(40):  # quiet piano tails stay voices (inaudible) for a few seconds more: they must end
        if synth.active_voices() == 0:
            break
        synth.render_seconds(0.25)
    voices = synth.active_voices()
    take = eng.take
    melody = eng.to_melody()
    path = eng.take_path
    eng.close()
    return {"steps": steps[:started[0]], "after_stop": after_stop, "tail_peak": tail_peak, "voices": voices,
            "mem_growth": mem1 - mem0, "rss_growth": rss1 - rss0, "notes_added": notes1 - notes0,
            "take": take, "melody": melody, "path": path, "events": events}


def check(result: dict, rss_slack: int | None) -> None:
    """``rss_slack``: allowed growth of resident memory beyond the take's own (None: not checked, because
    tracemalloc's own bookkeeping grows it)."""
    assert result["after_stop"] == frozenset()
    assert result["tail_peak"] <= SILENCE_PEAK and result["voices"] == 0
    budget = max(result["notes_added"], 0) * PER_NOTE_BYTES + 256 * 1024
    assert result["mem_growth"] < budget, (result["mem_growth"], result["notes_added"])
    if rss_slack is not None:
        assert result["rss_growth"] < rss_slack + result["notes_added"] * PER_NOTE_BYTES, result["rss_growth"]
    back = load_take(result["path"])
    assert back.closed and len(back) == len(result["take"])
    np.testing.assert_allclose(back.to_melody().rows(), result["melody"].rows(), atol=1e-6)
    starts, ends = result["melody"].starts, result["melody"].ends
    assert np.all(ends >= starts) and np.all(np.diff(starts) >= 0)
    assert np.all(starts[1:] >= ends[:-1] - 1e-9)  # monophonic: a note starts after the previous one ended


def test_soak_2000_beats(tmp_path, tiny_model):
    result = soak(tiny_model("attention_rnn", decode_hidden_dim=32, window=16), 2000, tmp_path)
    check(result, rss_slack=None)
    assert result["events"] > 2000 and result["mem_growth"] > 0
    assert len(result["steps"]) == 2000 and np.all(result["steps"] > 0)  # every beat stepped the model once


@pytest.mark.slow
@pytest.mark.parametrize("trace", [True, False], ids=["python-heap", "resident"])
def test_soak_20000_beats_shipped_size(tmp_path, trace):
    result = soak(untrained_live_model("attention_rnn"), 20000, tmp_path, seed=1, trace=trace)
    check(result, rss_slack=None if trace else 16 * 2**20)
