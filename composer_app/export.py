"""Writing melodies out: a MIDI file any DAW opens, and a WAV rendered through FluidSynth.

Files are written atomically (:mod:`composer_app.atomic`): a failure never leaves a half-written file and
never destroys an older file of the same name.
"""

from __future__ import annotations

import contextlib
import os
import sys
import wave
from pathlib import Path

import numpy as np
import pretty_midi

from composer_app.atomic import atomic_write
from composer_app.errors import UserError
from composer_app.musical_time import check_tempo, parse_grid, parse_time_signature
from composer_app.musical_time import quantize as quantize_notes
from composer_app.notes import Notes
from composer_app.resources import default_soundfont

TICKS_PER_BEAT = 960
#: pretty_midi, through which the app and many tools read MIDI, refuses a file whose last event lies past this tick
#: ("likely corrupt"); far below MIDI's own limit between two events (0x0FFFFFFF ticks).
MAX_TICK = int(pretty_midi.pretty_midi.MAX_TICK) - 1
#: The coarsest time grid a long melody is written on (standard files use 96 to 960 ticks per beat).
MIN_TICKS_PER_BEAT = 96
#: The longest WAV rendered: 20 minutes are about 0.4 GB of samples while FluidSynth renders them.
MAX_WAV_SECONDS = 20 * 60.0
#: The largest soundfont read for a WAV (big General MIDI fonts are a few hundred MB).
MAX_SOUNDFONT_BYTES = 2 << 30


def ticks_per_beat(length_s: float, tempo_bpm: float) -> int:
    """The file's time grid: :data:`TICKS_PER_BEAT`, or coarser for a melody so long that its last tick would
    lie past :data:`MAX_TICK`; a :class:`UserError` when even the coarsest grid cannot hold it."""
    check_tempo(float(tempo_bpm))  # the one tempo range (musical_time); float: a numpy number shown as a number
    if not np.isfinite(length_s) or length_s < 0:
        raise UserError(f"the melody's times are not valid (it ends at {length_s} s)")
    beats = length_s * tempo_bpm / 60.0
    fit = int((MAX_TICK - 1) // max(beats, 1.0))  # one tick to spare for rounding
    if fit < MIN_TICKS_PER_BEAT:
        most = MAX_TICK / MIN_TICKS_PER_BEAT * 60.0 / tempo_bpm
        raise UserError(f"the melody lasts {_duration(length_s)}: a MIDI file at {tempo_bpm:g} BPM holds at most "
                        f"{_duration(most)} (shorten the rhythm, or choose a slower tempo)")
    return min(TICKS_PER_BEAT, fit)


def _duration(seconds: float) -> str:
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.3g} days"


def check_program(program: int) -> None:
    if not 0 <= int(program) <= 127:
        raise UserError(f"General MIDI program must be 0-127, not {program}")


def check_output(path, suffixes: tuple[str, ...], what: str) -> Path:
    """``path`` as a file this program may write: the right suffix, in a folder that exists and is writable, not
    a folder itself. Commands check every output this way before writing any."""
    p = Path(path).expanduser()
    if p.suffix.lower() not in suffixes:
        raise UserError(f"{what} must be a {' or '.join(suffixes)} file, not {p}")
    if p.is_dir():
        raise UserError(f"cannot write {p}: it is a folder")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"cannot write {p}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {p}: folder {folder} is not writable")
    return p


def check_not_an_input(output, inputs, what: str = "the output") -> None:
    """A UserError when ``output`` names the same file as one of ``inputs`` (through links, ``..`` or another
    spelling): ``generate -s x.mid -o x.mid`` would replace the user's source with the melody made from it."""
    out = Path(output).expanduser()
    for given in inputs:
        source = Path(given).expanduser()
        same = out.resolve() == source.resolve()
        if not same and out.exists() and source.exists():
            same = os.path.samefile(out, source)
        if same:
            raise UserError(f"{what} {out} is the file read as input ({source}); it would be overwritten: choose "
                            "another output name")


