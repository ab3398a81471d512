"""PortAudio and a JACK server: seeing one that started later, letting go of one before it stops, its ports.

Kept apart because it leans on a private of sounddevice (``_terminate``/``_initialize``): PortAudio scans its
host APIs only when it starts, and sounddevice offers no public way to make it scan again.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from composer_app.bench.jack_rig.lib import load_jack


def refresh_portaudio() -> None:
    """Re-initialise PortAudio if sounddevice is loaded, so it sees (or forgets) the JACK server now in use.

    No sounddevice stream may be open.
    """
    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


def portaudio_output_ports(servername: str, exclude: Sequence[str] = ("system:",)) -> list[str]:
    """Audio output ports of other clients (PortAudio's ``PortAudio:out_0``...) except ``exclude`` prefixes."""
    client = load_jack().Client("ec-lister", servername=servername, no_start_server=True)
    try:
        ports = client.get_ports(is_audio=True, is_output=True)
        return [p.name for p in ports if not p.name.startswith(tuple(exclude))]
    finally:
        client.close()
