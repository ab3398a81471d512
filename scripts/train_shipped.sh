#!/usr/bin/env bash
# Train the six shipped models (the default recipe: melody memory, and located attention for attention_rnn),
# all at once with one torch thread each, then ship each best checkpoint to checkpoints/ with its model card.
# Budgets are CPU minutes of each training process (--time-limit), so a busy machine takes longer but trains
# the same amount. Usage: scripts/train_shipped.sh [SCALE]   (SCALE multiplies every budget; default 1)
# Results: runs/<model>_<kind>_mem/ and runs/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
EC=.venv/bin/everybody-compose
SCALE=${1:-1}
mkdir -p runs/logs

minutes() { python3 -c "print($1 * $SCALE)"; }

train() {  # train NAME MINUTES ARGS...
    local name=$1 limit
    limit=$(minutes "$2")
    shift 2
    # shellcheck disable=SC2068
    $EC train $@ --preset shipped -n 100 --time-limit "$limit" --threads 1 --out "runs/$name" --ship \
        > "runs/logs/$name.log" 2>&1 &
}

train lstm_attn_offline_mem 24 -m lstm_attn
train lstm_attn_live_mem 24 -m lstm_attn --live
train attention_rnn_offline_mem 18 -m attention_rnn
train attention_rnn_live_mem 24 -m attention_rnn --live
train vanilla_rnn_offline_mem 8 -m vanilla_rnn --set augment=false
train vanilla_rnn_live_mem 8 -m vanilla_rnn --live
wait
echo "==> $(date +%T) done: checkpoints/*.pt and their cards; logs in runs/logs/"
