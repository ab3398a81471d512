"""`everybody-compose generate`: rhythms from .npy / MIDI / takes, exact timing, clear errors, nothing half-written."""

import os
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest

from composer_app.beats import beats_to_onsets
from composer_app.cli import main
from composer_app.notes import Notes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "everybody_compose_checkpoints"


@pytest.fixture
def rhythm_npy(rhythm_file):
    return rhythm_file([0, 0, 0.2], [0.2, 0.4, 0.6], 50, "beat_sequence.npy")


def test_npy_rhythm_to_midi_with_exact_timing(tmp_path, ckpt, rhythm_npy, capsys):
    src, arr = rhythm_npy
    out = tmp_path / "out.mid"
    assert main(["generate", "-s", str(src), "-o", str(out), "-c", str(ckpt), "--seed", "1",
                 "--tempo", "90", "--program", "40"]) == 0
    pm = pretty_midi.PrettyMIDI(str(out))
    assert len(pm.instruments) == 1 and pm.instruments[0].program == 40
    notes = sorted(pm.instruments[0].notes, key=lambda n: n.start)
    starts, ends = beats_to_onsets(arr[:, 0], arr[:, 1])
    tick = 60.0 / 90 / pm.resolution
    assert len(notes) == 50
    assert np.abs(np.array([n.start for n in notes]) - starts).max() <= tick
    assert np.abs(np.array([n.end for n in notes]) - ends).max() <= tick
    assert len({n.pitch for n in notes}) > 1
    mid = mido.MidiFile(str(out))
    metas = {m.type for track in mid.tracks for m in track if m.is_meta}
    assert {"set_tempo", "time_signature"} <= metas
    assert abs(pm.get_tempo_changes()[1][0] - 90) < 1e-3  # MIDI stores whole microseconds per beat


def test_same_seed_same_file(tmp_path, ckpt, rhythm_npy):
    src, _ = rhythm_npy
    for name in ("a.mid", "b.mid"):
        assert main(["generate", "-s", str(src), "-o", str(tmp_path / name), "-c", str(ckpt), "-t", "beam",
                     "--seed", "5"]) == 0
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()


def test_midi_rhythm_source_and_wav(tmp_path, ckpt):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    for i in range(12):
        inst.notes.append(pretty_midi.Note(80, 60 + i % 5, 0.5 * i, 0.5 * i + 0.3))
    pm.instruments.append(inst)
    src = tmp_path / "tune.mid"
    pm.write(str(src))
    out, wav = tmp_path / "o.mid", tmp_path / "o.wav"
    assert main(["generate", "-s", str(src), "-o", str(out), "-c", str(ckpt), "--wav", str(wav)]) == 0
    got = sorted(pretty_midi.PrettyMIDI(str(out)).instruments[0].notes, key=lambda n: n.start)
    assert [round(n.start, 3) for n in got] == [round(0.5 * i, 3) for i in range(12)]
    assert wav.stat().st_size > 44100  # a real render, not an empty file


def test_original_format_checkpoint_generates(tmp_path, rhythm_npy):
    src, _ = rhythm_npy
    out = tmp_path / "o.mid"
    assert main(["generate", "-s", str(src), "-o", str(out), "-c", str(FIXTURES / "attention_rnn.pth")]) == 0
    assert out.exists()


