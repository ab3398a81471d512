"""`generate --variations` and `evaluate --sample`: the two commands that audition and measure what a model plays."""

import json

import numpy as np
import pretty_midi
import pytest

from composer_app.cli import main


def test_variations_write_numbered_files_with_the_same_rhythm_and_different_lines(tmp_path, ckpt, rhythm_file,
                                                                                   capsys):
    src, arr = rhythm_file([0, 0, 0.2], [0.2, 0.4], 40)
    out = tmp_path / "take.mid"
    assert main(["generate", "-s", str(src), "-o", str(out), "-c", str(ckpt), "--seed", "3",
                 "--variations", "3"]) == 0
    files = [tmp_path / f"take-{i}.mid" for i in (1, 2, 3)]
    assert all(f.exists() for f in files) and not out.exists()
    notes = [sorted(pretty_midi.PrettyMIDI(str(f)).instruments[0].notes, key=lambda n: n.start) for f in files]
    assert all([(n.start, n.end) for n in a] == [(n.start, n.end) for n in notes[0]] for a in notes)
    assert len({tuple(n.pitch for n in a) for a in notes}) == 3
    assert capsys.readouterr().out.count("wrote") == 3
    again = tmp_path / "again.mid"
    main(["generate", "-s", str(src), "-o", str(again), "-c", str(ckpt), "--seed", "3", "--variations", "3"])
    assert (tmp_path / "again-2.mid").read_bytes() == files[1].read_bytes()  # a seed reproduces every one


@pytest.mark.parametrize("count", ["0", "17"])
def test_a_number_of_variations_out_of_range_is_one_error_line(tmp_path, ckpt, rhythm_file, capsys, count):
    src, _ = rhythm_file([0], [0.2], 8)
    assert main(["generate", "-s", str(src), "-o", str(tmp_path / "x.mid"), "-c", str(ckpt),
                 "--variations", count]) == 2
    assert "--variations must be 1-16" in capsys.readouterr().err and not list(tmp_path.glob("*.mid"))


def test_generate_refuses_to_write_over_its_source(tmp_path, ckpt):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(100, 60 + i, 0.5 * i, 0.5 * i + 0.4) for i in range(8)]
    pm.instruments.append(inst)
    src = tmp_path / "mine.mid"
    pm.write(str(src))
    before = src.read_bytes()
    assert main(["generate", "-s", str(src), "-o", str(src), "-c", str(ckpt)]) == 2
    assert src.read_bytes() == before


def _tunes(folder, count: int = 12):
    rng = np.random.default_rng(0)
    folder.mkdir()
    for i in range(count):
        pm = pretty_midi.PrettyMIDI()
        inst = pretty_midi.Instrument(0)
        pitches = 62 + np.cumsum(rng.choice([-2, -1, 0, 1, 2], 24))
        inst.notes = [pretty_midi.Note(100, int(p), 0.25 * j, 0.25 * j + 0.2) for j, p in enumerate(pitches)]
        pm.instruments.append(inst)
        pm.write(str(folder / f"tune{i:02d}.mid"))
    return folder


def test_evaluate_sample_reports_the_two_sample_test_per_profile(tmp_path, ckpt, capsys):
    tunes = _tunes(tmp_path / "tunes")
    assert main(["evaluate", str(ckpt), str(tunes), "--sample", "--profile", "default,beam", "--json",
                 "--sample-melodies", "12"]) == 0
    result = json.loads(capsys.readouterr().out)
    samples = result["models"][0]["sample"]
    assert [s["profile"] for s in samples] == ["default", "beam"]
    for s in samples:
        assert s["melodies"] == 12 and 0.0 <= s["two_sample"] <= 1.0 and 0.0 <= s["real_vs_real"] <= 1.0
        assert {"loop", "distinct_pitches", "pitch_range", "repeated_6_note_patterns"} <= set(s["generated"])
    assert samples[0]["real_vs_real"] == samples[1]["real_vs_real"]  # one real floor for the same melodies
    assert main(["evaluate", str(ckpt), str(tunes), "--sample", "--sample-melodies", "12"]) == 0
    text = capsys.readouterr().out
    assert "a classifier tells generated from real" in text and "two halves of the real set" in text


