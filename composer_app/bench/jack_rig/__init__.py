"""A JACK test rig: a private jackd, a MIDI "key" that stamps its events, and a recorder of the app's sound.

Why JACK: it runs without any hardware (``-d dummy`` paces itself like a real card) and puts MIDI and audio on
one frame clock. A note sent from :class:`JackMidiSender` goes through the app's real path (MidiInput on the
UNIX_JACK backend -> engine -> Synth -> sounddevice on PortAudio's JACK host API) and comes back into
:class:`JackRecorder`; the distance between the send frame and the first loud recorded frame is the
key-to-sound latency, with no clock conversion. The tests use it, and so does ``bench live``.

One job per module:

- :mod:`.server`: the private ``jackd`` (:class:`JackServer`);
- :mod:`.sender`: the MIDI "keyboard" (:class:`JackMidiSender`);
- :mod:`.recorder`: the "ears" (:class:`JackRecorder`);
- :mod:`.portaudio`: what PortAudio needs to see a JACK server that started after it, and which ports it made;
- :mod:`.measure`: key-to-sound latency from a sender and a recorder;
- :mod:`.rig_process`: a sender and a recorder in a child process (:class:`RigProcess`), for tests that open
  rtmidi ports in their own process;
- :mod:`.lib`: importing JACK-Client, with a plain-words error when it is missing.

Needs ``jackd`` (Debian: jackd2) and the ``JACK-Client`` Python package (a test extra); both are imported or
started only when used. The server gets a unique name (``jackd -n``) so it never meets a user's own JACK.
"""

from composer_app.bench.jack_rig.measure import measure_key_to_sound
from composer_app.bench.jack_rig.portaudio import portaudio_output_ports
from composer_app.bench.jack_rig.recorder import JackRecorder
from composer_app.bench.jack_rig.rig_process import RigProcess
from composer_app.bench.jack_rig.sender import JackMidiSender
from composer_app.bench.jack_rig.server import JackServer, jackd_path

__all__ = ["JackMidiSender", "JackRecorder", "JackServer", "RigProcess", "jackd_path", "measure_key_to_sound",
           "portaudio_output_ports"]
