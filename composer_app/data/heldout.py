"""Held-out melodies: music21 collections no training tune comes from, written out as MIDI files to score.

Training reads only three music21 collections (:data:`.abc_corpus.COLLECTIONS`). Two others serve to check
claims outside them:

* ``miscFolk``: about 180 American fife and Northumbrian tunes (ABC), the untouched held-out set. Tunes are
  read as the training tunes are (:func:`.abc_corpus.score_to_melody`: first voice (:func:`first_voice_only`
  for the fife tunes that alternate two voices' sections), chords to their top note,
  ties merged, 120 quarter notes a minute without a tempo mark) except that **repeats are not expanded**: a
  repeat written out is a literal copy of a section, which flatters any model that remembers the tune.
  The fife book appends "mostly unedited versions" of its own tunes, numbered from 101 (:data:`UNEDITED_COPIES`):
  they are left out, and so is any tune whose melody repeats an earlier one exactly (:func:`.split.fingerprint`,
  key and tempo ignored).
* ``palestrina``: the top voice (the first part, the Cantus) of each mass movement (Humdrum ``**kern``),
  another style for fine-tuning experiments. Movements of one mass share their themes, and the numbered masses
  of one title (``Missa De Beata Marie Virginis (I)``, ``(II)``...) set the same chant, so a split keeps each
  title on one side (:func:`split_by_group`). Humdrum files carry no tempo, so a quarter note is 0.5 s, as
  for ABC tunes without a tempo mark: a half-note pulse of one a second.

:func:`export` writes one monophonic MIDI file per melody, at the melody's times in seconds, and a
``manifest.json`` that says where each file came from; exporting again into that folder replaces them.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from composer_app.data import abc_corpus
from composer_app.data.split import fingerprint
from composer_app.errors import UserError
from composer_app.notes import Notes

MISC_FOLK = "miscFolk"
PALESTRINA = "palestrina"
COLLECTIONS = (MISC_FOLK, PALESTRINA)
#: ABC files of miscFolk whose tunes from this reference number on are unedited copies of earlier tunes.
UNEDITED_COPIES = {"americanfifeopus.abc": 100}
SKIP_UNEDITED = "an unedited copy of an earlier tune of the book (X:100 on)"
#: Melodies with fewer notes than this are left out (as in training, :data:`.extract.MIN_NOTES`).
MIN_NOTES = 8

_MASS_LINE = re.compile(r"^!!!OPR:\s*(.+?)\s*$", re.MULTILINE)
_MOVEMENT_LINE = re.compile(r"^!!!OTL:\s*(.+?)\s*$", re.MULTILINE)
#: "Missa In duplicibus minoribus (II)": masses of one title and number are settings of the same chant.
_MASS_NUMBER = re.compile(r"\s*\([IVX]+\)$")


@dataclass(frozen=True)
class HeldOutMelody:
    """One melody: ``id`` (``file#tune`` or the file name), ``group`` (what must stay on one side of a split:
    the tune itself, or a movement's mass), ``title``, and its ``notes``."""

    id: str
    group: str
    title: str
    notes: Notes


def collection_files(name: str) -> list[Path]:
    """The files of a held-out collection, sorted by name; a training collection is refused."""
    if name not in COLLECTIONS:
        raise ValueError(f"{name!r} is not a held-out collection (use one of {COLLECTIONS})")
    pattern = "*.abc" if name == MISC_FOLK else "*.krn"
    return sorted(p for p in (abc_corpus.corpus_root() / name).glob(pattern) if p.is_file())


def _abc_title(tune_text: str) -> str:
    match = re.search(r"^T:\s*(.+?)\s*$", tune_text, re.MULTILINE)
    return match.group(1) if match else ""


_VOICE_LINE = re.compile(r"^V:\s*(\S+)")
_KEY_LINE = re.compile(r"^K:")


def first_voice_only(tune_text: str) -> str:
    """An ABC tune with the lines of every voice but the first left out (and the ``V:`` lines themselves).

    music21 reads a tune that alternates ``V:1`` / ``V:2`` sections as one part per section, so its first part
    would be the first section, or empty when the header declares the voices. The first voice is the tune
    (a second fife plays the harmony below it); a tune without ``V:`` lines is returned unchanged.
    """
    first = current = None
    in_body = False
    kept = []
    for line in tune_text.split("\n"):
        voice = _VOICE_LINE.match(line)
        if voice:
            first = first or voice.group(1)
            current = voice.group(1)
            continue
        if not in_body:
            kept.append(line)
            if _KEY_LINE.match(line):  # the header ends with K:; the body starts in the first voice
                in_body, current = True, first
        elif current is None or current == first:
            kept.append(line)
    return "\n".join(kept)


def misc_folk_melodies(limit: int | None = None, skipped: list | None = None) -> Iterator[HeldOutMelody]:
    """The miscFolk tunes with repeats as written; ``limit`` stops after that many tunes (quick runs).

    A tune left out (an unedited copy, unparsable, too short) is appended to ``skipped`` as ``(id, reason)``.
    """
    count = 0
    for path in collection_files(MISC_FOLK):
        for i, (label, text) in enumerate(abc_corpus.split_abc_tunes(abc_corpus.read_abc_file(path)), start=1):
            if limit is not None and count >= limit:
                return
            count += 1
            tune_id = f"{path.name}#{i}"
            if path.name in UNEDITED_COPIES and label.isdigit() and int(label) >= UNEDITED_COPIES[path.name]:
                _skip(skipped, tune_id, SKIP_UNEDITED)
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    notes, _events = abc_corpus.melody_from_abc(first_voice_only(text), expand_repeats=False)
            except Exception as exc:  # music21 raises many kinds on malformed ABC
                _skip(skipped, tune_id, f"ABC parse error: {type(exc).__name__}")
                continue
            if len(notes) < MIN_NOTES:
                _skip(skipped, tune_id, f"fewer than {MIN_NOTES} notes")
                continue
            yield HeldOutMelody(tune_id, tune_id, _abc_title(text), notes)


def palestrina_melodies(limit: int | None = None, skipped: list | None = None) -> Iterator[HeldOutMelody]:
    """The top voice of each Palestrina mass movement, grouped by mass; ``limit`` stops after that many files."""
    from music21 import converter

    for path in collection_files(PALESTRINA)[:limit]:
        text = path.read_text(encoding="utf-8", errors="replace")
        match = _MASS_LINE.search(text)
        mass = _MASS_NUMBER.sub("", match.group(1)) if match else path.stem
        movement = _MOVEMENT_LINE.search(text)
        title = f"{match.group(1) if match else path.stem}: {movement.group(1) if movement else path.stem}"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                score = converter.parse(path, format="humdrum")
                notes, _events = abc_corpus.score_to_melody(score, expand_repeats=False)
        except Exception as exc:  # music21's Humdrum parser raises many kinds on odd files
            _skip(skipped, path.name, f"Humdrum parse error: {type(exc).__name__}")
            continue
        if len(notes) < MIN_NOTES:
            _skip(skipped, path.name, f"fewer than {MIN_NOTES} notes")
            continue
        yield HeldOutMelody(path.name, mass, title, notes)


def _skip(skipped: list | None, item_id: str, reason: str) -> None:
    if skipped is not None:
        skipped.append((item_id, reason))


def heldout_melodies(name: str, limit: int | None = None, skipped: list | None = None) -> Iterator[HeldOutMelody]:
    """The melodies of held-out collection ``name`` (see the module docstring)."""
    if name == MISC_FOLK:
        return misc_folk_melodies(limit, skipped)
    if name == PALESTRINA:
        return palestrina_melodies(limit, skipped)
    raise ValueError(f"{name!r} is not a held-out collection (use one of {COLLECTIONS})")


def split_by_group(groups, first_share: float, seed: int = 0) -> set[str]:
    """The groups that go to the first side: a seeded shuffle of the distinct groups, the first
    ``round(first_share * count)`` of them (at least one on each side when there are two or more)."""
    if not 0.0 < first_share < 1.0:
        raise ValueError(f"the first side's share must be between 0 and 1, not {first_share}")
    distinct = sorted(set(groups), key=lambda g: hashlib.sha1(f"{seed}\0{g}".encode()).hexdigest())
    count = round(first_share * len(distinct))
    if len(distinct) >= 2:
        count = min(max(count, 1), len(distinct) - 1)
    return set(distinct[:count])


def file_name(melody: HeldOutMelody) -> str:
    """A MIDI file name for a melody: ``americanfifeopus_012.mid`` for tune 12 of a file, ``Agnus_01.mid``."""
    source, _, tune = melody.id.partition("#")
    stem = Path(source).stem + (f"_{int(tune):03d}" if tune else "")
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem) + ".mid"


