#!/usr/bin/env bash
# Start the desktop app. Arguments go to `everybody-compose run` (see --help).
set -euo pipefail
# No cd: file arguments stay relative to where the user ran this.
APP="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/everybody-compose"

if [ ! -x "$APP" ]; then
    echo "!! the app is not installed in .venv: run 'make setup' (or scripts/bootstrap.sh) first" >&2
    exit 2
fi

# Without a display Qt aborts with a cryptic "could not connect to display" / xcb plugin error. Say what to do.
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ] \
        && [ "$(uname -s)" = Linux ]; then
    echo "!! no display found (neither DISPLAY nor WAYLAND_DISPLAY is set), so no window can open." >&2
    echo "   On a desktop: run this from a terminal inside the desktop session." >&2
    echo "   Over ssh: ssh -X, or a virtual display: xvfb-run -a scripts/run_app.sh $*" >&2
    echo "   Without any window (tests, screenshots): QT_QPA_PLATFORM=offscreen scripts/run_app.sh $*" >&2
    exit 2
fi

# macOS: pyfluidsynth looks for Homebrew's FluidSynth under HOMEBREW_PREFIX (a Python not from Homebrew does
# not search /opt/homebrew/lib by itself); `brew shellenv` sets it in most shells, this covers the others.
if [ "$(uname -s)" = Darwin ] && [ -z "${HOMEBREW_PREFIX:-}" ] && command -v brew >/dev/null; then
    HOMEBREW_PREFIX="$(brew --prefix)"
    export HOMEBREW_PREFIX
fi

exec "$APP" run "$@"
