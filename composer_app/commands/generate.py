"""``everybody-compose generate``: a melody for a rhythm, written as MIDI (and WAV) — the original's job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command imports its heavy parts when it runs
    import numpy as np

    from composer_app.notes import Notes

NAME = "generate"
HELP = "Generate a melody for a rhythm (.npy, MIDI or take) and write it as a MIDI file."
ORDER = 35
MIDI_SUFFIXES = (".mid", ".midi")
#: The most variations one call writes (each is a row of one batch: more cost time and say little more).
MAX_VARIATIONS = 16


def add_arguments(p) -> None:
    p.add_argument("-s", "--source", required=True,
                   help="rhythm: .npy array (n, 2) of (rest, duration) seconds, a MIDI file, or a take")
    p.add_argument("-o", "--output", required=True, help="MIDI file to write (.mid or .midi)")
    p.add_argument("-m", "--model-name", choices=["vanilla_rnn", "lstm_attn", "attention_rnn"],
                   default="lstm_attn", help="architecture of the shipped offline model to use (default lstm_attn)")
    p.add_argument("-c", "--checkpoint", default=None, help="checkpoint file instead of the shipped model")
    p.add_argument("-t", "--profile", default="default", help="sampling profile: default, safer, wilder, beam (the likeliest of 4 lines), …")
    p.add_argument("--profiles-file", default=None, help="TOML file of profiles (default: bundled/user)")
    p.add_argument("--seed", type=int, default=None, help="random seed: the same seed gives the same file")
    p.add_argument("--hints", nargs="+", default=None, help="first notes as scale degrees (1 = middle C) or names")
    p.add_argument("--scale", default=None, help='lock to a key, e.g. "C major", "A minor"')
    p.add_argument("--low", type=int, default=None, help="lowest MIDI pitch allowed (0-127)")
    p.add_argument("--high", type=int, default=None, help="highest MIDI pitch allowed (0-127)")
    p.add_argument("--temperature", type=float, default=None,
                   help="below 1 sharper (safer melodies), above 1 flatter (more adventurous); default: the "
                        "profile's")
    p.add_argument("--tempo", type=float, default=None,
                   help="tempo written to the file, BPM (default: a take's own tempo, else 120)")
    p.add_argument("--program", type=int, default=0, help="General MIDI program 0-127 (default 0, piano)")
    p.add_argument("--wav", default=None, help="also render a WAV file through FluidSynth")
    p.add_argument("--soundfont", default=None, help=".sf2 for --wav (default: bundled General MIDI)")
    p.add_argument("--variations", type=int, default=1, metavar="N",
                   help=f"write N different melodies (1-{MAX_VARIATIONS}) to audition, drawn in one batch and "
                        "numbered the model's likeliest first: OUT-1.mid ... OUT-N.mid (and WAVs alike)")
    add_selection_arguments(p)
    add_musical_time_arguments(p)


def add_selection_arguments(p) -> None:
    p.add_argument("--only", default=None, metavar="NOTES",
                   help="compose only these notes again, by number (1 = the first): 9-16, or 3-5,9; every other "
                        "note is written unchanged, and the new ones are composed to lead into the notes after them")
    p.add_argument("--bars", default=None, metavar="BARS",
                   help="compose only the notes starting in these bars (1 = the first), at the source's tempo and "
                        "metre (a take's own, a MIDI file's, or --tempo/--time-signature): 3-4")
    p.add_argument("--lock", default=None, metavar="NOTES",
                   help="keep these notes whatever else changes, by number: 3,7,12")


# -- musical time and contour: tempo, metre, quantize and steering ------------------------------------------------


def add_musical_time_arguments(p) -> None:
    p.add_argument("--time-signature", default=None,
                   help="metre written to the file: 4/4, 3/4, 6/8 ... (default: a take's own, else 4/4)")
    p.add_argument("--quantize", default="off",
                   help="move the notes onto a grid at the tempo in the file: off (default), 1/8, 1/16, 1/8t "
                        "(eighth-note triplets)")
    p.add_argument("--steer", type=float, default=0.0,
                   help="0-1: follow the up/down contour of the source's own pitches (a MIDI file or a take); "
                        "0 (default) = the model alone, 1 = always the source's direction")


def musical_time_of(args) -> dict:
    """``tempo_bpm``, ``time_signature`` and ``quantize`` for the file: the options, else a take's own."""
    from composer_app.musical_time import DEFAULT_BPM, check_tempo, parse_grid, parse_time_signature
    from composer_app.rhythm import TAKE_SUFFIXES

    tempo, metre = args.tempo, args.time_signature
    if (tempo is None or metre is None) and Path(args.source).suffix.lower() in TAKE_SUFFIXES:
        from composer_app.live.recovery import load_take

        take = load_take(args.source)
        tempo = take.tempo_bpm if tempo is None else tempo
        metre = take.time_signature if metre is None else metre
    return {"tempo_bpm": check_tempo(DEFAULT_BPM if tempo is None else tempo),
            "time_signature": parse_time_signature("4/4" if metre is None else metre),
            "quantize": parse_grid(args.quantize)}


