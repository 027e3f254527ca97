#!/usr/bin/env bash
# What a grant costs next to a policy: Encrypt 1 KiB at the same key, on one release server,
#   policy  by the bootstrap key's `admin` user, allowed by its identity policy (the key has
#           AWS's default key policy, which names the account);
#   grant   by a user with no policy at all, allowed by a grant on the key (Encrypt, and the
#           Decrypt and DescribeKey the benchmark checks its answers with, under an
#           EncryptionContextSubset constraint the requests meet);
# alternating rounds in one run, so that both see the same machine noise.
#
#   [OUT=raw.jsonl] bench/grant-overhead.sh [ROUNDS] [SECONDS] [CONCURRENCY]
#
# Prints the median req/s of each, the ratio, and server CPU per request.
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-5} SECONDS_PER_RUN=${2:-5} CONCURRENCY=${3:-32}

build
start_strongbox grants
aws_() { aws --endpoint-url "$URL_grants" "$@"; }
key=$(aws_ kms create-key --query KeyMetadata.KeyId --output text)
aws_ iam create-user --user-name grantee >/dev/null
read -r grantee_id grantee_secret < <(aws_ iam create-access-key --user-name grantee \
    --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
aws_ kms create-grant --key-id "$key" \
    --grantee-principal "arn:aws:iam::111122223333:user/grantee" --operations Encrypt Decrypt DescribeKey \
    --constraints 'EncryptionContextSubset={tenant=strongbox-bench}' >/dev/null

for round in $(seq "$ROUNDS"); do
    echo "== round $round of $ROUNDS" >&2
    common=(--op encrypt --key-id "$key" --concurrency "$CONCURRENCY"
        --duration "${SECONDS_PER_RUN}s" --warmup 1s)
    measure_as policy grants "${common[@]}"
    AWS_ACCESS_KEY_ID=$grantee_id AWS_SECRET_ACCESS_KEY=$grantee_secret \
        measure_as grant grants "${common[@]}"
done
python3 "$ROOT/bench/summarize.py" "$WORK/results.jsonl" --ratio grant/policy
if [[ -n ${OUT:-} ]]; then cp "$WORK/results.jsonl" "$OUT"; fi
