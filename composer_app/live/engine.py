"""The live engine: key-downs step a live model once, the drawn pitch sounds at once, everything is recorded.

What happens at a key-down (:meth:`LiveEngine.press`), in this order, under one lock:

1. :class:`~composer_app.live.beat_capture.BeatCapture` decides whether the press starts a note and what is
   known now: the rest since the previous note ended (clamped to the model's range) and the previous duration.
2. The live model steps once with that beat and a pitch is drawn with the current sampling settings.
3. The synth gets the note-on **at once** (after the note-off of a note this press cut short, legato).
4. Only then the bookkeeping: the undo snapshot, the take and its journal, the step-time log, the listeners.

The engine keeps the playing, undo and the take; its parts have their own modules: :attr:`LiveEngine.sound`
(:class:`~composer_app.live.sound_output.SoundOutput`: synth, silent stand-in, audio device),
:attr:`~LiveEngine.midi_in` (:class:`~composer_app.live.midi_connection.MidiConnection`),
:attr:`~LiveEngine.midi_out` (:class:`~composer_app.live.midi_out.MidiOutLink`), :attr:`~LiveEngine.replayer`
(:class:`~composer_app.live.replay.Replay`), :attr:`~LiveEngine.metronome` and :attr:`~LiveEngine.status`
(:class:`~composer_app.status.StatusBoard`).

Threads
-------
Every public method is thread-safe: one re-entrant lock serialises them, so the GUI thread (tap keys), the
engine's worker thread, MIDI and a replay can all reach the engine. :meth:`~LiveEngine.submit_press` /
:meth:`~LiveEngine.submit_release` / :meth:`~LiveEngine.submit` hand work to the worker thread, in order; MIDI
notes go that way by default (see :mod:`composer_app.live.midi_connection`). Listeners (:class:`Signal`) are
plain callbacks called on whichever thread made the change, with the lock held: they must return quickly. A Qt
GUI connects them to a signal that it emits (Qt queues it to the GUI thread).

Sound is never required: without a sound card (or without FluidSynth) the engine plays silently, says so once
through :attr:`~LiveEngine.status_changed`, and keeps stepping, recording and exporting.

A take starts at its first press, or with ``new_take(count_in=True)`` on the downbeat after a bar of clicks; it
records its tempo and metre, which its MIDI export writes. ``press(..., key_height=)`` (a MIDI note, or a steer
key's place) steers the next pitch up, down or near the last by ``settings.steer``.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer_app.checkpoints import LoadedModel
from composer_app.clock import ns_to_ms, ns_to_us
from composer_app.live.beat_capture import (
    DEFAULT_CHORD_WINDOW_S,
    DEFAULT_VELOCITY,
    Beat,
    BeatCapture,
    Ended,
    midi_event,
    midi_source,
)
from composer_app.live.engine_thread import EngineThread, WorkerHandOver
from composer_app.live.journal import default_take_dir
from composer_app.live.live_models import DEFAULT_ARCHITECTURE, load_live_model
from composer_app.live.metronome import Metronome
from composer_app.live.midi_connection import MidiConnection
from composer_app.live.midi_out import MidiOutLink
from composer_app.live.recording import TakeRecording, settings_record, take_header
from composer_app.live.replay import Replay
from composer_app.live.signals import Signal
from composer_app.live.sound_output import SoundOutput, open_synth
from composer_app.live.take_time import TakeTime
from composer_app.musical_time import DEFAULT_BPM, check_tempo, parse_time_signature
from composer_app.notes import Notes
from composer_app.pitches import direction_between
from composer_app.sampling import LiveStepper, SamplingSettings
from composer_app.status import StatusBoard
from composer_app.take import ORIGIN_DOWNBEAT, ORIGIN_FIRST_NOTE, Take, TakeNote

log = logging.getLogger(__name__)

#: Undo snapshots kept (model states are shared, not copied: a step makes new tensors).
UNDO_DEPTH = 256
#: Notes of the take replayed (teacher-forced) into a model switched in mid-take, so it continues the tune.
PRIME_NOTES = 64
STEP_LOG = 8192


@dataclass(frozen=True)
class StepTiming:
    """How the engine kept time for one note, in integer nanoseconds on ``perf_counter_ns`` (see
    :mod:`composer_app.clock`): ``key_down_ns`` the key-down, ``sounded_ns`` when the synth got the note-on,
    ``step_ns`` the model step + draw. A diagnostic of the engine carried beside the note, never part of it (as
    :attr:`Take.step_us <composer_app.take.Take.step_us>` is kept apart from the take's notes)."""

    key_down_ns: int
    sounded_ns: int
    step_ns: int

    @property
    def key_to_sound_ns(self) -> int:
        """Key-down to note-on: what the engine added to the key's way to the ear."""
        return self.sounded_ns - self.key_down_ns


@dataclass(frozen=True)
class NoteStarted:
    """A note that began sounding, in seconds: the beat the model saw (``rest_s``, ``prev_dur_s``) and
    ``start_s``, its time in the take; how the engine timed it is apart, in :attr:`timing`."""

    index: int
    pitch: int
    velocity: int
    source: object
    rest_s: float
    prev_dur_s: float
    start_s: float
    timing: StepTiming
    direction: int | None = None  # the contour the key asked for (+1 up, -1 down, 0 same), None: not steered


@dataclass(frozen=True)
class NoteEnded:
    """A note that stopped, in seconds: ``end_s``, its time in the take, and ``dur_s``, how long it sounded (0 for
    an undone note); ``reason`` is 'release', 'legato', 'stop', 'undo', 'model', 'sound' or 'take'."""

    index: int
    pitch: int
    end_s: float
    dur_s: float
    reason: str


class _Stepper(LiveStepper):
    """:class:`LiveStepper` plus what the engine needs: snapshots for undo and priming a new model."""

    def snapshot(self):
        return self._state, self._prev, self.count, self._head.guard.snapshot()

    def restore(self, snap) -> None:
        self._state, self._prev, self.count, guard = snap
        self._head.guard.restore(guard)

    def prime(self, notes: list[TakeNote]) -> None:
        """Feed played notes teacher-forced: the state a model would have if it had played them."""
        for n in notes:
            self.force(n.rest_s, n.prev_dur_s, n.pitch)


def step_stats(step_times_ns) -> dict:
    """Model step + draw time of recent beats (``engine.step_times_ns``): ``{'count', 'p50_ms', 'p99_ms',
    'max_ms'}``."""
    arr = ns_to_ms(np.array(list(step_times_ns), dtype=np.float64))
    if arr.size == 0:
        return {"count": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    return {"count": int(arr.size), "p50_ms": float(np.percentile(arr, 50)),
            "p99_ms": float(np.percentile(arr, 99)), "max_ms": float(arr.max())}


class LiveEngine(TakeTime, WorkerHandOver):
    """The instrument: a live model, its sound, optional MIDI in and out, and the take.

    ``model``: an architecture name (its shipped checkpoint), a checkpoint file or a loaded live model;
    ``settings``/``seed``: the pitch draws; ``soundfont``/``program``: the sound (default: the bundled GM
    soundfont, piano), or ``synth`` to use one made elsewhere; ``audio``: open a sound device in :meth:`start`
    (False: render ``engine.synth`` yourself) with ``device``/``blocksize``/``latency``; ``take_dir``: where take
    journals go (``record=False``: none); ``default_velocity``: the loudness of tap keys; ``chord_window_s``:
    presses this close to a note's start join it; ``tempo_bpm``/``time_signature``: the take's tempo and metre.
    """

    def __init__(self, model: str | Path | LoadedModel = DEFAULT_ARCHITECTURE,
                 settings: SamplingSettings | None = None, *, seed: int | None = None, soundfont=None,
                 program: int = 0, audio: bool = True, device=None, blocksize: int = 128, latency="low",
                 take_dir=None, record: bool = True, default_velocity: int = DEFAULT_VELOCITY,
                 chord_window_s: float = DEFAULT_CHORD_WINDOW_S, synth=None, tempo_bpm: float = DEFAULT_BPM,
                 time_signature="4/4"):
        self._lock = threading.RLock()
        self.note_started = Signal("note_started")
        self.note_ended = Signal("note_ended")
        self.status_changed = Signal("status_changed")  # (Status); topics: sound midi "midi out" model take
        self.take_changed = Signal("take_changed")  # (Take): new take, undo
        self.metronome_click = Signal("metronome_click")  # (Click): a beat light, the count-in's progress
        self.status = StatusBoard(self.status_changed.emit)
        loaded = load_live_model(model)
        self._stepper = _Stepper(loaded, settings or SamplingSettings(), seed)
        self._capture = BeatCapture(None, loaded.features.max_seconds, default_velocity, chord_window_s)
        self._tempo_bpm = check_tempo(tempo_bpm)
        self._metre = parse_time_signature(time_signature)
        self._next_time: dict = {}  # tempo/metre asked for while a take had notes: they start the next take
        self._origin = ORIGIN_FIRST_NOTE
        self._last_key_height: float | None = None
        self.synth = synth if synth is not None else open_synth(soundfont, program, self._reporter("sound"))
        self.sound = SoundOutput(self.synth, audio, self._reporter("sound"), lambda: self._silence("sound"),
                                 device=device, blocksize=blocksize, latency=latency)
        self._router = self.sound.router
        self.metronome = Metronome(lambda: self._router.synth, self._tempo_bpm, self._metre,
                                   on_click=self.metronome_click.emit)
        self.midi_in = MidiConnection(self.midi_note, self.submit, lambda: self._end_sounding("stop"),
                                      self._reporter("midi"))
        self.midi_out = MidiOutLink(self._router, lambda: self._silence("sound"), self._reporter("midi out"),
                                    lambda: self.synth.program)
        self.replayer = Replay(self._router)
        self._take_dir = None if not record else (
            Path(take_dir).expanduser() if take_dir is not None else default_take_dir())
        self._undo: collections.deque = collections.deque(maxlen=UNDO_DEPTH)
        self.step_times_ns: collections.deque[int] = collections.deque(maxlen=STEP_LOG)
        self._new_recording()
        self._worker: EngineThread | None = None
        self._closed = False
        self.status.set("model", f"model: {loaded.label}")

    def _reporter(self, topic: str):
        """``report(text, level='info')`` for a part: its messages under ``topic``."""
        return lambda text, level="info": self.status.set(topic, text, level)

    def _new_recording(self) -> None:
        header = take_header(self._stepper.loaded, self._stepper.settings, self.synth, self._capture.max_rest_s,
                             self._tempo_bpm, self._metre, self._origin)
        self._recording = TakeRecording(header, self._take_dir, lambda text: self.status.set("take", text, "error"))
        self._take = self._recording.take

    # -- lifetime -----------------------------------------------------------------------------------------------
    def start(self) -> LiveEngine:
        """Open the sound device (when ``audio=True``); never raises for a missing one (silent mode)."""
        self.sound.start()
        return self

    def stop(self) -> None:
        """Silence everything now: the sounding note ends (recorded), the replay stops, all notes off."""
        self.replayer.stop()
        self._silence("stop")

    def close(self) -> None:
        """All notes off, close MIDI, the sound, the synth and the take journal. Safe to call twice."""
        if self._closed:
            return
        self.stop()
        self.metronome.close()
        with self._lock:
            self._closed = True
            self.sound.close_stream()  # before MIDI: see MidiConnection on JACK
        self.midi_in.close()
        self.midi_out.close()
        if self._worker is not None:
            self._worker.stop()
        with self._lock:
            self._recording.close(self._now())
            self.sound.close()
        if not self._recording.wait_closed():
            log.warning("the take journal %s was still syncing when the engine closed", self._recording.path)

    def __enter__(self) -> LiveEngine:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- playing ------------------------------------------------------------------------------------------------
    def press(self, source, t_ns: int | None = None, velocity: int | None = None, *, direction: int | None = None,
              key_height: float | None = None) -> NoteStarted | None:
        """A key went down at ``t_ns`` (``perf_counter_ns``; default now): the note that sounded, or None (a held
        key repeating, a key joining a chord). ``direction`` (+1 up, -1 down, 0 same) or ``key_height`` (a MIDI
        note, a steer key's place: its height against the previous such key) asks where the pitch goes."""
        if t_ns is None:
            t_ns = time.perf_counter_ns()
        with self._lock:
            beat = None if self._closed else self._capture.press(source, t_ns, velocity)
            if beat is None:
                return None
            if key_height is not None:
                if direction is None:
                    direction = direction_between(self._last_key_height, key_height)
                self._last_key_height = float(key_height)
            if self._stepper.settings.steer == 0:
                direction = None  # at Steer 0 a key asks nothing: no arrow on the roll promises what did not happen
            snap = self._stepper.snapshot()
            t0 = time.perf_counter_ns()
            pitch = self._stepper.next_pitch(beat.rest_s, beat.prev_dur_s, direction)
            t1 = time.perf_counter_ns()
            ended_pitch = self._take.notes[beat.ended.index].pitch if beat.ended is not None else None
            if ended_pitch is not None:
                self._router.note_off(ended_pitch)
            self._router.note_on(pitch, beat.velocity)
            sounded = time.perf_counter_ns()
            return self._record_start(beat, pitch, snap, t1 - t0, sounded, ended_pitch, direction)

    def _record_start(self, beat: Beat, pitch: int, snap, step_ns: int, sounded: int, ended_pitch,
                      direction: int | None) -> NoteStarted:
        self._undo.append(snap)
        self.step_times_ns.append(step_ns)
        if beat.ended is not None:
            self._record_end(beat.ended, ended_pitch, "legato")
        direction = None if direction is None else int(np.sign(direction))
        start = self._capture.take_time(beat.t_ns)
        self._recording.add(TakeNote(beat.index, start, pitch, beat.velocity, None, beat.rest_s, beat.prev_dur_s,
                                     str(beat.source), direction), ns_to_us(step_ns))
        event = NoteStarted(beat.index, pitch, beat.velocity, beat.source, beat.rest_s, beat.prev_dur_s, start,
                            StepTiming(beat.t_ns, sounded, step_ns), direction)
        self.note_started.emit(event)
        return event

    def release(self, source, t_ns: int | None = None) -> NoteEnded | None:
        """A key went up. Returns the note it ended, or None (see :meth:`BeatCapture.release`)."""
        if t_ns is None:
            t_ns = time.perf_counter_ns()
        with self._lock:
            ended = None if self._closed else self._capture.release(source, t_ns)
            if ended is None:
                return None
            pitch = self._take.notes[ended.index].pitch
            self._router.note_off(pitch)
            return self._record_end(ended, pitch, "release")

    def _record_end(self, ended: Ended, pitch: int, reason: str) -> NoteEnded:
        end = self._capture.take_time(ended.t_ns)
        self._recording.end(ended.index, end)
        event = NoteEnded(ended.index, pitch, end, ended.dur_s, reason)
        self.note_ended.emit(event)
        return event

    def _end_sounding(self, reason: str) -> NoteEnded | None:
        with self._lock:
            ended = self._capture.end_sounding(time.perf_counter_ns())
            if ended is None:
                return None
            pitch = self._take.notes[ended.index].pitch
            self._router.note_off(pitch)
            return self._record_end(ended, pitch, reason)

    def _silence(self, reason: str) -> None:
        """End the sounding note (for ``reason``) and silence every output."""
        with self._lock:
            self._end_sounding(reason)
            self._router.all_notes_off()

    def _now(self) -> float:
        return self._capture.take_time(time.perf_counter_ns())

    def midi_note(self, kind: str, note: int, velocity: int, timestamp_ns: int) -> None:
        """A MIDI note event: a note-on (velocity > 0) presses ``midi:<note>``, anything else releases it."""
        if midi_event(kind, velocity) == "on":
            self.press(midi_source(note), timestamp_ns, velocity, key_height=note)
        else:
            self.release(midi_source(note), timestamp_ns)

    # -- settings (each takes effect at the next beat) ----------------------------------------------------------
    @property
    def model(self) -> LoadedModel:
        return self._stepper.loaded

    @property
    def model_steps(self) -> int:
        """Beats the model has seen in this take (less any undone)."""
        return self._stepper.count

    @property
    def settings(self) -> SamplingSettings:
        return self._stepper.settings

    def set_settings(self, settings: SamplingSettings) -> None:
        """New sampling settings from the next beat on; the sounding note goes on."""
        with self._lock:
            self._stepper.set_settings(settings)
            self._recording.change(self._now(), settings=settings_record(settings))

    def set_model(self, model: str | Path | LoadedModel) -> LoadedModel:
        """Switch to another live model (loaded outside the lock), primed with the take's last notes."""
        loaded = load_live_model(model)
        with self._lock:
            self._silence("model")
            self._stepper.reset(loaded)
            self._stepper.prime(self._take.notes[-PRIME_NOTES:])
            self._undo.clear()
            self._capture.max_rest_s = loaded.features.max_seconds
            self._recording.change(self._now(), model={"architecture": loaded.architecture, "label": loaded.label,
                                                       "path": str(loaded.path)})
        self.status.set("model", f"model: {loaded.label}")
        return loaded

    def set_instrument(self, program: int) -> None:
        """General MIDI program for the next notes. Raises UserError when the soundfont lacks it."""
        with self._lock:
            self.synth.program_select(program)
            self.midi_out.set_program(program)
            self._recording.change(self._now(), program=int(program))

    def set_soundfont(self, path) -> None:
        """Another ``.sf2`` (the old one keeps playing if this one fails to load: UserError)."""
        with self._lock:
            self._silence("sound")
            self.synth.load_soundfont(path)
            self._recording.change(self._now(), soundfont=str(path))

    # -- the take -----------------------------------------------------------------------------------------------
    @property
    def take(self) -> Take:
        """The take being played (shared: :meth:`Take.copy` it before using it on another thread)."""
        return self._take

    @property
    def take_start_ns(self) -> int | None:
        """When the take starts (``perf_counter_ns``): its first press, or the count-in's downbeat; None before."""
        return self._capture.t0_ns

    @property
    def take_path(self) -> Path | None:
        """Its journal file (None until the first note, or with ``record=False``)."""
        return self._recording.path

    def undo(self) -> bool:
        """Take back the last note (it stops, and the model returns to its state before it); False: none."""
        with self._lock:
            if not self._take.notes:
                return False
            last = self._take.notes[-1]
            if self._capture.sounding == last.index:
                self._router.note_off(last.pitch)
            self._recording.undo()
            if self._undo:
                self._stepper.restore(self._undo.pop())
            else:  # beyond the undo depth, or the model was switched since: rebuild from the take
                self._stepper.reset()
                self._stepper.prime(self._take.notes[-PRIME_NOTES:])
            prev = self._take.notes[-1] if self._take.notes else None
            self._capture.undo(None if prev is None else (prev.start if prev.end is None else prev.end),
                               0.0 if prev is None or prev.end is None else prev.end - prev.start)
            if prev is None and self._origin == ORIGIN_FIRST_NOTE:
                self._capture.restart_at_next_press()  # the take starts at its (new) first note
            self.note_ended.emit(NoteEnded(last.index, last.pitch, self._now(), 0.0, "undo"))
            self.take_changed.emit(self._take)
            return True

    def new_take(self, count_in: bool = False) -> Take:
        """Close this take and start an empty one (``count_in``: on the downbeat after a bar of clicks)."""
        self.replayer.stop()
        with self._lock:
            self._silence("take")
            self._recording.close(self._now())
            pending, self._next_time = self._next_time, {}
            self._apply_time(pending)  # a tempo or metre asked for while the last take had notes starts now
            self._capture.reset(self.metronome.count_in() if count_in else None)
            self._origin = ORIGIN_DOWNBEAT if count_in else ORIGIN_FIRST_NOTE
            self._last_key_height = None
            self._stepper.reset()
            self._undo.clear()
            self._new_recording()
            self.take_changed.emit(self._take)
            return self._take

    def to_melody(self) -> Notes:
        """The notes of the take so far (a sounding note ends now)."""
        with self._lock:
            return self._take.to_melody(now=self._now())

    def export_midi(self, path, **options) -> Path:
        """Write the take so far as a MIDI file (:meth:`Take.export_midi`; a sounding note ends now)."""
        with self._lock:
            take = self._take.ended_at(self._now())
        return take.export_midi(path, **options)

    def replay(self, take: Take | None = None, speed: float = 1.0) -> None:
        """Play ``take`` (default: this one) on :attr:`replayer`'s thread; returns at once."""
        with self._lock:
            source = take if take is not None else self._take
            melody = source.to_melody(now=self._now() if take is None else None)
        self.replayer.play(melody, speed)