def test_evaluate_sample_names_an_unknown_profile(tmp_path, ckpt, capsys):
    tunes = _tunes(tmp_path / "tunes", 2)
    assert main(["evaluate", str(ckpt), str(tunes), "--sample", "--profile", "default,nope"]) == 2
    assert "no sampling profile 'nope'" in capsys.readouterr().err


def _source_midi(path, n: int = 24):
    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0))
    inst = pretty_midi.Instrument(40)
    rng = np.random.default_rng(0)
    inst.notes = [pretty_midi.Note(60 + i, int(60 + rng.integers(0, 12)), 0.3 * i, 0.3 * i + 0.25) for i in range(n)]
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def _notes(path):
    return [(n.start, n.end, n.pitch, n.velocity) for n in pretty_midi.PrettyMIDI(str(path)).instruments[0].notes]


def test_only_rewrites_the_chosen_notes_and_keeps_everything_else_of_the_file(tmp_path, ckpt):
    src = _source_midi(tmp_path / "mine.mid")
    out = tmp_path / "out.mid"
    assert main(["generate", "-s", str(src), "-o", str(out), "-c", str(ckpt), "--only", "9-16", "--lock", "12",
                 "--seed", "4"]) == 0
    before, after = _notes(src), _notes(out)
    kept = [i for i in range(24) if not 8 <= i < 16 or i == 11]
    assert [before[i] for i in kept] == [after[i] for i in kept]  # pitch, timing and velocity, exactly
    assert [b[:2] + b[3:] for b in before] == [a[:2] + a[3:] for a in after]  # only pitches ever change
    assert [before[i][2] for i in range(8, 16)] != [after[i][2] for i in range(8, 16)]
    pm = pretty_midi.PrettyMIDI(str(out))
    assert pm.instruments[0].program == 40 and pm.get_tempo_changes()[1][0] == pytest.approx(100)
    again = tmp_path / "again.mid"
    main(["generate", "-s", str(src), "-o", str(again), "-c", str(ckpt), "--only", "9-16", "--lock", "12",
          "--seed", "4"])
    assert again.read_bytes() == out.read_bytes()


def test_bars_are_read_at_the_files_tempo_and_metre(tmp_path, ckpt):
    src = _source_midi(tmp_path / "mine.mid")  # 100 BPM, 3/4: six notes a bar
    out = tmp_path / "out.mid"
    assert main(["generate", "-s", str(src), "-o", str(out), "-c", str(ckpt), "--bars", "2", "--seed", "1"]) == 0
    before, after = _notes(src), _notes(out)
    changed = [i for i in range(24) if before[i] != after[i]]
    assert changed and set(changed) <= set(range(6, 12))


@pytest.mark.parametrize("extra,message", [(["--only", "1-3", "--bars", "1"], "not both"),
                                           (["--only", "25"], "outside 1-24"),
                                           (["--bars", "9"], "outside")])
def test_selections_that_cannot_be_made_are_one_error_line(tmp_path, ckpt, capsys, extra, message):
    src = _source_midi(tmp_path / "mine.mid")
    assert main(["generate", "-s", str(src), "-o", str(tmp_path / "o.mid"), "-c", str(ckpt), *extra]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "o.mid").exists()


def test_a_rhythm_without_pitches_has_nothing_to_keep(tmp_path, ckpt, rhythm_file, capsys):
    src, _ = rhythm_file([0], [0.2], 8)
    assert main(["generate", "-s", str(src), "-o", str(tmp_path / "o.mid"), "-c", str(ckpt), "--only", "2"]) == 2
    assert "nothing to keep" in capsys.readouterr().err
