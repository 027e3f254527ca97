#!/usr/bin/env bash
# What the front door costs: Encrypt 1 KiB against three release servers in alternating rounds
# of one run: plain HTTP, TLS (a self-signed certificate; keep-alive connections, so the
# handshake is paid once per connection), and plain HTTP with the `aws` quota profile on (every
# call passes the quota check; AWS's symmetric quota of 100,000/s in us-east-1 throttles none).
#
#   bench/front-door.sh [ROUNDS] [SECONDS] [CONCURRENCY]     (defaults 5, 5, 32)
#
# Prints the median req/s of each, the ratios to plain, and server CPU per request.
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-5} SECONDS_PER_RUN=${2:-5} CONCURRENCY=${3:-32}

build
"$BIN/strongbox" tls self-signed --out "$WORK/tls" --host localhost >/dev/null
start_strongbox plain
start_strongbox tls --tls-cert "$WORK/tls/server.pem" --tls-key "$WORK/tls/server.key"
URL_tls="https://localhost:$PORT_tls"
start_strongbox quotas --quotas aws
for round in $(seq "$ROUNDS"); do
    echo "== round $round of $ROUNDS" >&2
    for target in plain tls quotas; do
        measure "$target" --op encrypt --concurrency "$CONCURRENCY" \
            --duration "${SECONDS_PER_RUN}s" --warmup 1s --ca-bundle "$WORK/tls/ca.pem"
    done
done
python3 "$ROOT/bench/summarize.py" "$WORK/results.jsonl" --ratio tls/plain --ratio quotas/plain
