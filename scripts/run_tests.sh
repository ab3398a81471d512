#!/usr/bin/env bash
# Lint, then the test suite. Arguments go to pytest (e.g. `make test ARGS="-k synth -x"`, `ARGS="-m slow"`).
# Exit status: 0 all good; non-zero when lint or any test fails. pytest's "no tests collected" (5) counts as a
# failure for a plain run (the suite is never empty), but not when a -k/-m filter simply matched nothing.
set -uo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
if [ ! -x "$BIN/python" ]; then
    echo "!! no virtual environment in .venv: run 'make setup' (or scripts/bootstrap.sh) first" >&2
    exit 2
fi

echo "==> ruff check"
"$BIN/ruff" check composer_app models tests || { echo "!! lint failed (try: $BIN/ruff check --fix ...)" >&2; exit 1; }

echo "==> pytest $*"
export QT_QPA_PLATFORM=offscreen
"$BIN/python" -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
    filtered=0
    for arg in "$@"; do
        case "$arg" in -k|-m|-k*|-m*|--deselect*|*::*) filtered=1 ;; esac
    done
    if [ "$filtered" -eq 1 ]; then
        echo "==> no tests matched the selection ($*)"
        exit 0
    fi
    echo "!! pytest collected no tests" >&2
fi
exit "$status"