@dataclass
class Source:
    """The file generated for, read once: its rhythm (``rests``, ``durs`` in seconds) and, for a MIDI file or
    a take, its ``melody`` (None for a bare ``.npy`` rhythm)."""

    path: Path
    rests: np.ndarray
    durs: np.ndarray
    melody: Notes | None = None

    @classmethod
    def read(cls, path) -> Source:
        from composer_app.rhythm import has_pitches, load_melody, load_rhythm, rhythm_of

        path = Path(path)
        if has_pitches(path):
            melody = load_melody(path)
            return cls(path, *rhythm_of(melody, str(path)), melody)
        return cls(path, *load_rhythm(path))


def source_contour(source: Source):
    """The up/down contour of the source's own pitches (one direction per note of its rhythm)."""
    import numpy as np

    from composer_app.errors import UserError
    from composer_app.pitches import contour_of

    if source.melody is None:
        raise UserError(f"--steer: {source.path} is a rhythm without pitches, so it has no contour to follow "
                        "(give a MIDI file or a take)")
    if not np.any(source.melody.pitches > 0):
        raise UserError(f"--steer: {source.path} has no pitches, so it has no contour to follow")
    return contour_of(source.melody.pitches)


@dataclass
class Selection:
    """What ``--only``/``--bars``/``--lock`` keep: ``fixed`` pitches (-1 where a note is composed again; None:
    compose every note) and, for a MIDI source, its melody as read (the file is then rewritten in place of a
    new one, so everything outside the selection stays as the file has it)."""

    fixed: object = None
    midi_source: object = None


def selection_of(args, timing: dict, source: Source) -> Selection:
    """The notes the options keep, checked against the source (which must have pitches to keep)."""
    import numpy as np

    from composer_app.errors import UserError
    from composer_app.infill import file_time, fixed_pitches, notes_in_bars, notes_numbered
    from composer_app.musical_time import parse_time_signature

    if args.only is None and args.bars is None and args.lock is None:
        return Selection()
    if args.only is not None and args.bars is not None:
        raise UserError("give --only or --bars, not both")
    melody, count = source.melody, len(source.rests)
    if melody is None:
        raise UserError(f"{args.source} is a rhythm without pitches: there is nothing to keep (--only, --bars and "
                        "--lock need a MIDI file or a take)")
    suffix = source.path.suffix.lower()
    change = np.ones(count, dtype=bool)
    if args.only is not None:
        change = notes_numbered(args.only, count, "--only")
    elif args.bars is not None:
        bpm, metre = timing["tempo_bpm"], timing["time_signature"]
        if suffix in MIDI_SUFFIXES:
            file_bpm, file_metre = file_time(args.source)
            bpm = args.tempo or file_bpm or bpm
            metre = parse_time_signature(args.time_signature) if args.time_signature else file_metre or metre
        change = notes_in_bars(args.bars, melody.starts, bpm, metre)
        if not change.any():
            raise UserError(f"--bars {args.bars}: no note starts there (at {bpm:g} BPM, {metre})")
    locked = notes_numbered(args.lock, count, "--lock") if args.lock is not None else None
    fixed = fixed_pitches(melody.pitches, change, locked)
    if suffix in MIDI_SUFFIXES:
        if args.quantize != "off":
            raise UserError("--quantize would move the notes kept by --only/--bars/--lock: leave it off")
        return Selection(fixed, melody)
    return Selection(fixed)