def check_can_render(soundfont=None) -> Path:
    """The soundfont :func:`render_audio` would use, after checking that FluidSynth is there and loads it.

    A file FluidSynth cannot read must be refused here: pretty_midi otherwise renders silently with whatever
    soundfont it falls back on, and the user gets a WAV of another sound. A pipe or a device is refused unread.
    """
    sf2 = Path(soundfont).expanduser() if soundfont else default_soundfont()
    if not sf2.exists():
        raise UserError(f"soundfont not found: {sf2}")
    if not sf2.is_file():
        raise UserError(f"the soundfont {sf2} is not a regular file (a folder, a device or a pipe)")
    if sf2.stat().st_size > MAX_SOUNDFONT_BYTES:
        raise UserError(f"the soundfont {sf2} is larger than {MAX_SOUNDFONT_BYTES >> 30} GiB; it is not read")
    try:
        with open(sf2, "rb") as f:
            head = f.read(12)
    except OSError as exc:
        raise UserError(f"cannot read the soundfont {sf2}: {exc.strerror or exc}") from None
    if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise UserError(f"{sf2} is not a SoundFont (.sf2) file, or it is damaged: no WAV was made with it")
    try:
        import fluidsynth  # (pyfluidsynth, which pretty_midi renders through)
    except (ImportError, OSError) as exc:
        raise UserError(f"cannot render audio: FluidSynth is not available ({exc})") from None
    synth = fluidsynth.Synth()
    try:
        with quiet_stderr():  # FluidSynth prints its own lines for a bad file; the command says it in one
            loaded = synth.sfload(str(sf2))
        if loaded < 0:
            raise UserError(f"{sf2} is a damaged SoundFont: FluidSynth cannot read it, so no WAV was made with it")
    finally:
        synth.delete()
    return sf2


@contextlib.contextmanager
def quiet_stderr():
    """Silence the C library's writes to stderr (file descriptor 2) for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def check_wav_length(seconds: float) -> None:
    """A UserError when a WAV of ``seconds`` would be longer than :data:`MAX_WAV_SECONDS` (FluidSynth renders it
    whole in memory: a 14-hour rhythm took 16.6 GiB)."""
    if not seconds <= MAX_WAV_SECONDS:
        raise UserError(f"the melody lasts {_duration(seconds)}; --wav renders at most "
                        f"{MAX_WAV_SECONDS / 60:.0f} minutes (write the MIDI file alone, and render it elsewhere)")


def build_midi(notes: Notes, *, tempo_bpm: float = 120.0, program: int = 0, time_signature=(4, 4),
               name: str = "Everybody Compose", quantize: str | None = None) -> pretty_midi.PrettyMIDI:
    """One instrument track with the ``notes`` exactly where the rhythm puts them (within one tick of the file's
    grid, :func:`ticks_per_beat`).

    Time 0 is bar 1 beat 1 of ``time_signature`` ("3/4", (3, 4)) at ``tempo_bpm`` (quarter notes per
    minute). ``quantize`` (``1/8``, ``1/16``, ``1/8t``; None or ``off``: as played) moves the notes onto that
    grid in the file only (:func:`composer_app.musical_time.quantize`).
    """
    check_program(program)
    metre = parse_time_signature(time_signature)
    grid = parse_grid(quantize)
    starts, ends = notes.starts, notes.ends
    if len(starts) and not (np.isfinite(starts).all() and np.isfinite(ends).all() and starts.min() >= 0):
        raise UserError("the melody has negative, NaN or infinite times")
    if grid != "off":
        starts, ends = quantize_notes(starts, ends, check_tempo(tempo_bpm), grid)
    length = float(max(ends.max(), starts.max() + 1e-3)) if len(starts) else 0.0
    resolution = ticks_per_beat(length, tempo_bpm)
    if grid != "off":
        resolution -= resolution % 12  # every grid (1/8, 1/16, 1/8t) a whole number of ticks
    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=float(tempo_bpm))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(metre.numerator, metre.denominator, 0.0))
    inst = pretty_midi.Instrument(program=int(program), name=name)
    for s, e, p, v in zip(starts, ends, notes.pitches, notes.velocities, strict=True):
        inst.notes.append(pretty_midi.Note(velocity=int(np.clip(v, 1, 127)), pitch=int(p), start=float(s),
                                           end=float(max(e, s + 1e-3))))
    pm.instruments.append(inst)
    return pm


def write_midi(path, notes: Notes, **options) -> Path:
    """Write ``notes`` as a MIDI file (see :func:`build_midi` for ``options``); returns the path written."""
    return save_midi(path, build_midi(notes, **options))


def save_midi(path, pm: pretty_midi.PrettyMIDI) -> Path:
    """Write a built MIDI file atomically; returns the path written."""
    return atomic_write(path, lambda tmp: pm.write(tmp))


def render_audio(pm: pretty_midi.PrettyMIDI, sample_rate: int = 44100, soundfont=None) -> np.ndarray:
    """Float audio in [-1, 1] rendered through FluidSynth (pyfluidsynth) with the bundled soundfont (or
    ``soundfont``), after checking that soundfont and the length (:func:`check_wav_length`)."""
    check_wav_length(pm.get_end_time())
    sf2 = check_can_render(soundfont)
    try:
        audio = pm.fluidsynth(fs=sample_rate, synthesizer=str(sf2))
    except (ImportError, OSError) as exc:
        raise UserError(f"cannot render audio: FluidSynth is not available ({exc})") from None
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return audio / peak * 0.9 if peak > 0 else audio


def write_wav(path, audio: np.ndarray, sample_rate: int = 44100) -> Path:
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")

    def write(tmp):
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm.tobytes())

    return atomic_write(path, write)
