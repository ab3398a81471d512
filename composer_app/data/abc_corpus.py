"""Melodies from the folk-tune collections bundled with music21 (ABC notation).

Only three collections are used for training: ``ryansMammoth``, ``essenFolksong`` and ``oneills1850``
(:data:`COLLECTIONS`). music21's other collections are kept for independent evaluation, so
:func:`collection_files` refuses them.

An ABC file holds many tunes. :func:`split_abc_tunes` cuts it at ``X:`` lines and gives every tune the
file header (the lines before the first ``X:``), because ABC lets a header set defaults for all tunes.
Each tune is parsed with music21's ABC parser and reduced to one melody line in seconds
(:func:`score_to_melody`):

* only the first part is used; chords become their highest pitch; grace notes and chord symbols are
  skipped; several voices in the part are reduced with the skyline rule; rests stay as gaps;
* repeats are expanded (music21 ``expandRepeats``), after adding the start-repeat bars ABC leaves
  implicit (:func:`imply_repeat_starts`; without them music21 plays ``A :| B :|`` as A A AB AB). music21
  still fails on some tunes and mis-expands a few malformed ones, so a failure or a result more than
  :data:`MAX_REPEAT_RATIO` times the written length falls back to the written order;
* accidentals hold to the end of the bar (see :func:`parse_abc_tune`);
* ties are merged (``stripTies``) so a tied note is one note, as it is played;
* offsets become seconds through the tune's tempo marking, 120 quarter notes per minute when it has none
  (almost every tune). music21 reads a bare ``Q:80`` as 80 *quarter* notes per minute whatever ``L:`` is
  (ABC 1.6 meant 80 ``L:`` units); we keep music21's reading.

Heavy imports (music21) happen inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from composer_app.data.melody import skyline
from composer_app.notes import Notes

COLLECTIONS = ("ryansMammoth", "essenFolksong", "oneills1850")
DEFAULT_QPM = 120.0
#: Tempo markings outside this range (quarter notes per minute) are typos; the default is used instead.
PLAUSIBLE_QPM = (20.0, 400.0)
#: A repeat expansion longer than this many times the written tune is a mis-expansion.
MAX_REPEAT_RATIO = 2.5

_X_LINE = re.compile(r"^X:", re.MULTILINE)
_VERSION_LINE = re.compile(r"^%abc-\d", re.MULTILINE)

# Event labels reported by the summary (not skips: the tune is still used).
EVENT_REPEAT_FAILED = "repeat expansion failed, written order used"
EVENT_REPEAT_TOO_LONG = f"repeat expansion over {MAX_REPEAT_RATIO}x, written order used"
EVENT_BAD_TEMPO = "implausible tempo marking ignored"


def corpus_root() -> Path:
    """Folder of music21's bundled corpus."""
    from music21 import common

    return Path(common.getCorpusFilePath())


def collection_files(name: str) -> list[Path]:
    """The ABC files of one training collection, sorted by name (essen's ``test*.abc`` skipped).

    Essen's ``test*.abc`` files are 52 variants of a single test song: training on them would only teach
    that song.
    """
    if name not in COLLECTIONS:
        raise ValueError(
            f"music21 collection {name!r} is not a training collection (use one of {COLLECTIONS}); "
            "the other collections are reserved for independent evaluation"
        )
    folder = corpus_root() / name
    files = sorted(p for p in folder.glob("*.abc") if p.is_file())
    if name == "essenFolksong":
        files = [p for p in files if not p.name.startswith("test")]
    return files


