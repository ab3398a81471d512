"""The player's choices: live model, sampling, time (tempo, metre, click, steer), sound and MIDI input.

Each panel only emits requests; this controller hands them to the engine's worker thread (loading a model or a
soundfont, reopening a sound device take tens of milliseconds the GUI thread must not spend), remembers them in
the settings store, and shows the result or the reason it failed.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget

from composer_app.gui import tasks
from composer_app.gui.banner import MessageBanner
from composer_app.gui.controls import ModelPanel, SamplingPanel
from composer_app.gui.engine_bridge import EngineBridge
from composer_app.gui.midi_panel import NO_INPUT, MidiPanel, MidiWatcher
from composer_app.gui.model_source import ModelSource
from composer_app.gui.shown_take import ShownTake
from composer_app.gui.sound_panel import SoundPanel
from composer_app.gui.status_line import StatusLine, short
from composer_app.gui.tempo_bar import TempoBar, TimeSettings, time_settings_from_store


class Choices:
    """Holds the model warning of the model being loaded and the MIDI port listened to."""

    def __init__(self, parent: QWidget, engine, bridge: EngineBridge, store, source: ModelSource,
                 panels: tuple[ModelPanel, SamplingPanel, TempoBar, SoundPanel, MidiPanel], shown: ShownTake,
                 banner: MessageBanner, status_line: StatusLine):
        self.parent = parent
        self.engine = engine
        self.bridge = bridge
        self.store = store
        self.source = source
        self.model_panel, self.sampling_panel, self.tempo_bar, self.sound_panel, self.midi_panel = panels
        self.shown = shown
        self.banner = banner
        self.status_line = status_line
        self.model_warning: str | None = None  # of the model being switched to
        self.midi_port = ""  # the MIDI input port the engine listens to ("" = none)
        self._remembered_out: str | None = None  # the MIDI out opened at start, from last time
        self._remembered_in: str | None = None  # the MIDI input opened at start, from last time
        self._out_only_backend: str | None | bool = False  # --no-midi: the backend MIDI out lists (False: not so)
        self.watcher: MidiWatcher | None = None
        self.model_panel.architectureChosen.connect(self.choose_model)
        self.model_panel.fileRequested.connect(self.choose_model_file_dialog)
        self.model_panel.tunedChosen.connect(self.choose_model_file)
        self.sampling_panel.settingsChanged.connect(self.apply_settings)
        self.tempo_bar.changed.connect(self.apply_time)
        self.sound_panel.programChosen.connect(self.choose_program)
        self.sound_panel.soundfontRequested.connect(self.choose_soundfont_dialog)
        self.sound_panel.soundfontReset.connect(lambda: self.choose_soundfont(None))
        self.sound_panel.audioChosen.connect(self.choose_audio)
        self.midi_panel.portChosen.connect(self.choose_midi_port)
        self.midi_panel.outChosen.connect(self.choose_midi_out)
        self.midi_panel.builtinChanged.connect(self.set_builtin_synth)
        bridge.callFailed.connect(self.on_call_failed, Qt.ConnectionType.QueuedConnection)

    # -- model and sampling ---------------------------------------------------------------------------------------
    def choose_model(self, arch: str) -> None:
        """Switch the live model (loaded in the background; the engine switches at the next beat)."""
        self.store.set("model/architecture", arch)
        self.store.remove("model/file")
        tasks.run_in_thread(lambda: self.source.live(arch), self._switch_model,
                            lambda msg: self.banner.show_message(msg, "error"), name="load-model")

    def choose_model_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Live model checkpoint", str(Path.home()),
                                              "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.choose_model_file(path)

    def choose_model_file(self, path) -> None:
        def loaded(choice):
            self.store.set("model/file", str(path))
            self._switch_model(choice)

        tasks.run_in_thread(lambda: self.source.from_file(path, "live"), loaded,
                            lambda msg: self.banner.show_message(msg, "error"), name="load-model")

    def _switch_model(self, choice) -> None:
        self.model_warning = choice.warning
        self.bridge.call("switch the model", self.engine.set_model, choice.loaded, done=self._model_switched)

    def apply_settings(self, settings) -> None:
        """The sampling panel's settings, with the tempo bar's steer strength."""
        steer = self.tempo_bar.settings().steer
        self.bridge.call("change the sampling settings", self.engine.set_settings, settings.with_(steer=steer))
        self.sampling_panel.save(self.store)

    def apply_time(self, settings: TimeSettings) -> None:
        """Tempo, metre, click and steer go to the engine (only what differs from it); the roll draws bars and
        beats; count-in is used by New take, the quantize grid by export."""
        engine = self.engine
        if settings.bpm != engine.next_tempo_bpm:
            self.bridge.call("set the tempo", engine.set_tempo, settings.bpm, done=self._time_set)
        if settings.metre != str(engine.next_time_signature):
            self.bridge.call("set the time signature", engine.set_time_signature, settings.metre,
                             done=self._time_set)
        if settings.click != engine.metronome.on:
            self.bridge.call("switch the metronome", engine.metronome.set_on, settings.click)
        if settings.steer != engine.settings.steer:
            self.bridge.call("set the steer strength",
                             lambda: engine.set_settings(engine.settings.with_(steer=settings.steer)))
        self.shown.tap.set_steer(settings.steer)
        if self.shown.is_live:
            self.shown.show_live_grid()
        self.tempo_bar.save(self.store)

    # -- sound ----------------------------------------------------------------------------------------------------
    def choose_program(self, program: int) -> None:
        self.store.set("sound/program", int(program))
        self.bridge.call("change the instrument", self.engine.set_instrument, int(program),
                         failed=self._show_engine_program)

    def step_instrument(self, step: int) -> None:
        box = self.sound_panel.instrument
        if box.count():
            box.setCurrentIndex((box.currentIndex() + step) % box.count())
            self.choose_program(int(box.currentData()))

    def choose_soundfont_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "SoundFont", str(Path.home()),
                                              "SoundFonts (*.sf2);;All files (*)")
        if path:
            self.choose_soundfont(path)

    def choose_soundfont(self, path) -> None:
        """Load ``path`` (None = the bundled one) on the engine thread; a bad file leaves the old sound."""
        from composer_app.live.synth import default_soundfont

        target = Path(path) if path else default_soundfont()
        engine = self.engine

        def load():
            engine.set_soundfont(target)
            return target, engine.synth.preset_names(), int(engine.synth.program)

        self.bridge.call("load the soundfont", load, done=self._soundfont_loaded)

    def choose_audio(self, device, blocksize: int, latency) -> None:
        self.store.set("sound/device", device or "")
        self.store.set("sound/blocksize", int(blocksize))
        self.store.set("sound/latency", str(latency))
        self.bridge.call("change the sound output", self.engine.sound.set_audio, device, int(blocksize), latency,
                         done=self._audio_set)

    # -- MIDI input -----------------------------------------------------------------------------------------------
    def watch_midi(self, backend: str | None, listen: bool = True) -> None:
        """Follow MIDI ports on the watcher's thread and open the remembered ones; ``listen=False``
        (``--no-midi``): MIDI out only."""
        self.watcher = MidiWatcher(self.engine, backend, parent=self.parent, listen=listen)
        self.watcher.portsChanged.connect(self.on_midi_ports)
        self.watcher.opened.connect(self.on_midi_opened)
        self.watcher.failed.connect(self.on_midi_failed)
        self.watcher.waiting.connect(self.on_midi_waiting)
        self.watcher.outPortsChanged.connect(self.midi_panel.set_out_ports)
        self.watcher.outOpened.connect(self.on_midi_out_opened)
        self.watcher.outFailed.connect(self.on_midi_out_failed)
        self.watcher.start()
        wanted = self.store.get_str("midi/port", "") if listen else ""
        if wanted:
            self.midi_panel.select(wanted)
            self._remembered_in = wanted
            self.watcher.request_open(wanted)
        out, channel = self.store.get_str("midi/out", ""), self.store.get_int("midi/out_channel", 0, 0, 15)
        if out:
            self.midi_panel.select_out(out, channel)
            self._remembered_out = out
            self.watcher.request_open_out(out, channel)

    def choose_midi_out(self, port: str, channel: int) -> None:
        """The notes that sound also go to ``port`` ("" = none; ``VIRTUAL``: a virtual port) on ``channel``."""
        self.store.set("midi/out", port or "")
        self.store.set("midi/out_channel", int(channel))
        self.midi_panel.select_out(port, channel)
        if self.watcher is None and self._out_only_backend is not False:
            self._watch_out_only()
        if self.watcher is not None:
            self.watcher.request_open_out(port or "", int(channel))

    def on_midi_out_failed(self, port: str, message: str) -> None:
        """MIDI out could not open ``port``: the notes stay on the built-in synth and the choice falls back to
        off (so it is not tried, and failed, again at every start). A port remembered from last time is said
        calmly (nothing the player just did failed); one just chosen, as a warning."""
        remembered = port == self._remembered_out
        self._remembered_out = None
        if self.store.get_str("midi/out", "") == port:
            self.store.set("midi/out", "")
        self.midi_panel.select_out("", self.midi_panel.channel.value() - 1)
        if remembered:
            self.banner.show_message(f"MIDI out is off this time: {message}.", "info")
        else:
            self.banner.show_message(f"{message}.", "warning")

    def on_midi_out_opened(self, name: str) -> None:
        self.midi_panel.out.setToolTip(f"MIDI out: {name}" if name else "MIDI out: off")

    def set_builtin_synth(self, on: bool) -> None:
        """Play through the built-in synth (True) or only to MIDI out."""
        self.store.set("sound/builtin_synth", bool(on))
        self.bridge.call("switch the built-in synth", self.engine.midi_out.set_builtin_synth, bool(on))

    def no_midi(self, backend: str | None = None) -> None:
        """``--no-midi``: no MIDI input (the computer keyboard only); MIDI out can still be chosen. Its ports
        are looked for from the first time the out list is opened (or a port from last time is reopened), so a
        window nobody asks for MIDI out from runs no MIDI thread."""
        self.midi_panel.set_ports([], "")
        self.midi_panel.combo.setEnabled(False)
        self.midi_panel.status.setText(NO_INPUT)
        self.status_line.set_midi("MIDI in: off")
        self._out_only_backend = backend
        self.midi_panel.outListWanted.connect(self._watch_out_only)
        if self.store.get_str("midi/out", ""):
            self._watch_out_only()

    def _watch_out_only(self) -> None:
        if self.watcher is None:
            self.watch_midi(self._out_only_backend, listen=False)

    def on_midi_failed(self, port: str, message: str) -> None:
        """The MIDI input ``port`` could not be opened: the computer keyboard plays. A port remembered from last
        time is said calmly, once, and forgotten (nothing the player just did failed); one just chosen, as an
        error."""
        remembered = port == self._remembered_in
        self._remembered_in = None
        if remembered:
            if self.store.get_str("midi/port", "") == port:
                self.store.set("midi/port", "")
            self.midi_panel.select("")
            self.banner.show_message(f"MIDI input is off this time: {message}.", "info")
        else:
            self.banner.show_message(message, "error")

    def choose_midi_port(self, name: str) -> None:
        self.store.set("midi/port", name or "")
        self.midi_panel.select(name or "")
        if self.watcher is not None:
            self.watcher.request_open(name or None)

    def on_midi_ports(self, names: list, reason: str) -> None:
        self.midi_panel.set_ports(names, reason)
        if self.midi_port:
            return  # a port is open: the engine's own message says which
        if reason:
            self.status_line.set_midi("MIDI: none", reason)
        else:
            self.status_line.set_midi(f"MIDI: {len(names)} port{'s' if len(names) != 1 else ''}, none chosen",
                                      "\n".join(names))

    def on_midi_waiting(self, name: str, missing: str) -> None:
        """The chosen port is not there (``missing``: its MIDI system is not running, in words)."""
        self._remembered_in = None
        if missing:
            self.midi_panel.status.setText(f"{name} plays as soon as it is there; {missing}")
        else:
            self.midi_panel.status.setText(f"{name} is not connected: it plays as soon as it is plugged in")
        self.status_line.set_midi(f"MIDI: waiting for {short(name, 30)}", name)

    def on_midi_opened(self, name: str) -> None:
        self.midi_port = name
        self.midi_panel.set_opened(name)
        if not name:
            self.status_line.set_midi("MIDI: none chosen")

    # -- results of engine calls (each handed to the call that brings it; run on the GUI thread) -----------------
    def _model_switched(self, model) -> None:
        self.model_panel.show_model(model, self.model_warning)
        if self.model_warning:
            self.banner.show_message(self.model_warning, "warning")

    def _soundfont_loaded(self, result) -> None:
        from composer_app.live.synth import default_soundfont

        path, names, program = result
        self.sound_panel.set_soundfont(path)
        self.sound_panel.set_instruments(names, program)
        self.store.set("sound/soundfont", "" if Path(path) == default_soundfont() else str(path))

    def _time_set(self, applied: bool) -> None:
        """``applied`` False: the take has notes, so the new tempo or metre waits for the next one."""
        if applied is False:
            self.say_time_waits()

    def _audio_set(self, result) -> None:
        if result is not None:
            self.sound_panel.status.setText(result.message)

    def _show_engine_program(self) -> None:
        """The instrument could not change: the list shows the one still playing."""
        self.sound_panel.select_program(int(self.engine.synth.program))

    def say_time_waits(self) -> None:
        """A tempo or metre typed after playing waits for the next take: say which take has which."""
        take, engine = self.engine.take, self.engine
        self.banner.show_message(
            f"The take you played stays at {take.tempo_bpm:g} BPM {take.time_signature}, as it was played; "
            f"{engine.next_tempo_bpm:g} BPM {engine.next_time_signature} starts with the next take (Ctrl+N).",
            "info")

    def on_call_failed(self, what: str, message: str) -> None:
        self.banner.show_message(f"could not {what}: {message}", "error")

    # -- state between runs ---------------------------------------------------------------------------------------
    def restore(self, audio: bool) -> None:
        """Show what the engine plays with and the remembered time settings (sent to the engine)."""
        self.sampling_panel.set_settings(self.engine.settings)
        self.tempo_bar.set_settings(time_settings_from_store(self.store))
        self.apply_time(self.tempo_bar.settings())
        synth = self.engine.synth
        self.sound_panel.set_instruments(synth.preset_names(), int(synth.program))
        self.sound_panel.set_soundfont(synth.soundfont)
        builtin = self.store.get_bool("sound/builtin_synth", True)
        self.midi_panel.builtin.blockSignals(True)
        self.midi_panel.builtin.setChecked(builtin)
        self.midi_panel.builtin.blockSignals(False)
        if builtin != self.engine.midi_out.builtin_synth:
            self.bridge.call("switch the built-in synth", self.engine.midi_out.set_builtin_synth, builtin)
        args = self.engine.sound.settings
        self.sound_panel.set_audio(int(args.get("blocksize", 128)), args.get("latency", "low"))
        self.sound_panel.set_devices([], args.get("device"))
        if audio:
            from composer_app.live.audio import list_output_devices

            tasks.run_in_thread(list_output_devices, lambda devs: self.sound_panel.set_devices(
                devs, self.engine.sound.settings.get("device")), name="list-audio")
        else:
            for box in (self.sound_panel.device, self.sound_panel.blocksize, self.sound_panel.latency):
                box.setEnabled(False)

    def save(self) -> None:
        self.sampling_panel.save(self.store)
        self.tempo_bar.save(self.store)
