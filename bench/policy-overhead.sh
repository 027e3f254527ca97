#!/usr/bin/env bash
# What deciding every request costs: Encrypt 1 KiB by an IAM user (the bootstrap key's `admin`,
# allowed by its administrator policy) against
#   default  a key with AWS's default key policy (the common case),
#   twenty   a key with bench/policies/twenty-statements.json (20 statements naming the account:
#            18 that test 5 conditions each and fail on the last, one for DescribeKey, and the
#            20th, allowing the request when its encryption context fits),
# on one release server, and, when BEFORE_BIN names a release build of a commit before access
# control (54420f6), against that server too ("before": no evaluation at all); alternating
# rounds in one run, so that all see the same machine noise.
#
#   BEFORE_BIN=/tmp/before/strongbox bench/policy-overhead.sh [ROUNDS] [SECONDS] [CONCURRENCY]
#
# Prints the median req/s of each, the ratios, and server CPU per request.
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-5} SECONDS_PER_RUN=${2:-5} CONCURRENCY=${3:-32}

build
start_strongbox policies
if [[ -n ${BEFORE_BIN:-} ]]; then
    port=$(free_port)
    launch before "$port" env \
        STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
        STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
        "$BEFORE_BIN" serve --data-dir "$WORK/before" --listen "127.0.0.1:$port"
fi

# The keys. The twenty-statement policy would not let the admin change it again (every
# statement tests the encryption context), hence the bypass.
aws_() { aws --endpoint-url "$URL_policies" "$@"; }
default_key=$(aws_ kms create-key --query KeyMetadata.KeyId --output text)
twenty_key=$(aws_ kms create-key --policy "file://$ROOT/bench/policies/twenty-statements.json" \
    --bypass-policy-lockout-safety-check --query KeyMetadata.KeyId --output text)

for round in $(seq "$ROUNDS"); do
    echo "== round $round of $ROUNDS" >&2
    common=(--op encrypt --concurrency "$CONCURRENCY" --duration "${SECONDS_PER_RUN}s" --warmup 1s)
    measure_as default policies --key-id "$default_key" "${common[@]}"
    measure_as twenty policies --key-id "$twenty_key" "${common[@]}"
    if [[ -n ${BEFORE_BIN:-} ]]; then
        measure_as before before "${common[@]}"
    fi
done
ratios=(--ratio default/twenty)
[[ -n ${BEFORE_BIN:-} ]] && ratios=(--ratio default/before --ratio twenty/before)
python3 "$ROOT/bench/summarize.py" "$WORK/results.jsonl" "${ratios[@]}"
