#!/usr/bin/env bash
# What the audit trail costs: Encrypt 1 KiB against two release servers on fresh data
# directories, one recording every call (durable before the answer) and one started with the
# benchmark-only --benchmark-without-audit, alternating rounds in one run.
#
#   bench/audit-overhead.sh [ROUNDS] [SECONDS] [CONCURRENCY]     (defaults 5, 5, 32)
#
# Prints the median req/s of each, the ratio on/off, and server CPU per request.
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-5} SECONDS_PER_RUN=${2:-5} CONCURRENCY=${3:-32}

build
start_strongbox audit_on
start_strongbox audit_off --benchmark-without-audit
for round in $(seq "$ROUNDS"); do
    echo "== round $round of $ROUNDS" >&2
    for target in audit_on audit_off; do
        measure "$target" --op encrypt --concurrency "$CONCURRENCY" \
            --duration "${SECONDS_PER_RUN}s" --warmup 1s
    done
done
python3 "$ROOT/bench/summarize.py" "$WORK/results.jsonl" --ratio audit_on/audit_off
