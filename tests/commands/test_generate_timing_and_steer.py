"""`generate --tempo --quantize --time-signature --steer`: read back with mido/pretty_midi."""

from __future__ import annotations

import mido
import numpy as np
import pretty_midi
import pytest

from composer_app.cli import main
from composer_app.sampling import STEP_SEMITONES


@pytest.fixture
def rhythm_npy(rhythm_file):
    return rhythm_file([0, 0, 0.13], [0.11, 0.37, 0.52], 40)[0]


def onsets_and_lengths(path) -> tuple[list[int], list[int], mido.MidiFile]:
    mid = mido.MidiFile(str(path))
    ticks, starts, lengths, open_at = 0, [], [], {}
    for msg in mido.merge_tracks(mid.tracks):
        ticks += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            starts.append(ticks)
            open_at[msg.note] = ticks
        elif msg.type in ("note_off", "note_on") and msg.note in open_at:
            lengths.append(ticks - open_at.pop(msg.note))
    return starts, lengths, mid


@pytest.mark.parametrize(("grid", "per_quarter"), [("1/16", 4), ("1/8", 2), ("1/8t", 3)])
def test_tempo_and_quantize_put_every_onset_on_the_grid(tmp_path, ckpt, rhythm_npy, grid, per_quarter):
    out = tmp_path / "q.mid"
    assert main(["generate", "-s", str(rhythm_npy), "-o", str(out), "-c", str(ckpt), "--seed", "1",
                 "--tempo", "100", "--quantize", grid, "--time-signature", "3/4"]) == 0
    starts, lengths, mid = onsets_and_lengths(out)
    step = mid.ticks_per_beat // per_quarter
    assert len(starts) == 40
    assert all(min(k % step, step - k % step) <= 1 for k in starts)
    assert min(lengths) >= step - 1
    metas = [m for m in mido.merge_tracks(mid.tracks) if m.is_meta]
    assert [round(mido.tempo2bpm(m.tempo), 3) for m in metas if m.type == "set_tempo"] == [100.0]
    assert [(m.numerator, m.denominator) for m in metas if m.type == "time_signature"] == [(3, 4)]


def test_without_quantize_the_played_timing_is_kept(tmp_path, ckpt, rhythm_npy):
    out = tmp_path / "free.mid"
    assert main(["generate", "-s", str(rhythm_npy), "-o", str(out), "-c", str(ckpt), "--seed", "1"]) == 0
    starts, _, mid = onsets_and_lengths(out)
    assert any(k % (mid.ticks_per_beat // 4) > 1 for k in starts)


def test_bad_timing_options_are_clear_errors(tmp_path, ckpt, rhythm_npy, capsys):
    for args, words in ((["--quantize", "1/7"], "quantize grid"), (["--time-signature", "3/5"], "time signature"),
                        (["--tempo", "1000"], "between 10 and 400")):
        assert main(["generate", "-s", str(rhythm_npy), "-o", str(tmp_path / "x.mid"), "-c", str(ckpt),
                     *args]) != 0
        assert words in capsys.readouterr().err
        assert not (tmp_path / "x.mid").exists()


def test_steer_without_pitches_says_there_is_no_contour(tmp_path, ckpt, rhythm_npy, capsys):
    assert main(["generate", "-s", str(rhythm_npy), "-o", str(tmp_path / "x.mid"), "-c", str(ckpt),
                 "--steer", "1"]) != 0
    assert "no contour" in capsys.readouterr().err


def chorale_melodies():
    """Soprano lines of a few Bach chorales from music21's corpus (other people's melodies)."""
    from music21 import corpus

    out = []
    for name in ("bach/bwv66.6", "bach/bwv7.7", "bach/bwv269"):
        part = corpus.parse(name).parts[0].flatten()
        notes = [(float(n.offset) * 0.5, float(n.offset + n.quarterLength) * 0.5, n.pitch.midi)
                 for n in part.notes if n.isNote]
        out.append(np.array(notes))
    return out


def write_melody(path, notes):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(90, int(p), s, e) for s, e, p in notes]
    pm.instruments.append(inst)
    pm.write(str(path))


def follow_share(source_pitches, pitches, low: int = 21, high: int = 108) -> float:
    """Share of the source's moves the pitches follow; a move asked beyond the range (``low``..``high``) is
    followed by holding the edge."""
    want = np.sign(np.diff(source_pitches))
    pitches = np.asarray(pitches)
    got, prev = np.diff(pitches), pitches[:-1]
    ok = np.where(want > 0, got > 0, np.where(want < 0, got < 0, np.abs(got) <= STEP_SEMITONES))
    ok |= (got == 0) & (((want > 0) & (prev == high)) | ((want < 0) & (prev == low)))
    return float(ok.mean())


@pytest.mark.parametrize("model", ["lstm_attn", "vanilla_rnn"])
def test_full_steer_follows_the_contour_of_other_melodies(tmp_path, model):
    """The shipped models, steered by Bach chorale melodies, go up and down with them on >= 95 % of moves."""
    for k, notes in enumerate(chorale_melodies()):
        src = tmp_path / f"chorale{k}.mid"
        write_melody(src, notes)
        out = tmp_path / f"steered{k}.mid"
        assert main(["generate", "-s", str(src), "-o", str(out), "-m", model, "--steer", "1", "--seed", "3"]) == 0
        got = sorted(pretty_midi.PrettyMIDI(str(out)).instruments[0].notes, key=lambda n: n.start)
        assert len(got) == len(notes)
        assert follow_share(notes[:, 2], [n.pitch for n in got]) >= 0.95
        free = tmp_path / f"free{k}.mid"
        assert main(["generate", "-s", str(src), "-o", str(free), "-m", model, "--seed", "3"]) == 0
        unsteered = sorted(pretty_midi.PrettyMIDI(str(free)).instruments[0].notes, key=lambda n: n.start)
        assert follow_share(notes[:, 2], [n.pitch for n in unsteered]) < 0.95  # it is the steering that does it


def test_a_take_gives_its_tempo_metre_and_contour(tmp_path, ckpt):
    import json

    from composer_app.take import FORMAT

    pitches = [60, 64, 67, 72, 71, 69, 67, 67, 65, 64, 62, 60]
    lines = [{"type": "header", "format": FORMAT, "origin": "first-note", "tempo_bpm": 90, "time_signature": "6/8"}]
    for i, p in enumerate(pitches):
        lines += [{"type": "on", "i": i, "t": i * 330_000_000, "pitch": p},
                  {"type": "off", "i": i, "t": i * 330_000_000 + 200_000_000}]
    take = tmp_path / "take-played.jsonl"
    take.write_text("".join(json.dumps(r) + "\n" for r in lines))
    out = tmp_path / "revoiced.mid"
    assert main(["generate", "-s", str(take), "-o", str(out), "-c", str(ckpt), "--steer", "1", "--seed", "2",
                 "--quantize", "1/8"]) == 0
    starts, _, mid = onsets_and_lengths(out)
    metas = [m for m in mido.merge_tracks(mid.tracks) if m.is_meta]
    assert [round(mido.tempo2bpm(m.tempo), 3) for m in metas if m.type == "set_tempo"] == [90.0]
    assert [(m.numerator, m.denominator) for m in metas if m.type == "time_signature"] == [(6, 8)]
    assert starts[0] == 0 and all(k % (mid.ticks_per_beat // 2) <= 1 for k in starts)
    got = sorted(pretty_midi.PrettyMIDI(str(out)).instruments[0].notes, key=lambda n: n.start)
    assert follow_share(np.array(pitches), [n.pitch for n in got]) >= 0.9
