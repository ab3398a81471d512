"""The live engine: key-downs step a live model once, the drawn pitch sounds at once, everything is recorded.

What happens at a key-down (:meth:`LiveEngine.press`), in this order, under one lock:

1. :class:`~composer_app.live.beat_capture.BeatCapture` decides whether the press starts a note and what is
   known now: the rest since the previous note ended (clamped to the model's range) and the previous duration.
2. The live model steps once with that beat and a pitch is drawn with the current sampling settings.
3. The synth gets the note-on **at once** (after the note-off of a note this press cut short, legato).
4. Only then the bookkeeping: the undo snapshot, the take journal line, the step-time log, the listeners.

Threads
-------
Every public method is thread-safe: one re-entrant lock serialises them, so the GUI thread (tap keys), the
engine's worker thread, MIDI and a replay can all reach the engine.

MIDI note events are **handed from the MIDI input thread to the engine's worker thread** (an
:class:`EngineThread`; ``midi_handoff=True``, the default), stamped on arrival so the hand-over costs no timing.
Why not step right there: with JACK MIDI, rtmidi calls us inside JACK's process cycle, and a model step there
stalls the whole audio graph. Measured with ``bench live`` at 128 frames on the same busy 2-CPU machine:
stepping on the MIDI thread gave p99 23 ms and 103 audio underruns in 10 s; handing over gave p99 6.3 ms and
41. The hand-over costs one thread wake-up (tens of microseconds on an idle machine).

Tap keys arrive on the GUI thread: calling :meth:`press` there directly is fine (a step is well under a
millisecond on an idle machine); :meth:`submit_press` / :meth:`submit_release` / :meth:`submit` hand work to the
worker thread instead, in order.

Listeners (:class:`Signal`) are plain callbacks called on whichever thread made the change, with the lock
held: they must return quickly and not wait for other threads. A Qt GUI connects them to a signal that it
emits (Qt queues it to the GUI thread).

Sound is never required: without a sound card (or without FluidSynth) the engine plays silently, says so once
through :attr:`status_changed`, and keeps stepping, recording and exporting.

Musical time and steering
-------------------------
A take starts at its first press, or with ``new_take(count_in=True)`` on the downbeat after a bar of clicks; it
records its tempo and metre (:meth:`set_tempo`, :meth:`set_time_signature`, :meth:`tap_tempo`), which its MIDI
export writes. The :attr:`metronome` clicks on the player's synth only. ``press(..., key_height=)`` (a MIDI
note, or a steer key's place) steers the next pitch up, down or near the last by ``settings.steer``.

Notes go out through a :class:`~composer_app.live.note_sink.NoteRouter`: the built-in synth (or its silent
stand-in while no stream renders; ``midi_out.set_builtin_synth`` mutes it) and, when open, MIDI out
(:attr:`midi_out`).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from composer_app.checkpoints import LoadedModel
from composer_app.errors import UserError
from composer_app.live.beat_capture import (
    DEFAULT_CHORD_WINDOW_S,
    DEFAULT_VELOCITY,
    Beat,
    BeatCapture,
    Ended,
    midi_event,
    midi_source,
)
from composer_app.live.live_models import DEFAULT_ARCHITECTURE, load_live_model
from composer_app.live.metronome import Metronome
from composer_app.live.midi_out import MidiOutLink
from composer_app.live.note_sink import NoteRouter, NoteSink
from composer_app.live.take import (
    ORIGIN_DOWNBEAT,
    ORIGIN_FIRST_NOTE,
    Take,
    TakeJournal,
    TakeNote,
    default_take_dir,
)
from composer_app.musical_time import DEFAULT_BPM, TapTempo, check_tempo, parse_time_signature
from composer_app.sampling import LiveStepper, SamplingSettings, direction_between
from composer_app.status import Status

log = logging.getLogger(__name__)

#: Undo snapshots kept (model states are shared, not copied: a step makes new tensors).
UNDO_DEPTH = 256
#: Notes of the take replayed (teacher-forced) into a model switched in mid-take, so it continues the tune.
PRIME_NOTES = 64
STEP_LOG = 8192


class Signal:
    """A list of plain callbacks (``connect``/``disconnect``/``emit``); a failing callback is logged, never
    allowed to break the instrument."""

    def __init__(self, name: str):
        self.name = name
        self._slots: list = []

    def connect(self, fn) -> None:
        self._slots.append(fn)

    def disconnect(self, fn) -> None:
        self._slots.remove(fn)

    def emit(self, *args) -> None:
        for fn in list(self._slots):
            try:
                fn(*args)
            except Exception:
                log.exception("%s listener %r failed", self.name, fn)


@dataclass(frozen=True)
class NoteStarted:
    """A note that began sounding. ``t_ns`` is the key-down (``perf_counter_ns``), ``sounded_ns`` when the
    synth got the note-on, ``step_ns`` the model step + draw; ``start_s`` is its time in the take."""

    index: int
    pitch: int
    velocity: int
    source: object
    t_ns: int
    sounded_ns: int
    step_ns: int
    rest_s: float
    prev_dur_s: float
    start_s: float
    direction: int | None = None  # the contour the key asked for (+1 up, -1 down, 0 same), None: not steered


@dataclass(frozen=True)
class NoteEnded:
    """A note that stopped: ``reason`` is 'release', 'legato', 'stop', 'undo', 'model', 'sound' or 'take'."""

    index: int
    pitch: int
    t_ns: int
    dur_s: float
    reason: str


class _Stepper(LiveStepper):
    """:class:`LiveStepper` plus what the engine needs: snapshots for undo and priming a new model."""

    def snapshot(self):
        return self._state, self._prev, self.count

    def restore(self, snap) -> None:
        self._state, self._prev, self.count = snap

    def prime(self, notes: list[TakeNote]) -> None:
        """Feed played notes teacher-forced (their beats and the pitches that sounded): the state a model
        would have if it had played them."""
        for n in notes:
            self.force(n.rest_s, n.prev_dur_s, n.pitch)


class _SilentSynth(NoteSink):
    """Stands in for :class:`~composer_app.live.synth.Synth` when FluidSynth is missing (or no stream renders)."""

    samplerate = 44100
    program = 0
    soundfont = None

    def program_select(self, program):
        self.program = int(program)

    def load_soundfont(self, path):
        raise UserError("no synthesizer: FluidSynth is not installed, so no soundfont can be loaded")

    def preset_names(self):
        return {}


class LiveEngine:
    """The instrument: model, synth, audio output, optional MIDI input, and the take.

    Parameters
    ----------
    model : str, path or LoadedModel
        An architecture name (its shipped ``checkpoints/<arch>_live.pt``), a checkpoint file, or a loaded live
        model. A missing shipped checkpoint raises :class:`UserError` saying how to make one.
    settings : SamplingSettings, optional
        Sampling controls (shared with generation); change them with :meth:`set_settings`.
    seed : int, optional
        Seed of the pitch draws (reproducible takes).
    soundfont, program : optional
        ``.sf2`` file (default: the bundled GM soundfont) and GM program (0 = piano).
    audio : bool
        Open a sound device in :meth:`start`. False: never (tests, exports); render ``engine.synth`` yourself.
    device, blocksize, latency :
        Output device (index or name; None = default), frames per block, PortAudio latency ('low' or seconds).
    take_dir : path or None
        Where take journals go (default ``<user data>/everybody-compose/takes``); ``record=False`` writes none.
    default_velocity : int
        Loudness of tap keys (MIDI keys bring their own velocity).
    chord_window_s : float
        Presses this close to a note's start join it (a chord is one beat; see ``beat_capture``).
    synth : Synth, optional
        Use this synth instead of making one.
    tempo_bpm, time_signature :
        The take's tempo (quarter notes per minute) and metre ("4/4", "3/4", "6/8"): recorded with the take,
        written to its MIDI export, and what the metronome clicks.
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
        self.replay_note = Signal("replay_note")  # (index, on: bool)
        self.replay_finished = Signal("replay_finished")  # ()
        self._statuses: dict[str, Status] = {}
        loaded = load_live_model(model)
        self._stepper = _Stepper(loaded, settings or SamplingSettings(), seed)
        self._capture = BeatCapture(None, loaded.features.max_seconds, default_velocity, chord_window_s)
        self._tempo_bpm = check_tempo(tempo_bpm)
        self._metre = parse_time_signature(time_signature)
        self._origin = ORIGIN_FIRST_NOTE
        self._tap_tempo = TapTempo()
        self._last_key_height: float | None = None
        self.synth = synth if synth is not None else self._make_synth(soundfont, program)
        # Where note events go. FluidSynth queues events until something renders, and drops them (stuck notes,
        # "Ringbuffer full" on stderr) once its queue is full: so while no stream renders (silent mode) they go
        # to a stand-in. With audio=False the caller renders ``engine.synth`` itself and gets the events.
        self._silent = _SilentSynth()
        self._router = NoteRouter(self._silent if audio else self.synth)
        self._want_audio = audio
        self._audio_args = {"device": device, "blocksize": blocksize, "latency": latency}
        self.audio_output = None
        self._record = record
        self._take_dir = Path(take_dir).expanduser() if take_dir is not None else default_take_dir()
        #: Clicks on the player's synth (never recorded); :meth:`set_metronome` / ``new_take(count_in=True)``.
        self.metronome_click = Signal("metronome_click")  # (Click): a beat light, the count-in's progress
        self.metronome = Metronome(lambda: self._router.synth, self._tempo_bpm, self._metre,
                                   on_click=self.metronome_click.emit)
        self._undo: collections.deque = collections.deque(maxlen=UNDO_DEPTH)
        self.step_times_ns: collections.deque[int] = collections.deque(maxlen=STEP_LOG)
        self._take, self._journal = self._new_take()
        self._midi = None
        #: MIDI out (:class:`~composer_app.live.midi_out.MidiOutLink`): ``open(port, backend, virtual=, channel=)``,
        #: ``close()``, ``output().list_output_ports()``, ``set_builtin_synth(on)``; status topic 'midi out'.
        self.midi_out = MidiOutLink(self._router, self._silence_outputs,
                                    lambda message, level="info": self._set_status("midi out", message, level),
                                    lambda: int(getattr(self.synth, "program", 0)))
        self._worker: EngineThread | None = None
        self._replay: threading.Thread | None = None
        self._replay_stop = threading.Event()
        self._closed = False
        #: MIDI events go through the worker thread (True) or run on the MIDI input thread (False); see above.
        self.midi_handoff = True
        self._set_status("model", f"model: {loaded.label}")

    # -- construction helpers ---------------------------------------------------------------------------------
    def _make_synth(self, soundfont, program):
        try:
            from composer_app.live.synth import Synth

            return Synth(soundfont=soundfont, program=program)
        except UserError as exc:
            if soundfont is not None and "SoundFont" in str(exc):
                raise
            self._set_status("sound", f"no sound: {exc}; tapping, the melody and export still work", "warning")
            return _SilentSynth()

    def _header(self) -> dict:
        loaded = self._stepper.loaded
        settings = asdict(self._stepper.settings)
        settings["hints"] = list(settings["hints"])
        return {
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": {"architecture": loaded.architecture, "kind": loaded.kind, "label": loaded.label,
                      "path": str(loaded.path)},
            "settings": settings,
            "program": int(getattr(self.synth, "program", 0)),
            "soundfont": str(getattr(self.synth, "soundfont", "") or ""),
            "max_rest_s": self._capture.max_rest_s,
            "tempo_bpm": self._tempo_bpm,
            "time_signature": str(self._metre),
            "origin": self._origin,
        }

    def _new_take(self) -> tuple[Take, TakeJournal | None]:
        header = self._header()
        journal = TakeJournal(self._take_dir, header, on_error=self._journal_error) if self._record else None
        return Take(header={"format": "everybody-compose-take/1", **header}), journal

    def _journal_error(self, message: str) -> None:
        """The journal could not write or sync (any thread): the player must know the take may not be saved."""
        self._set_status("take", message, "error")

    # -- status -----------------------------------------------------------------------------------------------
    def _set_status(self, topic: str, message: str, level: str = "info") -> None:
        """Tell listeners once per change of a topic's :class:`~composer_app.status.Status`."""
        status = Status(topic, message, level)
        if self._statuses.get(topic) == status:
            return
        self._statuses[topic] = status
        self.status_changed.emit(status)

    @property
    def status(self) -> dict[str, str]:
        """The latest message per topic ('sound', 'midi', 'model', 'take')."""
        return {topic: status.text for topic, status in self._statuses.items()}

    @property
    def statuses(self) -> dict[str, Status]:
        """The latest :class:`~composer_app.status.Status` per topic."""
        return dict(self._statuses)

    @property
    def audio_settings(self) -> dict:
        """The sound output asked for: ``{'device', 'blocksize', 'latency'}``."""
        return dict(self._audio_args)

    @property
    def sound_available(self) -> bool:
        return self.audio_output is not None and self.audio_output.available

    # -- lifetime -----------------------------------------------------------------------------------------------
    def start(self) -> LiveEngine:
        """Open the sound device (when ``audio=True``); never raises for a missing one (silent mode)."""
        if self._want_audio and self.audio_output is None and not isinstance(self.synth, _SilentSynth):
            from composer_app.live.audio import AudioOutput

            self.audio_output = AudioOutput(self.synth, **self._audio_args, on_status=self._audio_status)
            self._audio_status(self.audio_output.start())
        return self

    def _audio_status(self, status) -> None:
        """AudioOutput's status (any thread): route notes to the synth only while a stream renders it."""
        if status.available and self._router.synth is not self.synth:
            self.synth.all_notes_off(immediate=True)  # notes whose note-off went to the stand-in must not wake up
        self._router.synth = self.synth if status.available else self._silent
        self._set_status("sound", status.message, "info" if status.available else "warning")

    def stop(self) -> None:
        """Silence everything now: the sounding note ends (recorded), the replay stops, all notes off."""
        self.stop_replay()
        with self._lock:
            self._end_sounding("stop")
            self._router.all_notes_off()

    def close(self) -> None:
        """All notes off, close MIDI, the sound stream, the synth and the take journal. Safe to call twice."""
        if self._closed:
            return
        self.stop()
        self.metronome.close()
        with self._lock:
            self._closed = True
            if self.audio_output is not None:  # before MIDI: see open_midi on JACK
                self.audio_output.close()
        self.close_midi()
        self.midi_out.close()
        if self._worker is not None:
            self._worker.stop()
        with self._lock:
            journal = self._journal
            if journal is not None:
                journal.close(self._rel(time.perf_counter_ns()))
            self.synth.close()
        if journal is not None and not journal.wait_closed():
            log.warning("the take journal %s was still syncing when the engine closed", journal.path)

    def __enter__(self) -> LiveEngine:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- playing ------------------------------------------------------------------------------------------------
    def press(self, source, t_ns: int | None = None, velocity: int | None = None, *, direction: int | None = None,
              key_height: float | None = None) -> NoteStarted | None:
        """A key went down at ``t_ns`` (``perf_counter_ns``; default now). Returns the note that sounded, or
        None when the press starts none (a held key repeating, a key joining a chord).

        Contour steering (by ``settings.steer``): ``direction`` (+1 up, -1 down, 0 same) asks where the pitch
        goes from the previous one; or ``key_height`` (a MIDI note number, or a steer key's place low to high,
        :data:`~composer_app.live.beat_capture.STEER_KEYS`) asks by the key's height relative to the previous
        key pressed with a height. Neither: the model alone."""
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
                      direction: int | None = None) -> NoteStarted:
        self._undo.append(snap)
        self.step_times_ns.append(step_ns)
        if beat.ended is not None:
            self._record_end(beat.ended, ended_pitch, "legato")
        direction = None if direction is None else int(np.sign(direction))
        note = TakeNote(beat.index, self._rel(beat.t_ns), pitch, beat.velocity, beat.rest_s, beat.prev_dur_s,
                        str(beat.source), None, step_ns / 1000, direction)
        self._take.notes.append(note)
        record = {"type": "on", "i": note.index, "t": note.start_ns, "pitch": pitch, "vel": note.velocity,
                  "rest": round(beat.rest_s, 6), "prev_dur": round(beat.prev_dur_s, 6), "src": note.source,
                  "step_us": round(note.step_us, 1)}
        if direction is not None:
            record["dir"] = direction
        self._write(record)
        event = NoteStarted(beat.index, pitch, beat.velocity, beat.source, beat.t_ns, sounded, step_ns,
                            beat.rest_s, beat.prev_dur_s, note.start_s, direction)
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
        note = self._take.notes[ended.index]
        note.end_ns = self._rel(ended.t_ns)
        self._write({"type": "off", "i": ended.index, "t": note.end_ns})
        event = NoteEnded(ended.index, pitch, ended.t_ns, ended.dur_s, reason)
        self.note_ended.emit(event)
        return event

    def _end_sounding(self, reason: str) -> NoteEnded | None:
        ended = self._capture.end_sounding(time.perf_counter_ns())
        if ended is None:
            return None
        pitch = self._take.notes[ended.index].pitch
        self._router.note_off(pitch)
        return self._record_end(ended, pitch, reason)

    def _rel(self, t_ns: int) -> int:
        """``t_ns`` as time in the take (0 before the take has started)."""
        t0 = self._capture.t0_ns
        return 0 if t0 is None else max(0, int(t_ns) - t0)

    def _write(self, record: dict) -> None:
        if self._journal is None:
            return
        self._journal.write(record)
        if self._journal.error:
            self._set_status("take", self._journal.error, "error")

    # -- MIDI ---------------------------------------------------------------------------------------------------
    def _midi_callback(self, kind: str, note: int, velocity: int, timestamp_ns: int) -> None:
        """What ``MidiInput`` calls, on its own thread: hand over to the worker (or play here, see above)."""
        if self.midi_handoff:
            self.submit(self.midi_note, kind, note, velocity, timestamp_ns)
        else:
            self.midi_note(kind, note, velocity, timestamp_ns)

    def midi_note(self, kind: str, note: int, velocity: int, timestamp_ns: int) -> None:
        """A MIDI note event, on the calling thread: a note-on (velocity > 0) presses ``midi:<note>``, anything
        else releases it."""
        if midi_event(kind, velocity) == "on":
            self.press(midi_source(note), timestamp_ns, velocity, key_height=note)
        else:
            self.release(midi_source(note), timestamp_ns)

    def midi_input(self, backend: str | None = None):
        """The engine's :class:`~composer_app.live.midi_in.MidiInput` (made on first use; list ports with it)."""
        if self._midi is None or (backend is not None and self._midi.backend_name != backend):
            from composer_app.live.midi_in import DEFAULT_BACKEND, MidiInput

            if self._midi is not None:
                self._midi.close()
            self._midi = MidiInput(backend or DEFAULT_BACKEND,
                                   on_vanished=lambda name: self._midi_vanished(name))
        return self._midi

    def _midi_vanished(self, name: str) -> None:
        with self._lock:
            self._end_sounding("stop")
        self._set_status("midi", f"MIDI input {name!r} disappeared (unplugged?); it reopens when it is back",
                         "warning")

    def open_midi(self, port: str | None = None, backend: str | None = None, *, virtual: bool = False) -> str:
        """Listen to MIDI input ``port`` (None = the first); returns its name. Raises UserError if it cannot.

        ``virtual=True`` creates an input named ``port`` that other software connects to (JACK, ``aconnect``).
        On the JACK backend, open (and close) MIDI while no sound stream runs if you can: python-rtmidi holds
        Python's GIL while JACK waits for a cycle in which our sound callback needs that GIL, so the call stalls
        for up to a second, or until JACK's client timeout (measured).
        """
        midi = self.midi_input(backend)
        try:
            name = midi.open(port, self._midi_callback, virtual=virtual)
        except UserError as exc:
            self._set_status("midi", str(exc), "warning")
            raise
        self._set_status("midi", f"MIDI input: {name}")
        return name

    def poll_midi(self) -> tuple[list[str], list[str]]:
        """Hot-plug check (call about once a second): ``(appeared, vanished)`` input port names. Also checks the
        MIDI output: an unplugged one is reported ('midi out') and reopened when it is back."""
        self.midi_out.poll()
        if self._midi is None:
            return [], []
        appeared, vanished = self._midi.poll_ports()
        if self._midi.is_open and self._midi.port_name in appeared:
            self._set_status("midi", f"MIDI input: {self._midi.port_name} (back)")
        return appeared, vanished

    def close_midi(self) -> None:
        if self._midi is not None:
            self._midi.close()
            with self._lock:
                self._end_sounding("stop")

    # -- MIDI out -----------------------------------------------------------------------------------------------
    def _silence_outputs(self) -> None:
        """End the sounding note and silence every output (before MIDI out or the built-in synth switch)."""
        with self._lock:
            self._end_sounding("sound")
            self._router.all_notes_off()

    # -- settings (each takes effect at the next beat) ----------------------------------------------------------
    @property
    def model(self) -> LoadedModel:
        return self._stepper.loaded

    @property
    def settings(self) -> SamplingSettings:
        return self._stepper.settings

    def set_settings(self, settings: SamplingSettings) -> None:
        """New sampling settings from the next beat on; the sounding note goes on."""
        with self._lock:
            self._stepper.set_settings(settings)
            values = asdict(settings)
            values["hints"] = list(values["hints"])
            self._log_change({"settings": values})

    def set_model(self, model: str | Path | LoadedModel) -> LoadedModel:
        """Switch to another live model (loaded before the switch, outside the lock). The sounding note ends
        (all notes off); the new model is primed with the take's last notes, so it continues the tune."""
        loaded = load_live_model(model)
        with self._lock:
            self._end_sounding("model")
            self._router.all_notes_off()
            self._stepper.reset(loaded)
            self._stepper.prime(self._take.notes[-PRIME_NOTES:])
            self._undo.clear()
            self._capture.max_rest_s = loaded.features.max_seconds
            self._log_change({"model": {"architecture": loaded.architecture, "label": loaded.label,
                                        "path": str(loaded.path)}})
        self._set_status("model", f"model: {loaded.label}")
        return loaded

    def set_instrument(self, program: int) -> None:
        """General MIDI program for the next notes. Raises UserError when the soundfont lacks it."""
        with self._lock:
            self.synth.program_select(program)
            self.midi_out.set_program(program)
            self._take.header["program"] = int(program)
            self._log_change({"program": int(program)})

    def set_soundfont(self, path) -> None:
        """Another ``.sf2`` (the old one keeps playing if this one fails to load: UserError)."""
        with self._lock:
            self._end_sounding("sound")
            self._router.all_notes_off()
            self.synth.load_soundfont(path)
            self._log_change({"soundfont": str(path)})

    def set_audio(self, device=..., blocksize: int | None = None, latency=None):
        """Change output device / block size / latency; the stream restarts (all notes off). Returns the
        :class:`~composer_app.live.audio.AudioStatus` (silent mode when the device cannot be opened)."""
        with self._lock:
            self._end_sounding("sound")
            self._router.all_notes_off()
            if device is not ...:
                self._audio_args["device"] = device
            if blocksize is not None:
                self._audio_args["blocksize"] = blocksize
            if latency is not None:
                self._audio_args["latency"] = latency
        if self.audio_output is None:
            self._want_audio = True
            self.start()
        else:
            self.audio_output.configure(device=self._audio_args["device"], blocksize=self._audio_args["blocksize"],
                                        latency=self._audio_args["latency"])
        return self.audio_output.status if self.audio_output is not None else None

    @property
    def tempo_bpm(self) -> float:
        return self._tempo_bpm

    @property
    def time_signature(self):
        """The take's metre (:class:`~composer_app.musical_time.TimeSignature`)."""
        return self._metre

    def set_tempo(self, bpm: float) -> None:
        """The take's tempo (quarter notes per minute; UserError outside 10-400): recorded, exported, clicked."""
        bpm = check_tempo(bpm)
        with self._lock:
            self._tempo_bpm = bpm
            self._take.header["tempo_bpm"] = bpm
            self._log_change({"tempo_bpm": bpm})
        self.metronome.set_tempo(bpm)

    def set_time_signature(self, metre) -> None:
        """The take's metre ("4/4", "3/4", "6/8", ...; UserError otherwise): recorded, exported, clicked."""
        metre = parse_time_signature(metre)
        with self._lock:
            self._metre = metre
            self._take.header["time_signature"] = str(metre)
            self._log_change({"time_signature": str(metre)})
        self.metronome.set_metre(metre)

    def tap_tempo(self, t_ns: int | None = None) -> float | None:
        """A tap of the tap-tempo button: from the second tap on, the tempo becomes that of the last few taps
        (returned); None until then."""
        bpm = self._tap_tempo.tap(time.perf_counter_ns() if t_ns is None else t_ns)
        if bpm is not None:
            self.set_tempo(round(bpm, 1))
        return bpm

    def set_metronome(self, on: bool) -> None:
        """Click every beat (on the player's synth only; never recorded or exported)."""
        self.metronome.set_on(on)

    def set_default_velocity(self, velocity: int) -> None:
        with self._lock:
            self._capture.default_velocity = max(1, min(127, int(velocity)))

    def _log_change(self, change: dict) -> None:
        record = {"t": self._rel(time.perf_counter_ns()), **change}
        self._take.events.append(record)
        self._write({"type": "settings", **record})

    # -- the take -----------------------------------------------------------------------------------------------
    @property
    def take(self) -> Take:
        """The take being played (shared: copy it before using it on another thread while playing)."""
        return self._take

    @property
    def take_start_ns(self) -> int | None:
        """When the take starts (``perf_counter_ns``): its first press, or the count-in's downbeat; None before."""
        return self._capture.t0_ns

    @property
    def take_path(self) -> Path | None:
        """Its journal file (None until the first note, or with ``record=False``)."""
        return self._journal.path if self._journal is not None else None

    def undo(self) -> bool:
        """Take back the last note: it stops if sounding, leaves the take, and the model returns to the state
        before it. False when there is nothing to undo."""
        with self._lock:
            if not self._take.notes:
                return False
            last = self._take.notes[-1]
            if self._capture.sounding == last.index:
                self._router.note_off(last.pitch)
            self._take.notes.pop()
            self._write({"type": "undo", "i": last.index})
            if self._undo:
                self._stepper.restore(self._undo.pop())
            else:  # beyond the undo depth, or the model was switched since: rebuild from the take
                self._stepper.reset()
                self._stepper.prime(self._take.notes[-PRIME_NOTES:])
            prev = self._take.notes[-1] if self._take.notes else None
            self._capture.undo(None if prev is None else self._capture.t0_ns + (prev.end_ns or prev.start_ns),
                               0.0 if prev is None or prev.end_ns is None else (prev.end_ns - prev.start_ns) / 1e9)
            if prev is None and self._origin == ORIGIN_FIRST_NOTE:
                self._capture.restart_at_next_press()  # the take starts at its (new) first note
            self.note_ended.emit(NoteEnded(last.index, last.pitch, time.perf_counter_ns(), 0.0, "undo"))
            self.take_changed.emit(self._take)
            return True

    def new_take(self, count_in: bool = False) -> Take:
        """Close this take (its journal gets its 'closed' line) and start an empty one; the model restarts.

        The take starts at its first note; with ``count_in`` the metronome clicks one bar first and the take
        starts on the downbeat after it (presses before the downbeat count from it)."""
        self.stop_replay()
        with self._lock:
            self._end_sounding("take")
            self._router.all_notes_off()
            if self._journal is not None:
                self._journal.close(self._rel(time.perf_counter_ns()))
            if count_in:
                self._capture.reset(self.metronome.count_in())
                self._origin = ORIGIN_DOWNBEAT
            else:
                self._capture.reset()
                self._origin = ORIGIN_FIRST_NOTE
            self._last_key_height = None
            self._stepper.reset()
            self._undo.clear()
            self._take, self._journal = self._new_take()
            self.take_changed.emit(self._take)
            return self._take

    def to_melody(self) -> np.ndarray:
        """``(n, 3)`` ``(start, end, pitch)`` of the take so far (a sounding note ends now)."""
        with self._lock:
            return self._take.to_melody(now_ns=self._rel(time.perf_counter_ns()))

    def export_midi(self, path, **options) -> Path:
        """Write the take so far as a MIDI file (:func:`composer_app.export.write_midi`)."""
        with self._lock:
            take = Take(dict(self._take.header), [TakeNote(**asdict(n)) for n in self._take.notes])
            now = self._rel(time.perf_counter_ns())
            for n in take.notes:
                if n.end_ns is None:
                    n.end_ns = max(now, n.start_ns + 1)
        return take.export_midi(path, **options)

    # -- replay -------------------------------------------------------------------------------------------------
    @property
    def replaying(self) -> bool:
        return self._replay is not None and self._replay.is_alive()

    def replay(self, take: Take | None = None, speed: float = 1.0) -> None:
        """Play ``take`` (default: this one) through the synth on a background thread; returns at once.
        :meth:`stop_replay` (or :meth:`stop`) ends it; ``replay_note`` and ``replay_finished`` report progress."""
        self.stop_replay()
        with self._lock:
            source = take if take is not None else self._take
            melody = source.to_melody(now_ns=self._rel(time.perf_counter_ns()) if take is None else None)
            vel = source.velocities()
        events = sorted([(s, 1, i) for i, s in enumerate(melody[:, 0])] + [(e, 0, i) for i, e in enumerate(melody[:, 1])])
        self._replay_stop = threading.Event()
        self._replay = threading.Thread(target=self._replay_run, name="take-replay", daemon=True,
                                        args=(events, melody[:, 2].astype(int), vel, float(speed), self._replay_stop))
        self._replay.start()

    def _replay_run(self, events, pitches, velocities, speed, stop: threading.Event) -> None:
        sounding: set[int] = set()
        t0 = time.perf_counter()
        offset = events[0][0] if events else 0.0
        for when, on, i in events:
            delay = (when - offset) / speed - (time.perf_counter() - t0)
            if delay > 0 and stop.wait(delay):
                break
            if stop.is_set():
                break
            if on:
                self._router.note_on(int(pitches[i]), int(velocities[i]))
                sounding.add(i)
            elif i in sounding:
                self._router.note_off(int(pitches[i]))
                sounding.discard(i)
            self.replay_note.emit(i, bool(on))
        for i in sounding:
            self._router.note_off(int(pitches[i]))
        self.replay_finished.emit()

    def stop_replay(self) -> None:
        thread = self._replay
        if thread is not None:
            self._replay_stop.set()
            if thread is not threading.current_thread():
                thread.join(timeout=2)
            self._replay = None

    # -- measurements -------------------------------------------------------------------------------------------
    def step_stats(self) -> dict:
        """Model step + draw time of recent beats: ``{'count', 'p50_ms', 'p99_ms', 'max_ms'}``."""
        with self._lock:
            arr = np.array(self.step_times_ns, dtype=np.float64) / 1e6
        if arr.size == 0:
            return {"count": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
        return {"count": int(arr.size), "p50_ms": float(np.percentile(arr, 50)),
                "p99_ms": float(np.percentile(arr, 99)), "max_ms": float(arr.max())}

    # -- hand-over from other threads -----------------------------------------------------------------------------
    def _thread(self) -> EngineThread:
        if self._worker is None:
            self._worker = EngineThread(self).start()
        return self._worker

    def submit(self, fn, *args, **kwargs) -> None:
        """Run ``fn(*args, **kwargs)`` on the engine's worker thread, after everything submitted before."""
        self._thread().submit(fn, *args, **kwargs)

    def submit_press(self, source, t_ns: int | None = None, velocity: int | None = None, *,
                     direction: int | None = None, key_height: float | None = None) -> None:
        """:meth:`press` on the worker thread; the timestamp is taken now, so the hand-over costs no timing."""
        self.submit(self.press, source, time.perf_counter_ns() if t_ns is None else t_ns, velocity,
                    direction=direction, key_height=key_height)

    def submit_release(self, source, t_ns: int | None = None) -> None:
        self.submit(self.release, source, time.perf_counter_ns() if t_ns is None else t_ns)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until the worker has run everything submitted so far."""
        if self._worker is None:
            return True
        return self._worker.wait_idle(timeout)


class EngineThread:
    """A thread that runs submitted calls in order (the headless stand-in for a GUI's event loop)."""

    def __init__(self, engine: LiveEngine | None = None, name: str = "live-engine"):
        self.engine = engine
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> EngineThread:
        self._thread.start()
        return self

    def submit(self, fn, *args, **kwargs) -> None:
        self._queue.put((fn, args, kwargs))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args, kwargs = item
            try:
                fn(*args, **kwargs)
            except Exception:
                log.exception("engine call %r failed", fn)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        done = threading.Event()
        self.submit(done.set)
        return done.wait(timeout)

    def stop(self, timeout: float = 2.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            if self._thread is not threading.current_thread():
                self._thread.join(timeout)

    def __enter__(self) -> EngineThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
