"""``everybody-compose run`` (also: no command at all): open the desktop app."""

from __future__ import annotations

NAME = "run"
HELP = "Open the desktop app: tap z, x, space (or a MIDI keyboard) and hear a melody (the default command)."
ORDER = 10


def add_arguments(p) -> None:
    p.add_argument("--data-dir", default=None,
                   help="folder for takes and crash recovery (default: the platform's user data folder)")
    p.add_argument("--no-audio", action="store_true", help="do not open a sound device (play silently)")
    p.add_argument("--no-midi", action="store_true",
                   help="do not look for MIDI keyboards (MIDI out can still be chosen in the panel)")
    p.add_argument("--midi-port", default=None, help="MIDI input port to listen to (name as listed in the app)")
    p.add_argument("--model", choices=["vanilla_rnn", "lstm_attn", "attention_rnn"], default=None,
                   help="live model to start with (default: the last one chosen, else lstm_attn)")
    p.add_argument("--checkpoint", default=None, help="a live model checkpoint file to start with")
    p.add_argument("--soundfont", default=None, help=".sf2 file to play with (default: the last one chosen, "
                                                     "else the bundled General MIDI soundfont)")
    p.add_argument("--settings", default=None,
                   help="keep choices in this INI file instead of the user's settings (demos, tests)")


def run(args) -> int:
    from composer_app.gui.app import run_app

    return run_app(args)
