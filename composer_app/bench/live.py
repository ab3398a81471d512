"""Key-to-sound latency of the real live path, measured on one clock (``everybody-compose bench live``).

The rig (all of it the app's own code except the two JACK clients that play the musician and the ear):

    JackMidiSender ──JACK MIDI──> MidiInput (rtmidi, UNIX_JACK) ──> LiveEngine.press: model step, draw
        ──> Synth.note_on ──> AudioOutput (sounddevice, PortAudio's JACK host API) ──JACK audio──> JackRecorder

A private ``jackd -d dummy`` paces everything like a sound card, with its period equal to the block size
under test. The sender stamps each note-on with the JACK frame at which it left; the recorder stamps every
sample with its JACK frame; so *key-to-sound* = first audible sample of that note − send frame, with no clock
conversion. It includes what a player would hear: MIDI delivery, the model step, waiting for the next audio
block, and the instrument's own attack (about 1 ms for the percussive sound used here; see ``attack_ms``).

Why a woodblock: onsets must be told apart at 20 taps/s. The default piano's release rings ~200 ms and its
sample starts softly (it reaches -40 dBFS ~1-4 ms after the note-on, pitch-dependent), so its onsets would
be hidden in the previous note's tail; the woodblock starts at once, and with its release shortened (a
FluidSynth generator offset, bench only) it is silent ~5 ms after note-off. The piano's own extra attack is
measured offline and reported next to the numbers. A note whose send frame still falls in the previous note's
tail is counted as ``masked`` and left out, never guessed.

Two shares of the total are also measured on ``perf_counter``: ``engine_ms`` (MidiInput's callback -> note-on
sent: the hand-over to the engine thread, the model step and the draw) and ``block_wait_ms`` (note-on -> start of
the audio callback that rendered it). With a JACK period P, a note sent in cycle N sounds from cycle N+1 when the
engine is done within P, else from N+2: the engine's time is what decides the tail.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from composer_app.clock import ns_to_ms
from composer_app.errors import UserError
from composer_app.platform_help import JACK, install_hint

BLOCK_SIZES = (64, 128, 256)
RATE = 44100
THRESHOLD = 0.01  # -40 dBFS: the first audible sample
PROGRAM = 115  # GM Wood Block
#: Pitches the bench lets the model draw: the woodblock rings at most ~13 ms after release there (deeper notes
#: ring up to 55 ms and would hide the next onset at 20 taps/s). The model step costs the same for any range.
PITCH_RANGE = (72, 96)
#: Before a note is sent the recording must be this quiet (-52 dBFS), or its onset cannot be told from the tail
#: of the note before; such notes are counted as ``masked``.
QUIET = THRESHOLD / 4
DEFAULT_ARCH = "lstm_attn"
GEN_VOLENVRELEASE = 38  # SoundFont 2 generator number
HUMAN_RATE_HZ = (2.0, 6.0)
STRESS_RATE_HZ = 20.0


@dataclass(frozen=True)
class Tap:
    at_s: float  # press time from the pattern start
    hold_s: float
    pattern: str


def human_taps(n: int, rng: np.random.Generator, t0: float = 0.0) -> list[Tap]:
    """Human-like tapping: 2-6 taps per second with jittered intervals, keys held 30-60 % of the gap."""
    taps, t = [], t0
    for _ in range(n):
        gap = 1.0 / rng.uniform(*HUMAN_RATE_HZ)
        taps.append(Tap(t, gap * rng.uniform(0.3, 0.6), "human"))
        t += gap
    return taps


def stress_taps(n: int, t0: float = 0.0) -> list[Tap]:
    """20 taps per second, 15 ms presses: a drum roll on a pad."""
    return [Tap(t0 + k / STRESS_RATE_HZ, 0.015, "stress") for k in range(n)]


def instrument_attack_ms(program: int, threshold: float = THRESHOLD, pitches=(48, 60, 72, 84)) -> float:
    """Median time from note-on to the first sample above ``threshold``, rendered offline (no reverb):
    the part of key-to-sound that belongs to the instrument's sample, not to the app."""
    from composer_app.live.synth import Synth

    out = []
    with Synth(program=program, reverb=False, samplerate=RATE) as s:
        for p in pitches:
            s.render(1024)
            s.note_on(p, 100)
            block = np.abs(s.render(RATE // 10).astype(np.float64) / 32768).max(axis=1)
            s.all_notes_off(immediate=True)
            s.render(RATE // 2)
            loud = np.nonzero(block > threshold)[0]
            if len(loud):
                out.append(loud[0] / RATE * 1000)
    return float(np.median(out)) if out else float("nan")


def _short_release(synth, offset_timecents: float = -6000.0) -> bool:
    """Make the bench instrument stop ~30x faster after note-off (FluidSynth's volume-envelope release generator,
    offset on channel 0), so that at 20 taps/s each onset starts from silence. Only the release changes: the
    attack, and so the latency, stays the instrument's own. False when this FluidSynth does not allow it."""
    import ctypes

    try:
        import fluidsynth

        set_gen = fluidsynth._fl.fluid_synth_set_gen
        set_gen.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_float]
        set_gen.restype = ctypes.c_int
        return set_gen(synth._fs.synth, synth.channel, GEN_VOLENVRELEASE, offset_timecents) == 0
    except (ImportError, AttributeError, OSError):
        return False


def latency_stats(values_ms: list[float]) -> dict:
    a = np.asarray(values_ms, dtype=np.float64)
    if a.size == 0:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "jitter_ms": float("nan"), "max_ms": float("nan"),
                "min_ms": float("nan"), "count": 0}
    p50, p99 = np.percentile(a, 50), np.percentile(a, 99)
    return {"p50_ms": round(float(p50), 3), "p99_ms": round(float(p99), 3), "jitter_ms": round(float(p99 - p50), 3),
            "min_ms": round(float(a.min()), 3), "max_ms": round(float(a.max()), 3), "count": int(a.size)}


class _Env:
    """Points libjack and PortAudio at the private server for the duration, then puts everything back."""

    def __init__(self, server):
        self.server = server
        self.saved: dict[str, str | None] = {}

    def __enter__(self):
        from composer_app.live.audio import refresh_devices

        self.saved = {k: os.environ.get(k) for k in self.server.env()}
        os.environ.update(self.server.env())
        refresh_devices()
        return self

    def __exit__(self, *exc):
        from composer_app.live.audio import refresh_devices

        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        refresh_devices()  # PortAudio lets go of its JACK client before the server goes


def measure_block(blocksize: int, loaded, taps: list[Tap], *, program: int = PROGRAM, rate: int = RATE,
                  server=None, latency="low", progress=None, handoff: bool | None = None) -> dict:
    """Play ``taps`` through the whole path with JACK period = ``blocksize``; latency statistics.

    ``server``: an already running :class:`~composer_app.bench.jack_rig.JackServer` to use (its period is then
    what it is); default: start a private one for this block size.
    """
    from composer_app.bench import jack_rig
    from composer_app.live.audio import find_output_device
    from composer_app.live.engine import LiveEngine, step_stats
    from composer_app.live.midi_in import JACK_BACKEND
    from composer_app.live.synth import Synth
    from composer_app.sampling import SamplingSettings

    own = server is None
    if own:
        if jack_rig.jackd_path() is None:
            raise UserError(f"bench live needs jackd ({install_hint(JACK)})")
        server = jack_rig.JackServer(rate=rate, period=blocksize).start()
    seconds = (taps[-1].at_s + taps[-1].hold_s if taps else 0) + 3.0
    try:
        with _Env(server):
            device = find_output_device("JACK")
            if device is None:
                raise UserError("PortAudio sees no JACK output device (is libportaudio2 built with JACK?)")
            synth = Synth(program=program, reverb=False, samplerate=server.rate)
            short = _short_release(synth)
            engine = LiveEngine(loaded, audio=True, device=device, blocksize=blocksize, latency=latency, record=False,
                                synth=synth, seed=0,
                                settings=SamplingSettings(low=PITCH_RANGE[0], high=PITCH_RANGE[1]))
            rec = sender = None
            try:
                if handoff is not None:
                    engine.midi_in.handoff = handoff
                # Order matters on JACK: python-rtmidi holds the GIL while JACK runs a cycle, and every client
                # with a Python process callback (sound stream, recorder, sender) needs the GIL in that cycle.
                # So the MIDI input is opened before any of them run, as a virtual port the sender is
                # patched to (JACK-Client releases the GIL), and closed after they stopped.
                midi_port = engine.midi_in.open("bench-in", backend=JACK_BACKEND, virtual=True)
                engine.start()
                if not engine.sound.available:
                    raise UserError(f"the JACK output could not be opened: {engine.status.text('sound')}")
                rec = jack_rig.JackRecorder(server.name, name="ec-ear", seconds=seconds).activate()
                rec.connect(jack_rig.portaudio_output_ports(server.name, exclude=("system:", rec.name)))
                sender = jack_rig.JackMidiSender(server.name, name="ec-finger").activate()
                connect_midi(server, sender.port_name, midi_port)
                started: dict[int, object] = {}
                engine.note_started.connect(lambda ev: started.__setitem__(ev.index, ev))
                time.sleep(0.3)  # let the stream and the connection settle
                sends = _play(sender, taps, progress)
                time.sleep(0.3)
                result = _analyse(rec, sends, started, engine.sound.output.note_timings(), server.rate, blocksize)
                result["step"] = step_stats(engine.step_times_ns)
                result["underflows"] = engine.sound.output.underflows
                result["sound"] = engine.status.text("sound")
                result["short_release"] = short
            finally:
                for c in (sender, rec):
                    if c is not None:
                        c.close()
                engine.close()  # sound stream first, then MIDI
    finally:
        if own:
            server.stop()
    return result


def connect_midi(server, source: str, virtual_port: str) -> None:
    """Connect JACK MIDI ``source`` to the input port rtmidi made for ``virtual_port`` (its full JACK name
    ends with that name)."""
    client = server.client("ec-patch")
    try:
        ports = [p.name for p in client.get_ports(is_midi=True, is_input=True) if p.name.endswith(":" + virtual_port)]
        if not ports:
            raise UserError(f"the MIDI input {virtual_port!r} did not appear in JACK")
        client.connect(source, ports[0])
    finally:
        client.close()


def _play(sender, taps: list[Tap], progress=None) -> list[dict]:
    """Send the taps in real time; per tap the JACK frame at which its note-on left."""
    events = sorted([(t.at_s, 1, i) for i, t in enumerate(taps)] + [(t.at_s + t.hold_s, 0, i) for i, t in enumerate(taps)])
    sends = [dict(pattern=t.pattern) for t in taps]
    note = [36 + (i * 7) % 48 for i in range(len(taps))]  # MIDI keys vary; the model picks the pitch anyway
    t0 = time.perf_counter()
    for k, (at, on, i) in enumerate(events):
        delay = at - (time.perf_counter() - t0)
        if delay > 0:
            time.sleep(delay)
        if on:
            sends[i]["frame"] = sender.note_on(note[i], 100)
        else:
            sender.note_off(note[i])
        if progress is not None and k % 20 == 0:
            progress(k, len(events))
    return sends


def _analyse(rec, sends: list[dict], started: dict, timings, rate: int, blocksize: int) -> dict:
    """Onsets in the recording -> latency per note; plus the engine's own share on ``perf_counter``."""
    audio = np.abs(rec.audio).max(axis=1)
    first = rec.first_frame
    guard = max(64, blocksize)
    window = int(0.1 * rate)
    lat: dict[str, list[float]] = {"human": [], "stress": []}
    masked = missed = 0
    for s in sends:
        f = s["frame"] - first
        if f - guard < 0 or f >= len(audio):
            missed += 1
            continue
        if audio[f - guard:f].max() > QUIET:
            masked += 1  # still ringing from the note before: this onset cannot be seen
            continue
        loud = np.nonzero(audio[f:f + window] > THRESHOLD)[0]
        if len(loud) == 0:
            missed += 1
            continue
        lat[s["pattern"]].append(loud[0] / rate * 1000)
    engine_ms = [ns_to_ms(ev.timing.key_to_sound_ns) for ev in started.values()]
    wait_ms = [t.wait_s * 1000 for t in timings]
    out = latency_stats(lat["human"] + lat["stress"])
    out.update({
        "masked": masked, "missed": missed, "notes_started": len(started),
        "human": latency_stats(lat["human"]), "stress": latency_stats(lat["stress"]),
        # MIDI callback -> note-on sent (hand-over to the engine thread + model step + draw), and note-on -> start
        # of the audio callback that rendered it; both on perf_counter, both parts of the total above.
        "engine_ms": {k: v for k, v in latency_stats(engine_ms).items() if k in ("p50_ms", "p99_ms", "max_ms")},
        "block_wait_ms": {k: v for k, v in latency_stats(wait_ms).items() if k in ("p50_ms", "p99_ms", "max_ms")},
    })
    return out


def run_bench(architecture: str = DEFAULT_ARCH, block_sizes=BLOCK_SIZES, quick: bool = False, seed: int = 0,
              progress=None, latency="low") -> dict:
    """The whole benchmark: every block size, human and stress taps. Returns the JSON-ready result."""
    import torch

    from composer_app.live.live_models import shipped_or_untrained

    torch.set_num_threads(1)
    loaded, shipped = shipped_or_untrained(architecture)
    n_human, n_stress = (12, 40) if quick else (80, 200)
    rng = np.random.default_rng(seed)
    about = {
        "model": f"{loaded.label} {'shipped' if shipped else 'untrained, shipped size'}",
        "shipped": shipped, "architecture": architecture, "rate": RATE, "threshold": THRESHOLD,
        "instrument": f"GM {PROGRAM} (Wood Block), no reverb",
        "instrument_attack_ms": round(instrument_attack_ms(PROGRAM), 3),
        "piano_attack_ms": round(instrument_attack_ms(0), 3),
        "target": "at 128 frames: p99 < 10 ms, jitter (p99 - p50) < 3 ms",
        "quick": quick, "cpus": os.cpu_count(),
    }
    result: dict = {}
    for bs in block_sizes:
        taps = human_taps(n_human, rng)
        taps += stress_taps(n_stress, t0=taps[-1].at_s + 1.0)
        r = measure_block(bs, loaded, taps, latency=latency, progress=progress)
        r["period_ms"] = round(bs / RATE * 1000, 3)
        r["step_p50_ms"] = round(r["step"]["p50_ms"], 4)
        r["step_p99_ms"] = round(r["step"]["p99_ms"], 4)
        # Latency tails follow the machine's load (other processes competing for the CPUs): record it.
        r["load_average"] = [round(x, 2) for x in os.getloadavg()]
        r.update(about)
        result[str(bs)] = r
    return result


# -- the command line: everybody-compose bench live ---------------------------------------------------------------


def add_arguments(p) -> None:
    p.add_argument("--quick", action="store_true", help="a few seconds per block size instead of about a minute")
    p.add_argument("--model", default=DEFAULT_ARCH, choices=["vanilla_rnn", "lstm_attn", "attention_rnn"],
                   help=f"live model to play (default {DEFAULT_ARCH}; untrained of the shipped size if none is shipped)")
    p.add_argument("--block-sizes", type=int, nargs="+", default=list(BLOCK_SIZES), metavar="N",
                   help="JACK period = audio block size, frames (default 64 128 256)")
    p.add_argument("--latency", default="low", help="PortAudio suggested latency: low, high or seconds (default low)")


def format_report(result: dict) -> str:
    meta = next(iter(result.values()))
    loads = ", ".join(f"{r['load_average'][0]}" for r in result.values())
    lines = [f"key-to-sound latency, MIDI event -> first audible sample (-40 dBFS), JACK dummy at {meta['rate']} Hz",
             f"model: {meta['model']}; instrument: {meta['instrument']} (its attack {meta['instrument_attack_ms']} ms; "
             f"the default piano's {meta['piano_attack_ms']} ms)",
             f"machine: {meta['cpus']} CPUs, load average {loads} after each block size",
             f"{'block':>5s} {'period':>7s} {'p50':>7s} {'p99':>7s} {'jitter':>7s} {'max':>7s} {'notes':>6s} "
             f"{'engine p99':>10s} {'step p50':>9s} {'step p99':>9s} {'xruns':>6s}   (ms)"]
    for key, r in result.items():
        lines.append(f"{key:>5s} {r['period_ms']:7.2f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {r['jitter_ms']:7.2f} "
                     f"{r['max_ms']:7.2f} {r['count']:6d} {r['engine_ms']['p99_ms']:10.2f} {r['step_p50_ms']:9.3f} "
                     f"{r['step_p99_ms']:9.3f} {r['underflows']:6d}")
        for pattern in ("human", "stress"):
            s = r[pattern]
            lines.append(f"{'':>5s} {pattern:>7s} {s['p50_ms']:7.2f} {s['p99_ms']:7.2f} {s['jitter_ms']:7.2f} "
                         f"{s['max_ms']:7.2f} {s['count']:6d}")
        if r["masked"] or r["missed"]:
            lines.append(f"{'':>13s} {r['masked']} notes masked by the previous note's tail, {r['missed']} never heard")
    r128 = result.get("128")
    if r128 is not None:
        ok = r128["p99_ms"] < 10 and r128["jitter_ms"] < 3
        lines.append(f"target ({meta['target']}): {'met' if ok else 'MISSED'}")
    lines.append("engine = MIDI callback -> note-on (hand-over + model step + draw); xruns = audio callbacks too late")
    return "\n".join(lines)


def run(args) -> int:
    import json
    import sys

    latency = args.latency
    try:
        latency = float(latency)
    except ValueError:
        pass

    def progress(k, n):
        if not args.json:
            print(f"\r  {k}/{n} events", end="", file=sys.stderr, flush=True)

    result = run_bench(args.model, args.block_sizes, quick=args.quick, progress=progress, latency=latency)
    if not args.json:
        print("\r", end="", file=sys.stderr)
    print(json.dumps(result) if args.json else format_report(result))
    return 0
