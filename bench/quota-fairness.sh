#!/usr/bin/env bash
# One tenant flooding, another measured: tenant B's Encrypt latency alone, then while tenant A
# (over its quota of cryptographic-symmetric = A_RATE a second) floods from many connections,
# in alternating rounds of one run on one release server. Quotas make A's excess calls cheap
# refusals; this shows what that leaves of B's latency.
#
#   bench/quota-fairness.sh [ROUNDS] [SECONDS] [A_CONCURRENCY] [A_RATE]   (defaults 3, 5, 64, 500)
#
# Prints B's median p50/p99 alone and under the flood, and the flood's own answer rate.
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-3} SECONDS_PER_RUN=${2:-5} FLOOD=${3:-64} A_RATE=${4:-500}

build
cat >"$WORK/quotas.toml" <<TOML
[quotas.accounts."111122223333"]
cryptographic-symmetric = $A_RATE
TOML
start_strongbox server --config "$WORK/quotas.toml"
# Tenant B: a second account with its own access key (admin commands work beside the server).
ACCOUNT_B=$("$BIN/strongbox" --data-dir "$WORK/server" account create --name tenant-b)
CREDS_B=$("$BIN/strongbox" --data-dir "$WORK/server" access-key create --account "$ACCOUNT_B" 2>/dev/null)
KEY_B=$(sed -n 's/^aws_access_key_id = //p' <<<"$CREDS_B")
SECRET_B=$(sed -n 's/^aws_secret_access_key = //p' <<<"$CREDS_B")

tenant_b() {
    AWS_ACCESS_KEY_ID=$KEY_B AWS_SECRET_ACCESS_KEY=$SECRET_B \
        measure server --op encrypt --concurrency 4 --duration "${SECONDS_PER_RUN}s" --warmup 1s
}

for round in $(seq "$ROUNDS"); do
    echo "== round $round of $ROUNDS: B alone" >&2
    tenant_b
    sed -i '$ s/"target":"server"/"target":"b_alone"/' "$WORK/results.jsonl"
    echo "== round $round of $ROUNDS: B while A floods" >&2
    # A's flood: most of its calls are throttled, so the load generator reports failures; its
    # exit status is not the point.
    "$BIN/strongbox-bench" --endpoint "$URL_server" --op encrypt --concurrency "$FLOOD" \
        --duration "$((SECONDS_PER_RUN + 3))s" --warmup 0s --quiet \
        >"$WORK/flood-$round.json" 2>/dev/null &
    flood=$!
    sleep 1
    tenant_b
    sed -i '$ s/"target":"server"/"target":"b_flooded"/' "$WORK/results.jsonl"
    wait "$flood" || true
    echo "A's flood: $(tail -n 1 "$WORK/flood-$round.json")" >&2
done
python3 "$ROOT/bench/summarize.py" "$WORK/results.jsonl" --ratio b_flooded/b_alone
