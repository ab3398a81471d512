"""Held-out collections as MIDI folders: repeats as written, the first voice, a split that keeps each mass on one
side, duplicates written once, and files that `evaluate` scores as the melodies they came from."""

import json

import numpy as np
import pytest

from composer_app.data import abc_corpus, heldout
from composer_app.data.melody import melody_from_midi
from composer_app.notes import Notes

TWO_VOICES = """X:1
T:Two fifes
M:2/4
L:1/8
V:1
V:2
K:G
V:1
GABc d2 B2|
V:2
B,CDE F2 D2|
V:1
c2 A2 G4|]
V:2
E2 C2 B,4|]
"""

ONE_VOICE = """X:1
T:Two fifes
M:2/4
L:1/8
K:G
GABc d2 B2|
c2 A2 G4|]
"""


def test_the_first_voice_of_a_two_voice_tune_is_read_whole():
    only_first, _ = abc_corpus.melody_from_abc(heldout.first_voice_only(TWO_VOICES), expand_repeats=False)
    single, _ = abc_corpus.melody_from_abc(ONE_VOICE, expand_repeats=False)
    assert list(only_first.pitches) == [67, 69, 71, 72, 74, 71, 72, 69, 67]
    assert only_first == single
    assert heldout.first_voice_only(ONE_VOICE) == ONE_VOICE


def test_misc_folk_tunes_keep_their_repeats_as_written():
    tunes = list(heldout.misc_folk_melodies(limit=1))
    assert [t.id for t in tunes] == ["americanfifeopus.abc#1"] and tunes[0].title == "Olde Saybrooke"
    text = abc_corpus.split_abc_tunes(abc_corpus.read_abc_file(heldout.collection_files("miscFolk")[0]))[0][1]
    expanded, _ = abc_corpus.melody_from_abc(text)
    assert len(tunes[0].notes) < len(expanded)  # the training reading plays the repeats out


def test_training_collections_are_refused():
    with pytest.raises(ValueError, match="not a held-out collection"):
        heldout.collection_files("oneills1850")


def test_the_split_keeps_groups_whole_and_depends_on_the_seed():
    groups = [f"mass {i // 3}" for i in range(60)]  # 20 masses of 3 movements
    first = heldout.split_by_group(groups, 0.5, seed=0)
    assert len(first) == 10 and first <= set(groups)
    assert heldout.split_by_group(groups, 0.5, seed=0) == first
    assert heldout.split_by_group(groups, 0.5, seed=1) != first
    assert len(heldout.split_by_group(groups, 0.01)) == 1  # never an empty side
    with pytest.raises(ValueError):
        heldout.split_by_group(groups, 1.0)


def test_palestrina_export_splits_by_mass_into_midi_files_of_the_top_voice(tmp_path):
    summary = heldout.export("palestrina", tmp_path / "tune", eval_out=tmp_path / "eval", limit=4)
    sides = {side: json.loads((tmp_path / side / "manifest.json").read_text()) for side in ("tune", "eval")}
    masses = {side: {f["group"] for f in m["files"]} for side, m in sides.items()}
    assert masses["tune"] and masses["eval"] and not masses["tune"] & masses["eval"]
    assert sum(summary["written"].values()) == 4 and not summary["skipped"]
    melodies = {m.id: m for m in heldout.palestrina_melodies(limit=4)}
    assert "Missa De Beata Marie Virginis" in {m.group for m in melodies.values()}  # "(I)", "(II)" as one
    for side, manifest in sides.items():
        for f in manifest["files"]:
            original = melodies[f["source"].split("/", 1)[1]]
            read = melody_from_midi(tmp_path / side / f["file"])
            assert len(read) == len(original.notes) == f["notes"]
            assert np.allclose(read.rows(), original.notes.rows(), atol=2e-3)  # within a tick at 120 BPM
            # The top voice: the Cantus sings above the other parts.
            assert read.pitches.mean() > 64


def test_a_repeated_melody_is_written_once(tmp_path, monkeypatch):
    tune = np.array([[0.5 * i, 0.5 * i + 0.4, 60 + i % 5] for i in range(12)])
    copies = [heldout.HeldOutMelody("a.abc#1", "a.abc#1", "A", Notes.from_rows(tune)),
              heldout.HeldOutMelody("a.abc#2", "a.abc#2", "A up a fourth", Notes.from_rows(tune + [0, 0, 5])),
              heldout.HeldOutMelody("a.abc#3", "a.abc#3", "A upside down",
                                    Notes.from_rows(tune * [1, 1, -1] + [0, 0, 120]))]
    monkeypatch.setattr(heldout, "heldout_melodies", lambda name, limit, skipped: iter(copies))
    summary = heldout.export("miscFolk", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mid")) == ["a_001.mid", "a_003.mid"]
    assert summary["duplicates"] == ["a.abc#2 (the melody of a.abc#1)"]


def test_the_fife_books_unedited_copies_are_left_out(tmp_path, monkeypatch):
    book = tmp_path / "americanfifeopus.abc"
    book.write_text(ONE_VOICE + "\n" + ONE_VOICE.replace("X:1", "X:101").replace("GABc", "GAB2"))
    monkeypatch.setattr(heldout, "collection_files", lambda name: [book])
    skipped = []
    tunes = list(heldout.misc_folk_melodies(skipped=skipped))
    assert [t.id for t in tunes] == ["americanfifeopus.abc#1"]
    assert skipped == [("americanfifeopus.abc#2", heldout.SKIP_UNEDITED)]


def test_exporting_again_replaces_the_earlier_files_and_a_foreign_folder_is_refused(tmp_path, monkeypatch):
    from composer_app.errors import UserError

    tune = np.array([[0.5 * i, 0.5 * i + 0.4, 60 + i % 5] for i in range(12)])
    made = [heldout.HeldOutMelody(f"a.abc#{i}", f"a.abc#{i}", "", Notes.from_rows(tune + [0, 0, i])) for i in (1, 2)]
    monkeypatch.setattr(heldout, "heldout_melodies", lambda name, limit, skipped: iter(made[:limit]))
    heldout.export("miscFolk", tmp_path / "out", limit=2)
    heldout.export("miscFolk", tmp_path / "out", limit=1)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mid")) == ["a_001.mid"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "song.mid").write_bytes(b"MThd")
    with pytest.raises(UserError, match="did not write"):
        heldout.export("miscFolk", tmp_path / "mine")
    assert (tmp_path / "mine" / "song.mid").read_bytes() == b"MThd"


def test_the_script_writes_a_folder_that_evaluate_scores(tmp_path, capsys):
    import runpy
    from pathlib import Path

    from composer_app.cli import main as cli

    script = runpy.run_path(str(Path(__file__).parents[2] / "scripts" / "heldout_melodies.py"), run_name="script")
    assert script["main"](["miscFolk", "--out", str(tmp_path / "folk"), "--limit", "2"]) == 0
    assert f"2 MIDI files in {tmp_path / 'folk'}" in capsys.readouterr().out
    assert cli(["evaluate", str(tmp_path / "folk"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["files"] == 2 and result["notes"] == sum(len(t.notes) for t in heldout.misc_folk_melodies(2))
