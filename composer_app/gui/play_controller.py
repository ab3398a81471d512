"""Playing: key events to the engine, the engine's note events to the roll and the tap area, and the transport
(New take, Undo, Replay, Stop).

A key-down goes straight into the engine (a model step, well under a millisecond) unless the engine thread is
busy with something of ours, then it is queued there (:class:`~composer_app.gui.engine_bridge.EngineBridge`).
Engine events arrive as queued Qt signals on the GUI thread, so nothing here runs inside the engine's lock.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from composer_app.gui.banner import MessageBanner
from composer_app.gui.engine_bridge import EngineBridge
from composer_app.gui.piano_roll import notes_from_take
from composer_app.gui.shown_take import ShownTake
from composer_app.gui.status_line import StatusLine
from composer_app.gui.tempo_bar import TempoBar
from composer_app.take import Take


class PlayController:
    """Holds the pitches of the take being replayed (the big note display follows them)."""

    def __init__(self, engine, bridge: EngineBridge, shown: ShownTake, banner: MessageBanner,
                 status_line: StatusLine, tempo_bar: TempoBar):
        self.engine = engine
        self.bridge = bridge
        self.shown = shown
        self.roll = shown.roll
        self.tap = shown.tap
        self.banner = banner
        self.status_line = status_line
        self.tempo_bar = tempo_bar
        self.replay_pitches: list[int] = []  # pitches of the take being replayed, by position
        q = Qt.ConnectionType.QueuedConnection
        bridge.noteStarted.connect(self.on_note_started, q)
        bridge.noteEnded.connect(self.on_note_ended, q)
        bridge.takeChanged.connect(self.on_take_changed, q)
        bridge.replayNote.connect(self.on_replay_note, q)
        bridge.replayFinished.connect(self.roll.replay_finished, q)

    # -- keys -----------------------------------------------------------------------------------------------------
    def press(self, source: str, t_ns: int, key_height: int | None = None) -> None:
        """A tap key went down (GUI thread): to the engine at once (see :meth:`EngineBridge.press`)."""
        if not self.shown.is_live:  # tapping on a document starts a new live take (the document is in its file)
            self.leave_document()
            self.bridge.submit(self.engine.new_take)  # the press that follows is queued behind it
        self.bridge.press(source, t_ns, key_height)

    def leave_document(self) -> None:
        """Back from a document to a new live take, at the tempo and metre the tempo bar shows (the
        document's), and say so: the document stays as it is, in its file."""
        document, path = self.shown.document, self.shown.path
        self.tempo_bar.changed.emit(self.tempo_bar.settings())  # the engine's next take starts at them
        self.shown.show_live()
        s = self.tempo_bar.settings()
        name = path.name if path is not None else "the take shown"
        self.banner.show_message(f"A new take started at {s.bpm} BPM {s.metre}; {name} ({len(document)} notes) "
                                 "stays as it was" + (" in its file (Ctrl+O opens it again)." if path else "."),
                                 "info")

    def release(self, source: str, t_ns: int) -> None:
        self.bridge.release(source, t_ns)

    # -- engine events --------------------------------------------------------------------------------------------
    def on_note_started(self, ev) -> None:
        if not self.shown.is_live:  # a MIDI key while a document is shown: show the live take again
            self.shown.show_live(notes_from_take(self.engine.take))
        self.roll.note_started(ev.index, ev.pitch, ev.start_s, ev.timing.key_down_ns, ev.velocity, ev.direction)
        self.tap.show_note(ev.index, ev.pitch, ev.direction)
        self.status_line.note_played(ev.timing)
        self.show_count()
        if ev.index == 0:
            self.shown.changed.emit()  # the take has its file now: the title names it

    def on_note_ended(self, ev) -> None:
        if self.shown.is_live:
            self.roll.note_ended(ev.index, ev.dur_s, undone=ev.reason == "undo")
        if not self.roll.sounding:
            self.tap.note_stopped()

    def on_take_changed(self, take: Take) -> None:
        """A new take or an undo: the roll, the big note and the count show the take as it is now."""
        if not self.shown.is_live:
            return
        self.shown.show_live_grid()  # a new take may start at a tempo typed while the last one had notes
        notes = notes_from_take(take)
        if not notes:
            self.roll.clear(live=True)
            self.tap.clear()
        else:
            self.roll.set_notes(notes, live=True, origin_ns=self.roll.origin_ns)
            last = notes[-1]
            if last.end is not None:  # an undo: the big display shows the note the take now ends with
                self.tap.show_resting(last.index, last.pitch)
        self.show_count()
        self.shown.changed.emit()

    def on_replay_note(self, index: int, on: bool) -> None:
        self.roll.replay_note(index, on)
        pitches = self.replay_pitches
        if on and 0 <= index < len(pitches):
            self.tap.show_note(index, pitches[index])
        elif not on and self.tap.last_note is not None and self.tap.last_note[0] == index:
            self.tap.note_stopped()

    def show_count(self) -> None:
        """The shown take's note count, in the status bar and the tap area."""
        document = self.shown.document
        n = len(document.notes) if document is not None else len(self.roll.notes)
        self.status_line.show_count(n)
        self.tap.set_note_count(n)

    # -- transport ------------------------------------------------------------------------------------------------
    def new_take(self) -> None:
        """An empty take (counted in when the tempo bar asks); says where the one played is kept."""
        kept = self.kept_take_note()
        if not self.shown.is_live:  # the new take starts at the tempo bar's tempo and metre (the document's)
            self.tempo_bar.changed.emit(self.tempo_bar.settings())
        self.shown.show_live()
        self.tap.clear()
        self.bridge.call("start a new take", self.engine.new_take, self.tempo_bar.settings().count_in)
        if kept:
            self.banner.show_message(f"New take. {kept}", "info")

    def kept_take_note(self) -> str:
        """Where the live take is kept, in words ('' when it is empty or not written): said whenever the
        window moves away from it (New take, Open take, Quit)."""
        n = len(self.engine.take.notes)
        path = self.engine.take_path
        if not n or path is None:
            return ""
        return (f"The take you played ({n} note{'s' if n != 1 else ''}) is kept in {path}; "
                "open it with Ctrl+O.")

    def stop(self) -> None:
        self.bridge.call("stop", self.engine.stop)
        self.roll.replay_finished()

    def undo(self) -> None:
        if not self.shown.is_live:
            if self.shown.undo_line():
                self.banner.show_message("Undo: the line before the recolouring is back (the recoloured take "
                                         "stays saved in the takes folder)", "info")
                return
            self.banner.show_message("Undo takes back notes of the take you are playing; this take was opened "
                                     "from a file. Tap to start a new take.", "info")
            return
        self.bridge.call("undo the last note", self.engine.undo)

    def replay(self) -> None:
        take = self.shown.document
        if take is None and not self.engine.take.notes:
            self.banner.show_message("Nothing to replay yet: tap z, x or space to play a take.", "info")
            return
        self.replay_pitches = [n.pitch for n in (take.notes if take is not None else self.roll.notes)]
        self.roll.replay_started()
        self.bridge.call("replay", self.engine.replay, take)

