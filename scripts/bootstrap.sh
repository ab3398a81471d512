#!/usr/bin/env bash
# One-time set-up of a fresh machine: system libraries, then a virtual environment in .venv/.
# Idempotent: a stamp file records what was done, so a second run does nothing.
# Linux: apt-get (Debian/Ubuntu). macOS: Homebrew's fluidsynth (PortAudio comes inside sounddevice's wheel).
# Windows has no bash: `py -m composer_app setup` does the same (composer_app/two_commands.py).
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(libfluidsynth3 libportaudio2 jackd2 xvfb xdotool
    libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1
    libfontconfig1 libdbus-1-3 fonts-dejavu-core libxcb-shape0 libxcb-xinerama0 libxcb-randr0
    libxcb-render-util0 libxcb-image0 libxcb-xkb1)
VENV=.venv
STAMP=$VENV/.bootstrap-stamp
# The stamp holds a hash of what defines the environment: change pyproject.toml and set-up runs again.
# macOS has shasum, not sha256sum.
hash256() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; }
WANT=$(cat pyproject.toml scripts/bootstrap.sh | hash256 | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    exit 0
fi

# macOS: FluidSynth from Homebrew (pyfluidsynth finds it through HOMEBREW_PREFIX; run_app.sh sets it).
# sounddevice's and python-rtmidi's macOS wheels carry PortAudio and CoreMIDI; no JACK or Xvfb is needed.
macos_packages() {
    if ! command -v brew >/dev/null; then
        echo "!! Homebrew not found: install it from https://brew.sh, then: brew install fluidsynth"
        echo "   Continuing: without FluidSynth the app plays silently; the rest works."
    elif ! brew list --formula fluid-synth >/dev/null 2>&1; then
        echo "==> brew install fluidsynth"
        brew install fluidsynth || echo "!! brew install fluidsynth failed: the app plays silently until it works"
    fi
}

# Linux (Debian/Ubuntu): the packages dpkg does not list, with apt-get where allowed, else named.
linux_packages() {
    missing=()
    for p in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
            echo "==> installing system packages: ${missing[*]}"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        elif command -v apt-get >/dev/null && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            echo "==> installing system packages with sudo: ${missing[*]}"
            sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq
            sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        else
            echo "!! cannot install system packages here (no apt-get or not root). Please install:"
            echo "   ${missing[*]}"
            echo "   (Debian/Ubuntu: sudo apt-get install --no-install-recommends ${missing[*]})"
            echo "   Continuing: sound, MIDI loopback and screenshots need them; the rest works without."
        fi
    fi
}

if [ "$(uname -s)" = Darwin ]; then macos_packages; else linux_packages; fi

PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PY" -m venv "$VENV"
fi
echo "==> installing Python packages into $VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# The CPU build of torch first: an unpinned torch from PyPI pulls several GB of CUDA libraries.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    "$VENV/bin/python" -m pip install -q "torch==2.13.0" \
        || "$VENV/bin/python" -m pip install -q "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
fi
"$VENV/bin/python" -m pip install -q -e ".[test]"
echo "$WANT" > "$STAMP"
echo "==> set-up done"