def read_abc_file(path) -> str:
    """Text of an ABC file: UTF-8 when it is, else Latin-1 (older ABC files are)."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def split_abc_tunes(text: str) -> list[tuple[str, str]]:
    """Cut a multi-tune ABC text into ``(label, tune_text)`` pairs, one per ``X:`` line.

    ``label`` is the reference number after ``X:``; the file header (lines before the first ``X:``) is
    prepended to every tune when it holds anything. A text without any ``X:`` line is one tune labelled "".
    """
    starts = [m.start() for m in _X_LINE.finditer(text)]
    if not starts:
        return [("", text)] if text.strip() else []
    header = text[: starts[0]]
    prefix = header.rstrip("\n") + "\n\n" if header.strip() else ""
    tunes = []
    for i, s in enumerate(starts):
        body = text[s : starts[i + 1] if i + 1 < len(starts) else len(text)]
        first_line = body.split("\n", 1)[0]
        label = first_line[2:].strip()
        tunes.append((label, prefix + body))
    return tunes


def parse_abc_tune(text: str, *, carry_accidentals: bool = True):
    """Parse one ABC tune with music21 and return a ``music21.stream.Score``.

    With ``carry_accidentals`` (the default) a tune without a ``%abc-`` version line is read as ABC 2.1,
    where an accidental holds to the end of the bar, as in standard notation and abc2midi. music21 assumes
    ABC 1.3 without that line and applies each accidental to one note only, which turns e.g. Essen's
    ``_B2B2`` (B flat twice) into B flat, B natural.
    """
    from music21 import converter, stream

    if carry_accidentals and not _VERSION_LINE.search(text):
        text = "%abc-2.1\n" + text
    parsed = converter.parse(text, format="abc")
    if isinstance(parsed, stream.Opus):  # only when the text held several tunes after all
        scores = list(parsed.scores)
        if not scores:
            raise ValueError("ABC text holds no tune")
        parsed = scores[0]
    return parsed


def _in_repeat_bracket(measure) -> bool:
    from music21 import spanner

    return any(isinstance(s, spanner.RepeatBracket) for s in measure.getSpannerSites())


_SECTION_BARS = {"double", "final", "light-light", "light-heavy", "heavy-light", "heavy", "heavy-heavy"}


def _is_section_bar(barline) -> bool:
    from music21 import bar

    return (
        isinstance(barline, bar.Barline)
        and not isinstance(barline, bar.Repeat)
        and barline.type in _SECTION_BARS
    )


def imply_repeat_starts(part) -> int:
    """Add the start-repeat bar that ABC tunes leave out after a previous repeated section.

    ``A :| B :|`` means "A twice, B twice": a ``:|`` without a ``|:`` goes back to the end of the previous
    repeated section (after its endings, or after a later double bar), and only the first one goes back to
    the beginning. music21 sends
    every such ``:|`` back to the beginning (A A AB AB, about 3x the written length), which is how most
    "mis-expansions" in O'Neill's and Ryan's arise. Changes ``part`` in place; returns how many were added.
    """
    from music21 import bar, stream

    measures = list(part.getElementsByClass(stream.Measure))
    added = 0
    last_end = None
    start_seen = False
    for idx, m in enumerate(measures):
        if isinstance(m.leftBarline, bar.Repeat) and m.leftBarline.direction == "start":
            start_seen = True
        right = m.rightBarline
        if isinstance(right, bar.Repeat) and right.direction == "end":
            if not start_seen and last_end is not None:
                j = last_end + 1
                while j < idx and _in_repeat_bracket(measures[j]):  # skip the previous section's endings
                    j += 1
                for k in range(j, idx):  # a double bar after that starts the section (ends a 2nd ending)
                    if _is_section_bar(measures[k].rightBarline) or _is_section_bar(
                        measures[k + 1].leftBarline
                    ):
                        j = k + 1
                if not _in_repeat_bracket(measures[j]):
                    measures[j].leftBarline = bar.Repeat(direction="start")
                    added += 1
            last_end = idx
            start_seen = False
    return added


def expand_repeats_checked(part, max_ratio: float = MAX_REPEAT_RATIO):
    """Expand repeats of ``part``; fall back to the written order when music21 fails or overdoes it.

    Returns ``(stream, event)`` where ``event`` is ``None`` or one of the ``EVENT_REPEAT_*`` labels.
    """
    written = float(part.highestTime)
    try:
        imply_repeat_starts(part)
        expanded = part.expandRepeats()
    except Exception:  # music21 raises ExpanderException, but also IndexError/AttributeError on odd tunes
        return part, EVENT_REPEAT_FAILED
    length = float(expanded.highestTime)
    if written > 0 and length > max_ratio * written:
        return part, EVENT_REPEAT_TOO_LONG
    return expanded, None


def _tempo_map(flat) -> tuple[np.ndarray, np.ndarray, bool]:
    """Offsets (quarter lengths) where a tempo starts and its quarter notes per minute."""
    from music21 import tempo

    offsets, qpms = [0.0], [DEFAULT_QPM]
    bad = False
    for mm in flat.getElementsByClass(tempo.MetronomeMark):
        try:
            qpm = mm.getQuarterBPM()
        except Exception:
            qpm = None
        if qpm is None:
            continue
        qpm = float(qpm)
        if not (PLAUSIBLE_QPM[0] <= qpm <= PLAUSIBLE_QPM[1]):
            bad = True
            continue
        off = float(mm.offset)
        if off <= offsets[-1]:  # a mark at the same place replaces the previous one
            offsets[-1], qpms[-1] = max(off, offsets[-1]), qpm
        else:
            offsets.append(off)
            qpms.append(qpm)
    return np.asarray(offsets), np.asarray(qpms), bad


def quarters_to_seconds(q, offsets: np.ndarray, qpms: np.ndarray) -> np.ndarray:
    """Map quarter-length offsets to seconds through a piecewise-constant tempo map."""
    q = np.asarray(q, dtype=np.float64)
    spq = 60.0 / qpms  # seconds per quarter in each segment
    seg_secs = np.concatenate([[0.0], np.cumsum(np.diff(offsets) * spq[:-1])])
    k = np.clip(np.searchsorted(offsets, q, side="right") - 1, 0, len(offsets) - 1)
    return seg_secs[k] + (q - offsets[k]) * spq[k]


def score_to_melody(score, *, expand_repeats: bool = True) -> tuple[Notes, list[str]]:
    """Monophonic melody (in seconds) from the first part of a music21 score.

    Returns ``(melody, events)``; ``events`` lists what was worked around (see ``EVENT_*``).
    """
    from music21 import chord, harmony, note, stream

    events: list[str] = []
    parts = list(score.parts) if isinstance(score, stream.Score) else []
    part = parts[0] if parts else score
    # music21 builds measures only when a tune has two or more plain bar lines; without measures it has
    # dropped any repeat signs already, and expandRepeats would only raise: keep the written order.
    if expand_repeats and part.getElementsByClass(stream.Measure).first() is not None:
        part, event = expand_repeats_checked(part)
        if event:
            events.append(event)
    # In place: the part is already our own copy (a fresh parse or expansion), and music21's deepcopy of a
    # whole tune costs as much as the parse.
    part.stripTies(inPlace=True)
    flat = part.flatten()
    offsets, qpms, bad_tempo = _tempo_map(flat)
    if bad_tempo:
        events.append(EVENT_BAD_TEMPO)

    rows = []
    for el in flat.notes:
        if isinstance(el, harmony.Harmony):  # chord symbols ("Am") are not played notes
            continue
        ql = float(el.quarterLength)
        if ql <= 0:  # grace notes have no written duration
            continue
        if isinstance(el, chord.Chord):
            if not el.pitches:
                continue
            midi = max(p.midi for p in el.pitches)
        elif isinstance(el, note.Note):
            midi = el.pitch.midi
        else:  # unpitched percussion
            continue
        off = float(flat.elementOffset(el))
        rows.append((off, off + ql, midi))
    if not rows:
        return Notes.empty(), events
    q = np.asarray(rows, dtype=np.float64)
    secs = np.stack(
        [quarters_to_seconds(q[:, 0], offsets, qpms), quarters_to_seconds(q[:, 1], offsets, qpms), q[:, 2]],
        axis=1,
    )
    return skyline(secs), events


def melody_from_abc(text: str, *, expand_repeats: bool = True) -> tuple[Notes, list[str]]:
    """Parse one ABC tune and return ``(melody, events)`` (see :func:`score_to_melody`)."""
    return score_to_melody(parse_abc_tune(text), expand_repeats=expand_repeats)