def check_outputs(args) -> None:
    """Every file the command writes, and what writing it needs, checked before anything is computed or
    written: a mistake in ``--wav`` never leaves a MIDI file behind."""
    from composer_app.errors import UserError
    from composer_app.export import check_can_render, check_not_an_input, check_output, check_program

    if not 1 <= args.variations <= MAX_VARIATIONS:
        raise UserError(f"--variations must be 1-{MAX_VARIATIONS}, not {args.variations}")
    for midi_path in output_paths(args.output, args.variations):
        midi = check_output(midi_path, MIDI_SUFFIXES, "the output (-o)")
        check_not_an_input(midi, [args.source], "the output (-o)")
    check_program(args.program)
    if args.wav:
        for wav_path in output_paths(args.wav, args.variations):
            wav = check_output(wav_path, (".wav",), "--wav")
            check_not_an_input(wav, [args.source], "--wav")
            if wav.resolve() == midi.resolve():
                raise UserError("--wav and -o name the same file")
        check_can_render(args.soundfont)


def output_paths(path, count: int) -> list[Path]:
    """``path`` itself for one melody; ``NAME-1.mid`` ... ``NAME-N.mid`` beside it for N variations."""
    path = Path(path)
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, count + 1)]


def run(args) -> int:
    import sys

    import numpy as np
    import torch
    from tqdm import tqdm

    from composer_app.checkpoints import default_checkpoint, load_checkpoint
    from composer_app.export import (
        build_midi,
        check_wav_length,
        render_audio,
        save_midi,
        ticks_per_beat,
        write_wav,
    )
    from composer_app.notes import Notes
    from composer_app.pitches import parse_hint
    from composer_app.sampling import generate, generate_variations, read_profiles, settings_from_profile

    # Generation steps a few rows at a time: one torch thread, set once for this program.
    torch.set_num_threads(1)
    check_outputs(args)
    source = Source.read(args.source)
    rests, durs = source.rests, source.durs
    if args.wav:
        check_wav_length(float(np.sum(rests) + np.sum(durs)))
    timing = musical_time_of(args)
    ticks_per_beat(float(np.sum(rests) + np.sum(durs)), timing["tempo_bpm"])  # the melody fits a MIDI file
    selection = selection_of(args, timing, source)
    hints = tuple(parse_hint(h) for h in args.hints) if args.hints else None
    settings = settings_from_profile(args.profile, args.profiles_file, hints=hints, scale=args.scale,
                                     low=args.low, high=args.high, temperature=args.temperature,
                                     steer=args.steer or None)
    for message in read_profiles(args.profiles_file).messages():  # the other profiles' problems, said once
        print(f"everybody-compose generate: warning: {message}", file=sys.stderr)
    contour = None
    if args.steer:  # asked for here: a source without pitches is an error; a profile's steer needs one to act
        contour = source_contour(source)
    elif settings.steer > 0 and source.melody is not None:
        contour = source_contour(source)
    ckpt = args.checkpoint or default_checkpoint(args.model_name, "offline")
    loaded = load_checkpoint(ckpt, architecture=None if args.checkpoint else args.model_name)
    bar = tqdm(total=len(rests), desc=f"{settings.strategy} {loaded.architecture}", unit="beat",
               disable=len(rests) < 200)

    def progress(done, total):
        bar.update(done - bar.n)

    if args.variations == 1:
        melodies = [generate(loaded, rests, durs, settings, seed=args.seed, progress=progress, contour=contour,
                             fixed=selection.fixed)]
    else:
        melodies = generate_variations(loaded, rests, durs, settings, args.variations, seed=args.seed,
                                       progress=progress, contour=contour, fixed=selection.fixed)
    bar.close()
    rhythm = Notes.from_beats(rests, durs)
    if selection.midi_source is not None:  # the source file itself, only the chosen notes' pitches changed
        from composer_app.infill import midi_with_pitches

        files = [midi_with_pitches(args.source, selection.midi_source, pitches) for pitches in melodies]
    else:
        files = [build_midi(rhythm.with_pitches(pitches), program=args.program, **timing) for pitches in melodies]
    audio = [render_audio(pm, soundfont=args.soundfont) for pm in files] if args.wav else None  # before writing
    wav_paths = output_paths(args.wav, len(files)) if args.wav else []
    for i, (path, pm, pitches) in enumerate(zip(output_paths(args.output, len(files)), files, melodies,
                                                strict=True)):
        out = save_midi(path, pm)
        print(f"wrote {out}: {len(pitches)} notes, pitches {pitches.min()}-{pitches.max()}, "
              f"{loaded.label}, profile {args.profile}" + (f", seed {args.seed}" if args.seed is not None else ""))
        if audio is not None:
            print(f"wrote {write_wav(wav_paths[i], audio[i])}")
    return 0
