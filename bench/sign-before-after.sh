#!/usr/bin/env bash
# Sign throughput of another strongbox binary (an earlier release) against this tree's, on
# fresh data directories, alternating rounds in one run: what a change to the signing path
# gained. RSA_2048 (RSASSA_PSS_SHA_256) and ECC_NIST_P256 (ECDSA_SHA_256), concurrency 32.
#
#   bench/sign-before-after.sh OLD_STRONGBOX_BINARY [ROUNDS] [SECONDS]     (defaults 3, 5)
source "$(dirname "$0")/lib.sh"
BEFORE=${1:?the other strongbox binary}
ROUNDS=${2:-3} SECONDS_PER_RUN=${3:-5}

build
port=$(free_port)
launch before "$port" env \
    STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
    STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
    "$BEFORE" serve --data-dir "$WORK/before" --listen "127.0.0.1:$port"
start_strongbox after
for spec in RSA_2048 ECC_NIST_P256; do
    for round in $(seq "$ROUNDS"); do
        echo "== $spec, round $round of $ROUNDS" >&2
        for target in before after; do
            measure_as "$target-$spec" "$target" --op sign --key-spec "$spec" \
                --concurrency 32 --duration "${SECONDS_PER_RUN}s" --warmup 1s
        done
    done
done
python3 "$ROOT/bench/summarize.py" "$WORK/results.jsonl" \
    --ratio after-RSA_2048/before-RSA_2048 --ratio after-ECC_NIST_P256/before-ECC_NIST_P256
