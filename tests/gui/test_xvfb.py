"""The issue's check on a real X server (slow, opt-in: ``pytest -m slow tests/gui/test_xvfb.py``).

Runs ``xvfb_check.py`` (next to this file): the app started as the README says under Xvfb; eight taps sent with
xdotool become eight notes; SIGKILL leaves them for recovery; the next start offers them back; Ctrl+E exports
them as a valid MIDI file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_xvfb_taps_kill_recover_export():
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("needs Xvfb and xdotool (apt-get install xvfb xdotool)")
    script = Path(__file__).with_name("xvfb_check.py")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert '"exported_notes": 8' in out.stdout and '"recoverable_notes": 8' in out.stdout
