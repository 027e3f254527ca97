#!/usr/bin/env bash
# A million keys in the store (issue #6): seeds a data directory once and keeps it for later
# runs, then measures how soon `serve` answers, Encrypt with a random key per call, first cold
# (the first call with each key) and then warm, against Encrypt with a single key, and the
# server's memory.
#
#   bench/million-keys.sh DATA_DIR [KEYS] [SECONDS] [ROUNDS]     (defaults 1000000, 10, 2)
#
# Seeding creates the missing keys with CreateKey at concurrency 32 (about 2,000 keys/s here).
# The data directory must be one this script created (it holds the benchmark's credentials).
# OUT=DIR keeps results.jsonl there. SERVE_FLAGS adds flags to the measured server, e.g. SERVE_FLAGS=--benchmark-without-audit.
source "$(dirname "$0")/lib.sh"
DATA=${1:?usage: bench/million-keys.sh DATA_DIR [KEYS] [SECONDS] [ROUNDS]}
KEYS=${2:-1000000} SECONDS_PER_RUN=${3:-10} ROUNDS=${4:-2}

build
start_strongbox_at seed "$DATA"
echo "== seeding up to $KEYS keys in $DATA" >&2
"$BIN/strongbox-bench" --endpoint "http://127.0.0.1:$PORT_seed" --op describe-key \
    --existing-keys --keys "$KEYS" --duration 1s --warmup 0s --quiet >/dev/null
stop seed

started=$(date +%s%N)
# shellcheck disable=SC2086 # SERVE_FLAGS is a list of flags
start_strongbox_at keys "$DATA" ${SERVE_FLAGS:-}
until curl -sf "http://127.0.0.1:$PORT_keys/health" >/dev/null; do sleep 0.01; done
echo "== serve answered /health $(( ($(date +%s%N) - started) / 1000000 )) ms after it was started; $(memory keys)" >&2
# The same server under two names, so that the summary sets them side by side.
PORT_single=$PORT_keys PID_single=$PID_keys URL_single=$URL_keys

echo "== random key per call: first every key once (cold), then measured (warm)" >&2
measure keys --op encrypt --existing-keys --keys "$KEYS" --touch-each-key \
    --duration "${SECONDS_PER_RUN}s"
echo "   after touching every key: $(memory keys)" >&2
for round in $(seq "$ROUNDS"); do
    echo "== round $round of $ROUNDS" >&2
    measure single --op encrypt --existing-keys --keys 1 --duration "${SECONDS_PER_RUN}s"
    measure keys --op encrypt --existing-keys --keys "$KEYS" --duration "${SECONDS_PER_RUN}s"
done
echo "== at the end: $(memory keys)" >&2
python3 "$ROOT/bench/summarize.py" "$WORK/results.jsonl" --ratio keys/single
if [[ -n ${OUT:-} ]]; then
    mkdir -p "$OUT"
    cp "$WORK/results.jsonl" "$OUT/results.jsonl"
fi
grep -o '"first_touch_per_s":[0-9.]\+' "$WORK/results.jsonl" | sed 's/^/cold (first call with each key), calls\/s: /' >&2
