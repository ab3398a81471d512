"""Sources, the cache, prepare() / load_melodies() and the ``prepare`` subcommand, on small inputs."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from composer_app import cli
from composer_app.data import abc_corpus, cache, corpus, extract
from composer_app.data.corpus import Melody, load_melodies, prepare
from composer_app.data.sources import parse_source
from composer_app.data.split import fingerprint, split_of
from composer_app.errors import UserError


@pytest.fixture
def midi_dir(tmp_path, make_midi, scale_notes):
    """A folder with two good files (one nested, one a transposed copy), a short one and a corrupt one."""
    root = tmp_path / "my midi"
    make_midi(root / "a.mid", scale_notes(12))
    make_midi(root / "sub" / "b.MIDI", scale_notes(12, transpose=5))  # a transposed copy of a.mid
    make_midi(root / "short.mid", scale_notes(5))
    (root / "broken.mid").write_bytes(b"not a midi file at all")
    (root / "readme.txt").write_text("ignored")
    return root


def test_midi_folder_source(midi_dir):
    summary = prepare([f"midi:{midi_dir}"], jobs=1, progress=False)
    (report,) = summary.sources
    assert not report.from_cache
    assert report.items == 4  # .mid/.midi only, recursively
    assert report.tunes == 2 and report.notes == 24
    assert report.skips == {extract.SKIP_MIDI: 1, extract.SKIP_SHORT: 1}
    assert report.skip_examples[extract.SKIP_SHORT] == [("short.mid", "5 notes")]
    assert report.cache_path.is_file()
    melodies = load_melodies("all", [f"midi:{midi_dir}"])
    assert [m.id for m in melodies] == ["a.mid", "sub/b.MIDI"]
    # other spellings of the same source reuse the same cache
    assert [m.id for m in load_melodies("all", [("midi_dir", str(midi_dir))], jobs=1)] == [
        "a.mid",
        "sub/b.MIDI",
    ]
    assert len(load_melodies("all", [midi_dir], jobs=1)) == 2
    assert len(list(report.cache_path.parent.glob("*.npz"))) == 1
    assert all(isinstance(m, Melody) and m.source == "midi" for m in melodies)
    np.testing.assert_allclose(melodies[1].notes.pitches - melodies[0].notes.pitches, 5, atol=1e-9)
    # the transposed copy is in the same split as the original
    splits = {
        name: {m.id for m in load_melodies(name, [f"midi:{midi_dir}"])} for name in ("train", "valid", "test")
    }
    assert sum(len(s) for s in splits.values()) == 2
    assert any(s == {"a.mid", "sub/b.MIDI"} for s in splits.values())
    lines = "\n".join(summary.lines())
    assert "fewer than 8 notes" in lines and "short.mid" in lines and str(report.cache_path) in lines


def test_maestro_zip_source(tmp_path, make_midi, scale_notes):
    a = make_midi(tmp_path / "src" / "one.midi", scale_notes(9))
    b = make_midi(tmp_path / "src" / "two.mid", scale_notes(10, transpose=2))
    zpath = tmp_path / "maestro-v3.0.0-midi.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(b, "maestro-v3.0.0/2018/two.mid")
        zf.write(a, "maestro-v3.0.0/2004/one.midi")
        zf.writestr("maestro-v3.0.0/maestro-v3.0.0.csv", "canonical_composer,...\n")
    melodies = load_melodies("all", [f"maestro:{zpath}"], jobs=1, progress=False)
    assert [(m.id, m.source, len(m)) for m in melodies] == [
        ("maestro-v3.0.0/2004/one.midi", "maestro", 9),
        ("maestro-v3.0.0/2018/two.mid", "maestro", 10),
    ]
    limited = load_melodies("all", [f"maestro:{zpath}"], limit=1, jobs=1, progress=False)
    assert [m.id for m in limited] == ["maestro-v3.0.0/2004/one.midi"]


def test_bad_sources_fail_fast(tmp_path, monkeypatch):
    def no_parsing(*args, **kwargs):
        raise AssertionError("nothing may be parsed before every source is checked")

    monkeypatch.setattr(extract, "run_items", no_parsing)
    with pytest.raises(UserError, match="MIDI folder not found"):
        prepare(["music21", f"midi:{tmp_path / 'missing'}"], progress=False)
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UserError, match="cannot read zip"):
        prepare([f"maestro:{bad_zip}"], progress=False)
    with pytest.raises(UserError, match="not used for training"):
        prepare(["music21:bach"], progress=False)
    with pytest.raises(UserError, match="unknown data source"):
        parse_source("somewhere/else")
    with pytest.raises(ValueError, match="unknown split"):
        load_melodies("training")


def test_music21_source_and_cache_hit(midi_dir, monkeypatch, tmp_cache):
    sources = ["music21:ryansMammoth", f"midi:{midi_dir}"]
    first = prepare(sources, limit=3, jobs=1, progress=False)
    ryans, _midi = first.sources
    assert ryans.tunes == 3 and ryans.notes > 300 and not ryans.from_cache
    expected = load_melodies("all", sources, limit=3)
    assert [m.source for m in expected[:3]] == ["ryansMammoth"] * 3
    assert expected[0].id == "ryansMammoth/42dHighlandRegimentStrathspey.abc#1"
    assert {p.parent for p in tmp_cache.rglob("*.npz")} == {tmp_cache / "melodies"}

    # Second time round nothing is parsed: break the parsers and check the same melodies come back, fast.
    def boom(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(abc_corpus, "melody_from_abc", boom)
    monkeypatch.setattr(extract, "run_items", boom)
    second = prepare(sources, limit=3, jobs=1, progress=False)
    assert all(r.from_cache for r in second.sources)
    assert second.splits == first.splits
    again = load_melodies("all", sources, limit=3)
    assert [m.id for m in again] == [m.id for m in expected]
    for a, b in zip(again, expected, strict=True):
        np.testing.assert_array_equal(a.notes.rows(), b.notes.rows())
    # each melody owns its notes: changing one does not change the next load
    again[0].notes.pitches[:] += 12
    assert load_melodies("all", sources, limit=3)[0].notes == expected[0].notes
    # --force parses again
    with pytest.raises(AssertionError, match="cache should have been used"):
        prepare(sources, limit=3, jobs=1, progress=False, force=True)


def test_cache_file_is_plain_numpy(midi_dir):
    (report,) = prepare([f"midi:{midi_dir}"], jobs=1, progress=False).sources
    with np.load(report.cache_path, allow_pickle=False) as z:
        assert z["notes"].shape == (24, 3) and z["notes"].dtype == np.float64
        np.testing.assert_array_equal(z["offsets"], [0, 12, 24])
        assert z["ids"].tolist() == ["a.mid", "sub/b.MIDI"]
        assert z["sources"].tolist() == ["midi", "midi"]
        assert sorted(z["skip_reasons"].tolist()) == sorted([extract.SKIP_MIDI, extract.SKIP_SHORT])
    assert report.cache_path.name.startswith(f"midi-my_midi-v{cache.FORMAT_VERSION}-")


def test_changed_folder_is_parsed_again(midi_dir, make_midi, scale_notes):
    assert prepare([f"midi:{midi_dir}"], jobs=1, progress=False).sources[0].tunes == 2
    make_midi(midi_dir / "c.mid", scale_notes(20))
    report = prepare([f"midi:{midi_dir}"], jobs=1, progress=False).sources[0]
    assert not report.from_cache and report.tunes == 3


def test_parallel_parse_matches_serial(midi_dir, tmp_cache, monkeypatch):
    serial = load_melodies("all", [f"midi:{midi_dir}"], jobs=1, progress=False)
    monkeypatch.setenv("EVERYBODY_COMPOSE_CACHE", str(tmp_cache.parent / "other-cache"))
    parallel = load_melodies("all", [f"midi:{midi_dir}"], jobs=2, progress=False)
    assert [m.id for m in parallel] == [m.id for m in serial]
    for a, b in zip(parallel, serial, strict=True):
        np.testing.assert_array_equal(a.notes.rows(), b.notes.rows())


def test_splits_partition_the_tunes(midi_dir, make_midi, scale_notes):
    for i in range(30):
        make_midi(midi_dir / f"gen{i:02d}.mid", [(s, e, p + (i % 7)) for s, e, p in scale_notes(8 + i)])
    everything = load_melodies("all", [f"midi:{midi_dir}"], jobs=1, progress=False)
    parts = {name: load_melodies(name, [f"midi:{midi_dir}"], seed=3) for name in ("train", "valid", "test")}
    ids = [m.id for ms in parts.values() for m in ms]
    assert sorted(ids) == sorted(m.id for m in everything) and len(set(ids)) == len(ids)
    for name, ms in parts.items():
        assert all(split_of(fingerprint(m.notes), 3) == name for m in ms)
    assert len(parts["train"]) > len(parts["valid"]) + len(parts["test"])


def test_prepare_command(midi_dir, capsys):
    rc = cli.main(["prepare", "--no-music21", "--midi-dir", str(midi_dir), "--jobs", "1", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert f"source midi:{midi_dir}: 2 tunes, 24 notes" in out
    assert "cache:" in out and "train" in out and "valid" in out and "test" in out
    assert "unreadable MIDI" in out and "broken.mid" in out
    rc = cli.main(["prepare", "--no-music21", "--midi-dir", str(midi_dir), "--jobs", "1", "--no-progress"])
    assert rc == 0 and "from cache" in capsys.readouterr().out


def test_prepare_command_errors(tmp_path, capsys):
    assert cli.main(["prepare", "--no-music21"]) == 2
    assert "nothing to prepare" in capsys.readouterr().err
    assert cli.main(["prepare", "--midi-dir", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "error: MIDI folder not found" in err and len(err.strip().splitlines()) == 1


def test_melody_dataclass_api():
    m = Melody("x", "midi", np.zeros((3, 3)))
    assert (m.id, m.source, len(m)) == ("x", "midi", 3)
    assert corpus.DEFAULT_SOURCES == ("music21",)
