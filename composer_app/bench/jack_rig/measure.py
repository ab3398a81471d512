"""Key-to-sound latency: a note sent from the rig's keyboard, the frame its sound reaches the rig's ears."""

from __future__ import annotations

import time
from collections.abc import Sequence

from composer_app.bench.jack_rig.recorder import JackRecorder
from composer_app.bench.jack_rig.sender import JackMidiSender


def measure_key_to_sound(
    sender: JackMidiSender,
    recorder: JackRecorder,
    notes: Sequence[int] = (60, 64, 67, 72),
    velocity: int = 100,
    threshold: float = 0.01,
    hold: float = 0.05,
) -> list[float]:
    """Play ``notes`` one by one through whatever listens to ``sender``; return key-to-sound latencies (s).

    Each note waits for silence first (so the onset is this note's), is held ``hold`` seconds and released.
    A note that never sounds raises ``TimeoutError`` (nothing connected, or the app is silent).
    """
    latencies = []
    for note in notes:
        recorder.wait_quiet(threshold)
        sent = sender.note_on(note, velocity)
        onset = recorder.wait_onset(sent, threshold)
        if onset is None:
            sender.note_off(note)
            raise TimeoutError(f"note {note} sent at frame {sent} was never heard")
        latencies.append((onset - sent) / recorder.samplerate)
        time.sleep(hold)
        sender.note_off(note)
    return latencies
