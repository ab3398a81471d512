#!/usr/bin/env bash
# Train the six shipped models and the three `--recipe original` twins they are compared with, two runs at a
# time (one torch thread each). Each model and its twin get the same --time-limit, counted in CPU minutes of
# the training process, so the comparison stays fair however busy the machine is.
# Usage: scripts/train_shipped.sh [CPU_MINUTES_LSTM] [CPU_MINUTES_VANILLA]      (defaults 12 and 6)
# Results: runs/<model>_<kind>_<recipe>/ and, for the shipped ones, checkpoints/<model>_<kind>.pt + .md.
set -euo pipefail
cd "$(dirname "$0")/.."
EC=.venv/bin/everybody-compose
T_BIG=${1:-12}
T_SMALL=${2:-6}
mkdir -p runs/logs

pair() {  # pair "args for run A" "args for run B"
    local a=$1 b=$2
    echo "==> $(date +%T) $a  ||  $b"
    # shellcheck disable=SC2086
    $EC train $a --threads 1 > "runs/logs/$(echo "$a" | tr ' -' '__').log" 2>&1 &
    local pa=$!
    # shellcheck disable=SC2086
    $EC train $b --threads 1 > "runs/logs/$(echo "$b" | tr ' -' '__').log" 2>&1 &
    local pb=$!
    wait $pa $pb
}

# lstm_attn ships at hidden 384 (both kinds) and attention_rnn's live kind at 256/512
# ([shipped.attention_rnn.live]), with budgets in proportion to their compute (30 and 45 CPU minutes at the
# defaults); the offline attention_rnn stays at 128/256 with the base budget.
pair "-m lstm_attn --preset shipped -n 100 --time-limit $((T_BIG * 5 / 2)) --ship" \
     "-m lstm_attn --preset shipped -n 1000 --time-limit $((T_BIG * 5 / 2)) --recipe original"
pair "-m attention_rnn --preset shipped -n 100 --time-limit $T_BIG --ship" \
     "-m attention_rnn --preset shipped -n 1000 --time-limit $T_BIG --recipe original"
pair "-m lstm_attn --live --preset shipped -n 100 --time-limit $((T_BIG * 5 / 2)) --ship" \
     "-m attention_rnn --live --preset shipped -n 100 --time-limit $((T_BIG * 15 / 4)) --ship"
pair "-m vanilla_rnn --preset shipped -n 100 --time-limit $T_SMALL --ship --set augment=false" \
     "-m vanilla_rnn --preset shipped -n 1000 --time-limit $T_SMALL --recipe original"
$EC train -m vanilla_rnn --live --preset shipped -n 100 --time-limit "$T_SMALL" --ship --threads 1 \
    > runs/logs/vanilla_live.log 2>&1
echo "==> $(date +%T) done"