@pytest.mark.parametrize("content,message", [
    (np.zeros((5, 3)), "shape"),
    (np.array([[0.1, 0.2], [np.nan, 0.2]]), "NaN"),
    (np.array([[0.1, 0.2], [-1.0, 0.2]]), "negative"),
    (np.zeros((0, 2)), "empty"),
])
def test_bad_arrays_get_clear_errors(tmp_path, ckpt, capsys, content, message):
    src = tmp_path / "bad.npy"
    np.save(src, content)
    assert main(["generate", "-s", str(src), "-o", str(tmp_path / "o.mid"), "-c", str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o.mid").exists()


def test_corrupt_and_empty_files(tmp_path, ckpt, capsys):
    corrupt = tmp_path / "x.npy"
    corrupt.write_bytes(b"garbage")
    assert main(["generate", "-s", str(corrupt), "-o", str(tmp_path / "o.mid"), "-c", str(ckpt)]) == 2
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    assert main(["generate", "-s", str(empty), "-o", str(tmp_path / "o.mid"), "-c", str(ckpt)]) == 2
    bad_mid = tmp_path / "bad.mid"
    bad_mid.write_bytes(b"MThd garbage")
    assert main(["generate", "-s", str(bad_mid), "-o", str(tmp_path / "o.mid"), "-c", str(ckpt)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_unwritable_output_leaves_nothing_and_keeps_old_file(tmp_path, ckpt, rhythm_npy, capsys):
    src, _ = rhythm_npy
    locked = tmp_path / "locked"
    locked.mkdir()
    old = locked / "o.mid"
    old.write_bytes(b"old take")
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: use a path under a file instead
            target = old / "o.mid"
        else:
            target = old
        assert main(["generate", "-s", str(src), "-o", str(target), "-c", str(ckpt)]) == 2
    finally:
        os.chmod(locked, 0o700)
    assert "cannot write" in capsys.readouterr().err
    assert old.read_bytes() == b"old take"
    assert [p.name for p in locked.iterdir()] == ["o.mid"]


def test_wrong_kind_of_checkpoint(tmp_path, rhythm_npy, capsys):
    src, _ = rhythm_npy
    not_ckpt = tmp_path / "notes.pt"
    not_ckpt.write_text("hello")
    assert main(["generate", "-s", str(src), "-o", str(tmp_path / "o.mid"), "-c", str(not_ckpt)]) == 2
    assert "not a PyTorch checkpoint (or it is damaged)" in capsys.readouterr().err


def test_the_command_writes_the_melody_generate_gives_and_the_same_file_for_a_seed(tmp_path, rhythm_npy):
    from composer_app.checkpoints import default_checkpoint, load_checkpoint
    from composer_app.sampling import generate, settings_from_profile

    src, arr = rhythm_npy
    loaded = load_checkpoint(default_checkpoint("lstm_attn", "offline"))
    files = [tmp_path / f"{run}.mid" for run in "ab"]
    for out in files:
        assert main(["generate", "-s", str(src), "-o", str(out), "-t", "beam", "--seed", "3"]) == 0
    assert files[0].read_bytes() == files[1].read_bytes()
    notes = sorted(pretty_midi.PrettyMIDI(str(files[0])).instruments[0].notes, key=lambda n: n.start)
    expected = generate(loaded, arr[:, 0], arr[:, 1], settings_from_profile("beam"), seed=3)
    assert [n.pitch for n in notes] == expected.tolist()


def test_a_rhythm_with_absurd_times_is_refused_and_writes_nothing(tmp_path, ckpt, capsys):
    src = tmp_path / "absurd.npy"
    np.save(src, np.array([[0.0, 0.5], [1e9, 0.5], [0.0, 0.5]]))
    out = tmp_path / "o.mid"
    assert main(["generate", "-s", str(src), "-o", str(out), "-c", str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert "note 2 has a rest of 1e+09 s" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [src]


def test_midi_files_stay_readable_however_long_the_melody(tmp_path):
    """A melody too long for a MIDI file is refused (nothing written); a long one that fits is written on a
    coarser grid and reads back, every note within one tick."""
    from composer_app.errors import UserError
    from composer_app.export import write_midi

    with pytest.raises(UserError, match="lasts 1.16e\\+04 days: a MIDI file at 120 BPM holds at most 14.5 hours"):
        write_midi(tmp_path / "absurd.mid", Notes([0.0, 1e9], [0.5, 1e9 + 0.5], [60, 62]))
    assert list(tmp_path.iterdir()) == []
    starts = np.array([0.0, 1.0, 30_000.0, 40_000.0])
    path = write_midi(tmp_path / "long.mid", Notes(starts, starts + 0.5, [60, 62, 64, 65]))
    pm = pretty_midi.PrettyMIDI(str(path))
    tick = 60.0 / 120 / pm.resolution
    assert pm.resolution < 960
    got = sorted(pm.instruments[0].notes, key=lambda n: n.start)
    assert np.abs(np.array([n.start for n in got]) - starts).max() <= tick
    assert len(mido.MidiFile(str(path)).tracks) >= 1


@pytest.mark.parametrize("extra,message", [
    (["--wav", "MISSING/x.wav"], "folder MISSING does not exist"),
    (["--wav", "o.txt"], "--wav must be a .wav file"),
    (["--wav", "o.wav", "--soundfont", "none.sf2"], "soundfont not found"),
    (["--low", "80", "--high", "70"], "the low pitch 80 is above the high pitch 70"),
    (["--hints", "1", "99"], "hint note '99' is MIDI pitch 228"),
    (["--program", "128"], "program must be 0-127"),
])
def test_every_output_and_option_is_checked_before_anything_is_written(tmp_path, ckpt, rhythm_npy, capsys,
                                                                        monkeypatch, extra, message):
    src, _ = rhythm_npy
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["generate", "-s", str(src), "-o", "o.mid", "-c", str(ckpt), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(work.iterdir()) == []


def test_midi_output_must_be_named_as_midi(tmp_path, ckpt, rhythm_npy, capsys):
    src, _ = rhythm_npy
    assert main(["generate", "-s", str(src), "-o", str(tmp_path / "y.txt"), "-c", str(ckpt)]) == 2
    assert "the output (-o) must be a .mid or .midi file" in capsys.readouterr().err
    assert not (tmp_path / "y.txt").exists()
    assert main(["generate", "-s", str(src), "-o", str(tmp_path / "y.MIDI"), "-c", str(ckpt)]) == 0
    assert pretty_midi.PrettyMIDI(str(tmp_path / "y.MIDI")).instruments[0].notes