def _clear_previous_export(out: Path) -> None:
    """Remove the MIDI files an earlier export wrote into ``out`` (listed in its manifest), so none is scored
    stale; refuse a folder holding other MIDI files."""
    manifest = out / "manifest.json"
    previous = set()
    if manifest.is_file():
        try:
            previous = {str(f["file"]) for f in json.loads(manifest.read_text())["files"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{manifest} is not a manifest this script wrote ({exc}): choose another folder") from None
    strangers = sorted(p.name for p in out.glob("*.mid*") if p.name not in previous)
    if strangers:
        raise UserError(f"{out} holds MIDI files this script did not write ({', '.join(strangers[:3])}): "
                        "choose an empty folder")
    for name in previous:
        (out / Path(name).name).unlink(missing_ok=True)


def _write(melodies: list[HeldOutMelody], out: Path, collection: str, note: str) -> dict:
    from composer_app.export import write_midi

    out.mkdir(parents=True, exist_ok=True)
    _clear_previous_export(out)
    entries = []
    for m in melodies:
        name = file_name(m)
        write_midi(out / name, m.notes, name=m.title or m.id)
        entries.append({"file": name, "source": f"{collection}/{m.id}", "group": m.group, "title": m.title,
                        "notes": len(m.notes)})
    manifest = {"collection": collection, "note": note, "files": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def export(name: str, out, *, eval_out=None, tune_share: float = 0.5, seed: int = 0,
           limit: int | None = None) -> dict:
    """Write the melodies of collection ``name`` as MIDI files into ``out``; with ``eval_out``, split them by
    group: a ``tune_share`` of the groups into ``out`` (for fine-tuning), the rest into ``eval_out``.

    Returns a summary: ``{"written": {folder: files}, "duplicates": [...], "skipped": [(id, reason)]}``.
    """
    skipped: list = []
    seen: dict[str, str] = {}
    duplicates: list[str] = []
    melodies: list[HeldOutMelody] = []
    for m in heldout_melodies(name, limit, skipped):
        key = fingerprint(m.notes)
        if key in seen:
            duplicates.append(f"{m.id} (the melody of {seen[key]})")
            continue
        seen[key] = m.id
        melodies.append(m)
    note = "the first part (top voice) of each piece, repeats as written (not expanded)"
    if eval_out is None:
        parts = {Path(out): (melodies, note)}
    else:
        first = split_by_group([m.group for m in melodies], tune_share, seed)
        unit = "mass" if name == PALESTRINA else "tune"
        parts = {Path(out): ([m for m in melodies if m.group in first],
                             f"{note}; the fine-tuning side of a split by {unit}, seed {seed}, "
                             f"share {tune_share}; the other side is {Path(eval_out).name}"),
                 Path(eval_out): ([m for m in melodies if m.group not in first],
                                  f"{note}; the evaluation side of a split by {unit}, seed {seed}, "
                                  f"share {1 - tune_share:g}; the other side is {Path(out).name}")}
    written = {str(folder): len(_write(ms, folder, name, text)["files"]) for folder, (ms, text) in parts.items()}
    return {"written": written, "duplicates": duplicates, "skipped": skipped}
