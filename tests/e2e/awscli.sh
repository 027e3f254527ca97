#!/usr/bin/env bash
# End-to-end test: a real `strongbox serve` driven by the real aws CLI, exactly as a user would
# drive it (the credentials file the server writes, `--endpoint-url`, `--profile strongbox`).
#
# Usage:
#   tests/e2e/awscli.sh                       # target/release/strongbox if built, else debug
#   STRONGBOX_BIN=/path/to/strongbox tests/e2e/awscli.sh
#   E2E_KEEP_GOING=1 tests/e2e/awscli.sh      # diagnosis: run every check even after a failure
#
# The last line printed is always "N passed, M failed" (CI reads it); the exit status is 0 only
# when M is 0. By default the script stops at the first failure and prints the server log.
#
# shellcheck disable=SC2317  # functions called through "$@" or a trap look unreachable to it
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
if [[ -z ${STRONGBOX_BIN:-} ]]; then
    if [[ -x $REPO_ROOT/target/release/strongbox ]]; then
        STRONGBOX_BIN=$REPO_ROOT/target/release/strongbox
    else
        STRONGBOX_BIN=$REPO_ROOT/target/debug/strongbox
    fi
fi

# The bootstrap key is fixed so failures are reproducible; the secret is 40 characters like AWS's.
readonly ACCESS_KEY_ID=AKIAE2ETESTKEY000001
readonly SECRET_ACCESS_KEY=e2eSecretAccessKey0123456789abcdefghijkl
readonly ACCOUNT_A=111122223333
readonly REGION=us-east-1
readonly UUID_RE='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
readonly KEY_ARN_PREFIX="arn:aws:kms:$REGION:$ACCOUNT_A:key/"
readonly CONTEXT=purpose=e2e,tenant=a

PASSED=0
FAILED=0
REPORTED=""
# Servers' pids, set through spawn_server and cleared through stop_server by name.
# shellcheck disable=SC2034
SERVER_PID=""
ENDPOINT=""
# shellcheck disable=SC2034
CLOCK_PID="" # the second server, started with --dev-clock
TLS_PID=""   # the third server, serving TLS
CLOCK_ENDPOINT=""
ROTATED_MATERIAL=""
AUDIT_SECRET=""        # the plaintext the audit section encrypts; it must never reach a record
AUDIT_CIPHERTEXT=""    # its ciphertext, base64, which must not reach a record either
AUDIT_ENCRYPT_EVENT="" # the eventID of that Encrypt call, as LookupEvents returned it
OUT=""
ERR_LINE=""
ERR_CMD=""

WORK=$(mktemp -d "${TMPDIR:-/tmp}/strongbox-e2e.XXXXXX")
readonly DATA_DIR=$WORK/data   # `serve` creates it, as on a fresh install
readonly LOG=$WORK/server.log  # stdout and stderr of every server run, appended
readonly CLOCK_DATA_DIR=$WORK/clock-data  # the --dev-clock server's own fresh data directory
readonly DATE_RE='[0-9]+(\.[0-9]+)?|[0-9]{4}-.*'  # CLI v1 prints epoch seconds, v2 ISO 8601
readonly AUDIT_EXPORT=$WORK/audit-export  # `strongbox audit export --out` of the main data directory

# ---------------------------------------------------------------------------------------------
# Reporting

pass() {
    PASSED=$((PASSED + 1))
    printf 'ok    %s\n' "$1"
}

# fail NAME DETAIL...: records a failed check; stops the run unless E2E_KEEP_GOING is set.
fail() {
    FAILED=$((FAILED + 1))
    printf 'FAIL  %s\n' "$1"
    shift
    local line
    for line in "$@"; do
        printf '      %s\n' "$line"
    done
    if [[ -z ${E2E_KEEP_GOING:-} ]]; then
        report
        exit 1
    fi
}

# report: the server log when something failed, then the summary line, always last.
report() {
    REPORTED=1
    if ((FAILED > 0)) && [[ -s $LOG ]]; then
        echo "--- last 50 lines of the server log ---"
        tail -n 50 "$LOG" 2>/dev/null || true
        echo "--- end of server log ---"
    fi
    echo "$PASSED passed, $FAILED failed"
}

# check NAME EXPECTED ACTUAL
check() {
    if [[ $2 == "$3" ]]; then
        pass "$1"
    else
        fail "$1" "expected: $2" "actual:   $3"
    fi
}

# check_match NAME REGEX ACTUAL: ACTUAL must match the whole extended REGEX.
check_match() {
    if [[ $3 =~ ^($2)$ ]]; then
        pass "$1"
    else
        fail "$1" "expected to match: ^($2)\$" "actual:            $3"
    fi
}

# check_files NAME EXPECTED_FILE ACTUAL_FILE: byte-for-byte equality (binary safe).
check_files() {
    if cmp -s "$2" "$3"; then
        pass "$1"
    else
        fail "$1" "expected bytes: $(od -An -tx1 "$2" | head -c 120 | tr -s ' \n' ' ')..." \
            "actual bytes:   $(od -An -tx1 "$3" | head -c 120 | tr -s ' \n' ' ')..."
    fi
}

# ---------------------------------------------------------------------------------------------
# Running commands

# run NAME CMD...: CMD must succeed; its stdout is left in $OUT for further checks.
run() {
    local name=$1
    shift
    if OUT=$("$@" 2>"$WORK/stderr"); then
        pass "$name"
    else
        fail "$name" "command failed: $*" "stdout (end): $(tail -n 20 <<<"$OUT")" \
            "stderr: $(cat "$WORK/stderr")"
        OUT=""
    fi
}

# run_failing NAME CMD...: CMD must fail (non-zero exit status); its stdout is left in $OUT and
# its stderr in $WORK/stderr.
run_failing() {
    local name=$1
    shift
    if OUT=$("$@" 2>"$WORK/stderr"); then
        fail "$name" "expected a non-zero exit status from: $*" "stdout: $OUT"
    else
        pass "$name"
    fi
}

# expect_error NAME CODE CMD...: CMD must fail with the AWS error CODE, which the aws CLI prints
# as "An error occurred (CODE) when calling ...".
expect_error() {
    local name=$1 code=$2
    shift 2
    if "$@" >"$WORK/stdout" 2>"$WORK/stderr"; then
        fail "$name" "expected $code, but the command succeeded: $*" "stdout: $(cat "$WORK/stdout")"
    elif grep -qF "($code)" "$WORK/stderr"; then
        pass "$name"
    else
        fail "$name" "expected $code from: $*" "stderr: $(cat "$WORK/stderr")"
    fi
}

# kms ARGS...: the aws CLI as tenant A, with the credentials file the server wrote.
kms() {
    aws --endpoint-url "$ENDPOINT" --profile strongbox kms "$@"
}

# kms_unvalidated ARGS...: as kms, but the CLI sends values its model would refuse locally.
kms_unvalidated() {
    AWS_CONFIG_FILE=$WORK/aws-config-unvalidated kms "$@"
}

# kms_clock ARGS...: the aws CLI against the --dev-clock server, with the credentials it wrote.
kms_clock() {
    AWS_SHARED_CREDENTIALS_FILE=$CLOCK_DATA_DIR/credentials \
        aws --endpoint-url "$CLOCK_ENDPOINT" --profile strongbox kms "$@"
}

# kms_as CREDENTIALS_FILE PROFILE ARGS...: the aws CLI as someone else.
kms_as() {
    local credentials=$1 profile=$2
    shift 2
    AWS_SHARED_CREDENTIALS_FILE=$credentials \
        aws --endpoint-url "$ENDPOINT" --profile "$profile" kms "$@"
}

# cloudtrail ARGS...: CloudTrail's LookupEvents, served on the same endpoint, as tenant A.
cloudtrail() {
    aws --endpoint-url "$ENDPOINT" --profile strongbox cloudtrail "$@"
}

# cloudtrail_as CREDENTIALS_FILE PROFILE ARGS...: LookupEvents as someone else.
cloudtrail_as() {
    local credentials=$1 profile=$2
    shift 2
    AWS_SHARED_CREDENTIALS_FILE=$credentials \
        aws --endpoint-url "$ENDPOINT" --profile "$profile" cloudtrail "$@"
}

# cloudtrail_clock ARGS...: LookupEvents on the --dev-clock server.
cloudtrail_clock() {
    AWS_SHARED_CREDENTIALS_FILE=$CLOCK_DATA_DIR/credentials \
        aws --endpoint-url "$CLOCK_ENDPOINT" --profile strongbox cloudtrail "$@"
}

# admin ARGS...: the admin CLI on the live data directory (SQLite WAL allows it).
admin() {
    "$STRONGBOX_BIN" "$@" --data-dir "$DATA_DIR"
}

# b64_to_file BASE64 FILE: the CLI prints blobs base64-encoded in text output.
b64_to_file() {
    printf '%s' "$1" | base64 -d >"$2"
}

byte_count() {
    wc -c <"$1" | tr -d ' '
}

# epoch TIMESTAMP: whole epoch seconds of a timestamp as the CLI prints it (v1: epoch seconds,
# v2: ISO 8601); empty when it is neither.
epoch() {
    if [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
        echo "${1%.*}"
    else
        date -d "$1" +%s 2>/dev/null || true
    fi
}

# days_between FROM TO: whole days from epoch FROM to epoch TO, rounded; "?" if either is missing.
days_between() {
    if [[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ ]]; then
        echo $((($2 - $1 + 43200) / 86400))
    else
        echo "?"
    fi
}

# line_count TEXT: the number of non-empty lines.
line_count() {
    grep -c . <<<"$1" || true
}

# json_field JSON NAME: a top-level member of a JSON object, "absent" if missing, "not JSON" if
# the text is not a JSON object.
json_field() {
    python3 -c 'import json, sys
value = json.loads(sys.argv[1]).get(sys.argv[2])
print("absent" if value is None else json.dumps(value).strip(chr(34)))' "$1" "$2" 2>/dev/null ||
        echo "not JSON"
}

# The Python behind json_get and event_field: get() follows a dotted path of member names and
# array indexes ("Events.0.EventId", "" for the whole document); show() prints strings bare and
# anything else as compact JSON with sorted keys, so objects compare as text.
readonly JSON_PATH_PY='
import json, sys
def get(value, path):
    for part in path.split(".") if path else []:
        if isinstance(value, list):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            raise KeyError(part)
    return value
def show(value):
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
def lookup(document, path):
    try:
        return show(get(document, path))
    except (KeyError, IndexError, ValueError):
        return "absent"
try:
    document = json.loads(sys.stdin.read())
except ValueError:
    print("not JSON")
    sys.exit()
'

# json_get JSON PATH: the value at PATH (see JSON_PATH_PY) of a JSON document, "absent" if there
# is none, "not JSON" if the text is not JSON. JSON goes through stdin: it can be large.
json_get() {
    python3 -c "$JSON_PATH_PY"'
print(lookup(document, sys.argv[1]))' "$2" <<<"$1"
}

# event_field LOOKUP_JSON PATH: the value at PATH in the CloudTrailEvent record of every event
# of a lookup-events answer (--output json), one line per event, newest first.
event_field() {
    python3 -c "$JSON_PATH_PY"'
for event in document.get("Events", []):
    print(lookup(json.loads(event["CloudTrailEvent"]), sys.argv[1]))' "$2" <<<"$1"
}

# contains TEXT NEEDLE: "yes" if TEXT contains the fixed string NEEDLE, else "no".
contains() {
    if [[ $1 == *"$2"* ]]; then echo yes; else echo no; fi
}

# post_clock ENDPOINT BODY: POST /_strongbox/clock (unsigned, as users call it); sets
# CLOCK_STATUS (the HTTP status) and CLOCK_BODY.
post_clock() {
    CLOCK_STATUS=$(curl -sS --max-time 30 -o "$WORK/clock.json" -w '%{http_code}' -X POST \
        "$1/_strongbox/clock" -d "$2") || CLOCK_STATUS="curl failed"
    CLOCK_BODY=$(cat "$WORK/clock.json" 2>/dev/null || true)
}

# ---------------------------------------------------------------------------------------------
# The server

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# spawn_server NAME PID_VAR ENDPOINT_VAR DATA_DIR [SERVE_FLAGS...]: `strongbox serve` on DATA_DIR
# and a fresh free port. Its pid goes into PID_VAR at once (so the exit trap can always stop it)
# and its URL into ENDPOINT_VAR; waits (about 10 s at most) until GET /health answers.
spawn_server() {
    local name=$1 pid_var=$2 endpoint_var=$3 data_dir=$4
    shift 4
    local port endpoint pid
    port=$(free_port)
    endpoint=http://127.0.0.1:$port
    printf -v "$endpoint_var" '%s' "$endpoint"
    echo "--- strongbox serve $* on $endpoint ($(date -u +%FT%TZ))" >>"$LOG"
    STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID=$ACCESS_KEY_ID \
        STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY=$SECRET_ACCESS_KEY \
        "$STRONGBOX_BIN" serve --data-dir "$data_dir" --listen "127.0.0.1:$port" "$@" \
        >>"$LOG" 2>&1 &
    pid=$!
    printf -v "$pid_var" '%s' "$pid"
    local attempt health=""
    for attempt in $(seq 100); do
        if health=$(curl -fsS --max-time 1 "$endpoint/health" 2>/dev/null); then
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break # it exited: no point waiting
        fi
        sleep 0.1
    done
    check "$name answers GET /health (after ${attempt} attempts)" '{"status":"ok"}' "$health"
}

# start_server: the main server, on $DATA_DIR.
start_server() {
    spawn_server server SERVER_PID ENDPOINT "$DATA_DIR"
}

# stop_server SECONDS [PID_VAR]: SIGTERM to the server whose pid is in PID_VAR (default
# SERVER_PID), then SIGKILL if still running after SECONDS; clears PID_VAR. Sets STOP_RC (the
# exit status; 137 when it had to be killed) and STOP_TOOK.
stop_server() {
    local limit=$1 pid_var=${2:-SERVER_PID} pid started state tick
    pid=${!pid_var}
    STOP_RC=0
    STOP_TOOK=0ms
    [[ -n $pid ]] || return 0
    started=$(date +%s%N)
    kill -TERM "$pid" 2>/dev/null || true
    # bash's `wait` has no timeout: poll until the process is gone or a zombie, then reap it.
    for ((tick = 0; tick < limit * 10; tick++)); do
        state=$(ps -o stat= -p "$pid" 2>/dev/null) || break
        [[ $state != Z* ]] || break
        sleep 0.1
    done
    if state=$(ps -o stat= -p "$pid" 2>/dev/null) && [[ $state != Z* ]]; then
        echo "--- strongbox ($pid) did not stop within ${limit} s of SIGTERM; killing it" >>"$LOG"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || STOP_RC=$?
    STOP_TOOK=$((($(date +%s%N) - started) / 1000000))ms
    printf -v "$pid_var" '%s' ""
}

on_exit() {
    local status=$?
    if ((status != 0)) && [[ -z $REPORTED ]]; then
        # Not a failed check but the script itself (set -e): count it as a failure.
        FAILED=$((FAILED + 1))
        echo "FAIL  unexpected error (exit status $status) at line $ERR_LINE: $ERR_CMD"
        report
    fi
    stop_server 5
    stop_server 5 CLOCK_PID
    stop_server 5 TLS_PID
    rm -rf "$WORK"
}
trap on_exit EXIT
# Remember the first failing command; the trap fires again as the failure unwinds the callers.
trap '[[ -n $ERR_LINE ]] || { ERR_LINE=$LINENO; ERR_CMD=$BASH_COMMAND; }' ERR

# ---------------------------------------------------------------------------------------------
# The environment, as a user's would be but without a developer's own AWS or Strongbox settings

setup_environment() {
    if ! command -v aws >/dev/null 2>&1; then
        echo "aws CLI not found; installing it with pip"
        python3 -m pip install --quiet awscli
        hash -r
    fi
    echo "using $STRONGBOX_BIN"
    echo "using $(aws --version 2>&1)"
    [[ -x $STRONGBOX_BIN ]] || {
        echo "FAIL  no strongbox binary at $STRONGBOX_BIN (build it or set STRONGBOX_BIN)"
        FAILED=1
        report
        exit 1
    }
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
        AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_KMS AWS_CA_BUNDLE AWS_REGION
    unset STRONGBOX_CONFIG STRONGBOX_STORE STRONGBOX_REGION STRONGBOX_LISTEN STRONGBOX_DATA_DIR \
        STRONGBOX_BOOTSTRAP_ACCOUNT_ID
    : >"$WORK/aws-config"
    # For requests the CLI itself would refuse (out-of-range numbers), so the server answers them.
    printf '[profile strongbox]\nparameter_validation = false\n' >"$WORK/aws-config-unvalidated"
    export AWS_SHARED_CREDENTIALS_FILE=$DATA_DIR/credentials AWS_DEFAULT_REGION=$REGION
    export AWS_CONFIG_FILE=$WORK/aws-config AWS_PAGER=""
    # A 5xx must fail the test, not be retried away by the CLI.
    export AWS_MAX_ATTEMPTS=1
    # The server log is a file that gets printed on failure: no colour escapes in it.
    export NO_COLOR=1
}

# ---------------------------------------------------------------------------------------------
# The checks, in the order a user would meet them

test_first_start() {
    check "first start writes the credentials file" yes \
        "$([[ -f $DATA_DIR/credentials ]] && echo yes || echo no)"
    check "credentials file is private (0600)" 600 "$(stat -c %a "$DATA_DIR/credentials")"
    check "credentials file carries the bootstrap key" "aws_access_key_id = $ACCESS_KEY_ID" \
        "$(grep aws_access_key_id "$DATA_DIR/credentials")"
    check "first start announces the access key" yes \
        "$(grep -qF "$ACCESS_KEY_ID" "$LOG" && echo yes || echo no)"
}

test_create_and_describe() {
    run "create-key with a description and a tag" kms create-key \
        --description "e2e key one" --tags TagKey=team,TagValue=platform \
        --query 'KeyMetadata.[KeyId,Arn]' --output text
    IFS=$'\t' read -r KEY1 KEY1_ARN <<<"$OUT"
    check_match "create-key returns a UUID key id" "$UUID_RE" "$KEY1"
    check "create-key returns the key ARN" "$KEY_ARN_PREFIX$KEY1" "$KEY1_ARN"

    run "describe-key" kms describe-key --key-id "$KEY1" --output text --query \
        'KeyMetadata.[KeyState,KeySpec,KeyUsage,CurrentKeyMaterialId,Arn,AWSAccountId,Description,Enabled]'
    local state spec usage material arn account description enabled
    IFS=$'\t' read -r state spec usage material arn account description enabled <<<"$OUT"
    check "describe-key: KeyState" Enabled "$state"
    check "describe-key: KeySpec" SYMMETRIC_DEFAULT "$spec"
    check "describe-key: KeyUsage" ENCRYPT_DECRYPT "$usage"
    check_match "describe-key: CurrentKeyMaterialId is 64 hex characters" '[0-9a-f]{64}' "$material"
    check_match "describe-key: Arn" "arn:aws:kms:$REGION:$ACCOUNT_A:key/$UUID_RE" "$arn"
    check "describe-key: Arn names the key" "$KEY1_ARN" "$arn"
    check "describe-key: AWSAccountId" "$ACCOUNT_A" "$account"
    check "describe-key: Description" "e2e key one" "$description"
    check "describe-key: Enabled" True "$enabled"

    run "describe-key by ARN" kms describe-key --key-id "$KEY1_ARN" \
        --query KeyMetadata.KeyId --output text
    check "describe-key by ARN finds the key" "$KEY1" "$OUT"

    run "list-keys" kms list-keys --query "Keys[?KeyId=='$KEY1'].KeyArn | [0]" --output text
    check "list-keys contains the key" "$KEY1_ARN" "$OUT"

    run "create-key (second key)" kms create-key --description "e2e key two" \
        --query 'KeyMetadata.[KeyId,Arn]' --output text
    IFS=$'\t' read -r KEY2 KEY2_ARN <<<"$OUT"
    check "second key ARN" "$KEY_ARN_PREFIX$KEY2" "$KEY2_ARN"
}

test_encrypt_decrypt() {
    # Binary plaintext: NUL, high bytes, a newline and random bytes, so nothing text-only passes.
    PLAINTEXT=$WORK/plaintext.bin
    { printf '\x00\x01\xff\xfe\n\r\x7f'; head -c 200 /dev/urandom; printf '\x00'; } >"$PLAINTEXT"

    run "encrypt a binary file with an encryption context" kms encrypt --key-id "$KEY1" \
        --plaintext "fileb://$PLAINTEXT" --encryption-context "$CONTEXT" \
        --query '[KeyId,EncryptionAlgorithm,CiphertextBlob]' --output text
    local key algorithm blob
    IFS=$'\t' read -r key algorithm blob <<<"$OUT"
    check "encrypt: KeyId is the key ARN" "$KEY1_ARN" "$key"
    check "encrypt: EncryptionAlgorithm" SYMMETRIC_DEFAULT "$algorithm"
    CIPHERTEXT1=$WORK/ciphertext1.bin
    b64_to_file "$blob" "$CIPHERTEXT1"

    run "decrypt with the same context" kms decrypt --ciphertext-blob "fileb://$CIPHERTEXT1" \
        --encryption-context "$CONTEXT" --query '[KeyId,Plaintext]' --output text
    IFS=$'\t' read -r key blob <<<"$OUT"
    check "decrypt: KeyId is the key ARN" "$KEY1_ARN" "$key"
    b64_to_file "$blob" "$WORK/decrypted1.bin"
    check_files "decrypt returns the original bytes" "$PLAINTEXT" "$WORK/decrypted1.bin"

    # The context is part of the authenticated data; order of pairs must not matter.
    run "decrypt with the context pairs reordered" kms decrypt \
        --ciphertext-blob "fileb://$CIPHERTEXT1" --encryption-context tenant=a,purpose=e2e \
        --output text --query Plaintext
    b64_to_file "$OUT" "$WORK/decrypted1b.bin"
    check_files "decrypt (reordered context) returns the original bytes" "$PLAINTEXT" \
        "$WORK/decrypted1b.bin"

    expect_error "decrypt with a wrong context fails" InvalidCiphertextException \
        kms decrypt --ciphertext-blob "fileb://$CIPHERTEXT1" --encryption-context purpose=e2e,tenant=b
    expect_error "decrypt without the context fails" InvalidCiphertextException \
        kms decrypt --ciphertext-blob "fileb://$CIPHERTEXT1"
    expect_error "decrypt naming the wrong key fails" IncorrectKeyException \
        kms decrypt --ciphertext-blob "fileb://$CIPHERTEXT1" --encryption-context "$CONTEXT" \
        --key-id "$KEY2"
}

test_re_encrypt() {
    run "re-encrypt to the second key" kms re-encrypt --ciphertext-blob "fileb://$CIPHERTEXT1" \
        --source-encryption-context "$CONTEXT" --destination-key-id "$KEY2" \
        --destination-encryption-context purpose=e2e,tenant=a2 \
        --query '[SourceKeyId,KeyId,CiphertextBlob]' --output text
    local source destination blob
    IFS=$'\t' read -r source destination blob <<<"$OUT"
    check "re-encrypt: SourceKeyId is key one's ARN" "$KEY1_ARN" "$source"
    check "re-encrypt: KeyId is key two's ARN" "$KEY2_ARN" "$destination"
    b64_to_file "$blob" "$WORK/ciphertext2.bin"

    run "decrypt the re-encrypted ciphertext" kms decrypt \
        --ciphertext-blob "fileb://$WORK/ciphertext2.bin" --encryption-context purpose=e2e,tenant=a2 \
        --query '[KeyId,Plaintext]' --output text
    IFS=$'\t' read -r destination blob <<<"$OUT"
    check "decrypt of re-encrypted ciphertext names key two" "$KEY2_ARN" "$destination"
    b64_to_file "$blob" "$WORK/decrypted2.bin"
    check_files "re-encrypted ciphertext decrypts to the original bytes" "$PLAINTEXT" \
        "$WORK/decrypted2.bin"
}

test_data_keys_and_random() {
    run "generate-data-key AES_256" kms generate-data-key --key-id "$KEY1" --key-spec AES_256 \
        --encryption-context "$CONTEXT" --query '[KeyId,Plaintext,CiphertextBlob]' --output text
    local key plain blob
    IFS=$'\t' read -r key plain blob <<<"$OUT"
    check "generate-data-key: KeyId" "$KEY1_ARN" "$key"
    b64_to_file "$plain" "$WORK/datakey.bin"
    b64_to_file "$blob" "$WORK/datakey.enc"
    check "generate-data-key: plaintext is 32 bytes" 32 "$(byte_count "$WORK/datakey.bin")"
    run "decrypt the data key" kms decrypt --ciphertext-blob "fileb://$WORK/datakey.enc" \
        --encryption-context "$CONTEXT" --output text --query Plaintext
    b64_to_file "$OUT" "$WORK/datakey.dec"
    check_files "decrypted data key equals its plaintext" "$WORK/datakey.bin" "$WORK/datakey.dec"

    run "generate-data-key-without-plaintext 64 bytes" kms generate-data-key-without-plaintext \
        --key-id "$KEY1" --number-of-bytes 64 --query '[KeyId,Plaintext,CiphertextBlob]' --output text
    IFS=$'\t' read -r key plain blob <<<"$OUT"
    check "generate-data-key-without-plaintext: KeyId" "$KEY1_ARN" "$key"
    check "generate-data-key-without-plaintext: no Plaintext" None "$plain"
    b64_to_file "$blob" "$WORK/datakey64.enc"
    run "decrypt the 64-byte data key" kms decrypt --ciphertext-blob "fileb://$WORK/datakey64.enc" \
        --output text --query Plaintext
    b64_to_file "$OUT" "$WORK/datakey64.dec"
    check "the 64-byte data key decrypts to 64 bytes" 64 "$(byte_count "$WORK/datakey64.dec")"

    run "generate-random 32 bytes" kms generate-random --number-of-bytes 32 \
        --output text --query Plaintext
    b64_to_file "$OUT" "$WORK/random.bin"
    check "generate-random: 32 bytes" 32 "$(byte_count "$WORK/random.bin")"
}

test_aliases() {
    local alias_arn="arn:aws:kms:$REGION:$ACCOUNT_A:alias/e2e-app"
    run "create-alias alias/e2e-app" kms create-alias --alias-name alias/e2e-app \
        --target-key-id "$KEY1"
    run "encrypt via the alias" kms encrypt --key-id alias/e2e-app \
        --plaintext "fileb://$PLAINTEXT" --query KeyId --output text
    check "encrypt via the alias uses key one" "$KEY1_ARN" "$OUT"
    run "describe-key via the alias" kms describe-key --key-id alias/e2e-app \
        --query KeyMetadata.KeyId --output text
    check "describe-key via the alias finds key one" "$KEY1" "$OUT"
    run "list-aliases --key-id key one" kms list-aliases --key-id "$KEY1" \
        --query "Aliases[?AliasName=='alias/e2e-app'].[AliasArn,TargetKeyId] | [0]" --output text
    check "list-aliases shows the alias and its target" "$alias_arn	$KEY1" "$OUT"
    expect_error "create-alias with an existing name fails" AlreadyExistsException \
        kms create-alias --alias-name alias/e2e-app --target-key-id "$KEY2"

    run "update-alias to key two" kms update-alias --alias-name alias/e2e-app \
        --target-key-id "$KEY2"
    run "encrypt via the updated alias" kms encrypt --key-id alias/e2e-app \
        --plaintext "fileb://$PLAINTEXT" --query KeyId --output text
    check "the updated alias points at key two" "$KEY2_ARN" "$OUT"
    run "list-aliases --key-id key two" kms list-aliases --key-id "$KEY2" \
        --query "Aliases[].AliasName" --output text
    check "list-aliases for key two shows the alias" alias/e2e-app "$OUT"
    run "list-aliases --key-id key one after update" kms list-aliases --key-id "$KEY1" \
        --query "length(Aliases)" --output text
    check "key one has no alias after update" 0 "$OUT"

    run "delete-alias" kms delete-alias --alias-name alias/e2e-app
    run "list-aliases after delete" kms list-aliases \
        --query "length(Aliases[?AliasName=='alias/e2e-app'])" --output text
    check "the deleted alias is gone" 0 "$OUT"
    expect_error "encrypt via the deleted alias fails" NotFoundException \
        kms encrypt --key-id alias/e2e-app --plaintext "fileb://$PLAINTEXT"

    # Kept to the end, so the restart can show that aliases survive.
    run "create-alias alias/e2e-durable" kms create-alias --alias-name alias/e2e-durable \
        --target-key-id "$KEY1"
}

test_tags() {
    run "tag-resource" kms tag-resource --key-id "$KEY1" \
        --tags TagKey=env,TagValue=test TagKey=cost,TagValue=42
    run "list-resource-tags" kms list-resource-tags --key-id "$KEY1" \
        --query 'sort_by(Tags, &TagKey)[].[TagKey,TagValue]' --output text
    check "list-resource-tags shows the create-key tag and the new ones" \
        "$(printf 'cost\t42\nenv\ttest\nteam\tplatform')" "$OUT"
    run "untag-resource" kms untag-resource --key-id "$KEY1" --tag-keys env cost
    run "list-resource-tags after untag" kms list-resource-tags --key-id "$KEY1" \
        --query 'Tags[].[TagKey,TagValue]' --output text
    check "only the create-key tag is left" "$(printf 'team\tplatform')" "$OUT"
}

test_key_states() {
    run "disable-key" kms disable-key --key-id "$KEY1"
    run "describe-key after disable" kms describe-key --key-id "$KEY1" \
        --query 'KeyMetadata.[KeyState,Enabled]' --output text
    check "disabled key state" "Disabled	False" "$OUT"
    expect_error "encrypt with a disabled key fails" DisabledException \
        kms encrypt --key-id "$KEY1" --plaintext "fileb://$PLAINTEXT"
    run "enable-key" kms enable-key --key-id "$KEY1"
    run "encrypt after enable-key" kms encrypt --key-id "$KEY1" \
        --plaintext "fileb://$PLAINTEXT" --query KeyId --output text
    check "encrypt works again after enable-key" "$KEY1_ARN" "$OUT"

    run "schedule-key-deletion 7 days (key two)" kms schedule-key-deletion --key-id "$KEY2" \
        --pending-window-in-days 7 --query '[KeyId,KeyState,PendingWindowInDays]' --output text
    check "schedule-key-deletion output" "$KEY2_ARN	PendingDeletion	7" "$OUT"
    run "describe-key while pending deletion" kms describe-key --key-id "$KEY2" \
        --query 'KeyMetadata.[KeyState,DeletionDate]' --output text
    local state deletion_date
    IFS=$'\t' read -r state deletion_date <<<"$OUT"
    check "describe-key: KeyState PendingDeletion" PendingDeletion "$state"
    # CLI v1 prints timestamps as the service sent them: epoch seconds (CLI v2: ISO 8601).
    check_match "describe-key: DeletionDate is set" '[0-9]+(\.[0-9]+)?|[0-9]{4}-.*' "$deletion_date"
    [[ $deletion_date =~ ^[0-9.]+$ ]] || deletion_date=$(date -d "$deletion_date" +%s)
    local days=$(((${deletion_date%.*} - $(date +%s) + 43200) / 86400))
    check "DeletionDate is 7 days away" 7 "$days"
    expect_error "encrypt with a key pending deletion fails" KMSInvalidStateException \
        kms encrypt --key-id "$KEY2" --plaintext "fileb://$PLAINTEXT"
    run "cancel-key-deletion" kms cancel-key-deletion --key-id "$KEY2" --query KeyId --output text
    check "cancel-key-deletion returns the key ARN" "$KEY2_ARN" "$OUT"
    run "describe-key after cancel" kms describe-key --key-id "$KEY2" \
        --query 'KeyMetadata.[KeyState,DeletionDate]' --output text
    check "a cancelled deletion leaves the key Disabled" "Disabled	None" "$OUT"

    run "update-key-description" kms update-key-description --key-id "$KEY1" \
        --description "e2e key one, renamed"
    run "describe-key after update-key-description" kms describe-key --key-id "$KEY1" \
        --query KeyMetadata.Description --output text
    check "the new description is shown" "e2e key one, renamed" "$OUT"

    local missing=11111111-2222-3333-4444-555555555555
    expect_error "describe-key of a nonexistent key fails" NotFoundException \
        kms describe-key --key-id "$missing"
    expect_error "encrypt with a nonexistent key fails" NotFoundException \
        kms encrypt --key-id "$missing" --plaintext "fileb://$PLAINTEXT"
}

test_rotation() {
    run "get-key-rotation-status before enabling" kms get-key-rotation-status --key-id "$KEY1" \
        --query '[KeyRotationEnabled,RotationPeriodInDays,NextRotationDate]' --output text
    check "rotation is off until enabled" "False	None	None" "$OUT"

    run "enable-key-rotation --rotation-period-in-days 90" kms enable-key-rotation \
        --key-id "$KEY1" --rotation-period-in-days 90
    run "get-key-rotation-status after enabling" kms get-key-rotation-status --key-id "$KEY1" \
        --query '[KeyRotationEnabled,RotationPeriodInDays,NextRotationDate,KeyId]' --output text
    local enabled period next key
    IFS=$'\t' read -r enabled period next key <<<"$OUT"
    check "get-key-rotation-status: KeyRotationEnabled" True "$enabled"
    check "get-key-rotation-status: RotationPeriodInDays" 90 "$period"
    check_match "get-key-rotation-status: NextRotationDate is present" "$DATE_RE" "$next"
    check "NextRotationDate is 90 days away" 90 "$(days_between "$(date +%s)" "$(epoch "$next")")"
    check "get-key-rotation-status: KeyId is the key ARN" "$KEY1_ARN" "$key"
    # The CLI's model has the same bounds, so these go out without its local validation.
    expect_error "enable-key-rotation with 89 days fails" ValidationException \
        kms_unvalidated enable-key-rotation --key-id "$KEY1" --rotation-period-in-days 89
    expect_error "enable-key-rotation with 2561 days fails" ValidationException \
        kms_unvalidated enable-key-rotation --key-id "$KEY1" --rotation-period-in-days 2561
    run "get-key-rotation-status after the refused periods" kms get-key-rotation-status \
        --key-id "$KEY1" --query RotationPeriodInDays --output text
    check "refused periods leave the schedule alone" 90 "$OUT"
    expect_error "rotate-key-on-demand of a disabled key fails" DisabledException \
        kms rotate-key-on-demand --key-id "$KEY2"

    run "describe-key before rotating" kms describe-key --key-id "$KEY1" \
        --query KeyMetadata.CurrentKeyMaterialId --output text
    local material_before=$OUT
    run "rotate-key-on-demand" kms rotate-key-on-demand --key-id "$KEY1" --query KeyId --output text
    check "rotate-key-on-demand returns the key ARN, as AWS does" "$KEY1_ARN" "$OUT"
    # The scheduler performs the rotation, woken at once; OnDemandRotationStartDate is present
    # while it is in progress.
    local deadline=$((SECONDS + 20)) started polls=0
    while :; do
        polls=$((polls + 1))
        started=$(kms get-key-rotation-status --key-id "$KEY1" \
            --query OnDemandRotationStartDate --output text 2>"$WORK/stderr") ||
            started="get-key-rotation-status failed: $(cat "$WORK/stderr")"
        [[ $started != None ]] || break
        ((SECONDS < deadline)) || break
        sleep 0.2
    done
    check "the on-demand rotation completes within 20 s (polled $polls times)" None "$started"

    run "list-key-rotations" kms list-key-rotations --key-id "$KEY1" --output text \
        --query 'Rotations[].[KeyId,RotationType,KeyMaterialState,KeyMaterialId,RotationDate]'
    local listed=$OUT type state material date
    check "list-key-rotations shows one rotation" 1 "$(line_count "$listed")"
    IFS=$'\t' read -r key type state material date <<<"$listed"
    check "list-key-rotations: KeyId is the key id" "$KEY1" "$key"
    check "list-key-rotations: RotationType" ON_DEMAND "$type"
    check "list-key-rotations: KeyMaterialState" CURRENT "$state"
    check_match "list-key-rotations: RotationDate is present" "$DATE_RE" "$date"
    check "list-key-rotations: RotationDate is today" 0 \
        "$(days_between "$(date +%s)" "$(epoch "$date")")"
    run "describe-key after rotating" kms describe-key --key-id "$KEY1" \
        --query KeyMetadata.CurrentKeyMaterialId --output text
    check "describe-key: CurrentKeyMaterialId is the rotation's KeyMaterialId" "$material" "$OUT"
    check "the rotation changed CurrentKeyMaterialId" yes \
        "$([[ $material =~ ^[0-9a-f]{64}$ && $material != "$material_before" ]] && echo yes || echo no)"
    run "list-key-rotations --include-key-material ALL_KEY_MATERIAL" kms list-key-rotations \
        --key-id "$KEY1" --include-key-material ALL_KEY_MATERIAL --output text \
        --query 'Rotations[].[KeyMaterialId,KeyMaterialState,RotationType,RotationDate]'
    check "ALL_KEY_MATERIAL adds the first material (no RotationType or RotationDate)" \
        "$(printf '%s\tNON_CURRENT\tNone\tNone\n%s\tCURRENT\tON_DEMAND\t%s' \
            "$material_before" "$material" "$date")" "$OUT"

    run "decrypt a ciphertext made before the rotation" kms decrypt \
        --ciphertext-blob "fileb://$CIPHERTEXT1" --encryption-context "$CONTEXT" \
        --query '[KeyMaterialId,Plaintext]' --output text
    local blob material_used
    IFS=$'\t' read -r material_used blob <<<"$OUT"
    b64_to_file "$blob" "$WORK/decrypted-rotated.bin"
    check_files "the old ciphertext still decrypts to the original bytes" "$PLAINTEXT" \
        "$WORK/decrypted-rotated.bin"
    check "decrypt: KeyMaterialId is the old material" "$material_before" "$material_used"
    run "encrypt after the rotation" kms encrypt --key-id "$KEY1" \
        --plaintext "fileb://$PLAINTEXT" --query CiphertextBlob --output text
    b64_to_file "$OUT" "$WORK/ciphertext-rotated.bin"
    run "decrypt the new ciphertext" kms decrypt \
        --ciphertext-blob "fileb://$WORK/ciphertext-rotated.bin" --query KeyMaterialId --output text
    check "a new ciphertext uses the new material" "$material" "$OUT"
    ROTATED_MATERIAL=$material

    run "disable-key-rotation" kms disable-key-rotation --key-id "$KEY1"
    run "get-key-rotation-status after disabling" kms get-key-rotation-status --key-id "$KEY1" \
        --query '[KeyRotationEnabled,RotationPeriodInDays,NextRotationDate]' --output text
    check "rotation is off again" "False	None	None" "$OUT"

    post_clock "$ENDPOINT" '{"AdvanceSeconds":1}'
    check "without --dev-clock, POST /_strongbox/clock: HTTP 404" 404 "$CLOCK_STATUS"
}

test_authentication() {
    local body status
    status=$(curl -sS -o "$WORK/unsigned.json" -w '%{http_code}' -X POST "$ENDPOINT/" \
        -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: TrentService.ListKeys' \
        --data '{}')
    body=$(cat "$WORK/unsigned.json")
    check "unsigned POST: HTTP 400" 400 "$status"
    check_match "unsigned POST: MissingAuthenticationTokenException" \
        '.*"__type":"MissingAuthenticationTokenException".*' "$body"

    local credentials=$WORK/bad-credentials
    cat >"$credentials" <<EOF
[wrongsecret]
aws_access_key_id = $ACCESS_KEY_ID
aws_secret_access_key = ${SECRET_ACCESS_KEY%?}X
[unknownkey]
aws_access_key_id = AKIAE2EUNKNOWNKEY001
aws_secret_access_key = $SECRET_ACCESS_KEY
EOF
    expect_error "a wrong secret gives InvalidSignatureException" InvalidSignatureException \
        kms_as "$credentials" wrongsecret list-keys
    expect_error "an unknown access key gives UnrecognizedClientException" \
        UnrecognizedClientException kms_as "$credentials" unknownkey list-keys
}

# boto3 signs with the same botocore signer as the aws CLI, but through the SDK path users'
# applications take: the server must accept it too.
test_boto3() {
    if ! python3 -c 'import boto3' 2>/dev/null; then
        echo "boto3 not found; installing it with pip (with awscli, so their botocore agrees)"
        python3 -m pip install --quiet awscli boto3
    fi
    local out
    out=$(ENDPOINT="$ENDPOINT" python3 - 2>&1 <<'PY'
import os
import boto3
from botocore.exceptions import ClientError

session = boto3.Session(profile_name="strongbox", region_name="us-east-1")
kms = session.client("kms", endpoint_url=os.environ["ENDPOINT"])
key = kms.create_key(Description="boto3")["KeyMetadata"]["KeyId"]
blob = kms.encrypt(KeyId=key, Plaintext=b"from boto3", EncryptionContext={"sdk": "boto3"})
back = kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"sdk": "boto3"})
print("roundtrip", back["Plaintext"] == b"from boto3")
pair_key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
signature = kms.sign(KeyId=pair_key, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
valid = kms.verify(KeyId=pair_key, Message=b"m", Signature=signature, SigningAlgorithm="ECDSA_SHA_256")
print("verify", valid["SignatureValid"])
try:
    kms.decrypt(CiphertextBlob=blob["CiphertextBlob"])
    print("context", "accepted")
except ClientError as error:
    print("context", error.response["Error"]["Code"])
PY
)
    check "boto3: encrypt/decrypt round trip" "roundtrip True" "$(grep '^roundtrip' <<<"$out" || echo "$out")"
    check "boto3: sign and verify" "verify True" "$(grep '^verify' <<<"$out" || echo "$out")"
    check "boto3: a missing context is InvalidCiphertextException" "context InvalidCiphertextException" \
        "$(grep '^context' <<<"$out" || echo "$out")"
}

test_second_tenant() {
    run "account create --name tenant-b" admin account create --name tenant-b
    local account_b=$OUT
    check_match "account create prints a 12-digit id" '[0-9]{12}' "$account_b"

    run "access-key create --account tenant-b" admin access-key create --account "$account_b"
    local block=$OUT
    # A profile of its own (not the bootstrap key's [strongbox]), so that appending the block to
    # a credentials file adds a section; stderr says how to use it.
    check_match "access-key create prints a credentials block under its own profile" \
        "\\[strongbox-$account_b-admin\\].aws_access_key_id = [A-Z0-9_]+.aws_secret_access_key = .+" \
        "$(tr '\n' '.' <<<"$block")"
    check_match "access-key create says which profile to use" \
        ".*--profile strongbox-$account_b-admin.*" "$(tr '\n' ' ' <"$WORK/stderr")"
    local akid_b
    akid_b=$(sed -n 's/^aws_access_key_id = //p' <<<"$block")
    TENANT_B=$WORK/tenant-b-credentials
    printf '%s\n' "${block/\[strongbox-$account_b-admin\]/[tenantb]}" >"$TENANT_B"

    run "tenant B: list-keys" kms_as "$TENANT_B" tenantb list-keys \
        --query 'length(Keys)' --output text
    check "tenant B sees no keys" 0 "$OUT"
    expect_error "tenant B: describe-key of A's key by bare id is NotFound" NotFoundException \
        kms_as "$TENANT_B" tenantb describe-key --key-id "$KEY1"
    expect_error "tenant B: describe-key of A's key by ARN is AccessDenied" \
        AccessDeniedException kms_as "$TENANT_B" tenantb describe-key --key-id "$KEY1_ARN"
    expect_error "tenant B: decrypt of A's ciphertext is AccessDenied" AccessDeniedException \
        kms_as "$TENANT_B" tenantb decrypt --ciphertext-blob "fileb://$CIPHERTEXT1" \
        --encryption-context "$CONTEXT"
    expect_error "tenant B: encrypt with A's key ARN is AccessDenied" AccessDeniedException \
        kms_as "$TENANT_B" tenantb encrypt --key-id "$KEY1_ARN" --plaintext "fileb://$PLAINTEXT"
    expect_error "tenant B: get-key-rotation-status of A's key ARN is AccessDenied" \
        AccessDeniedException kms_as "$TENANT_B" tenantb get-key-rotation-status --key-id "$KEY1_ARN"
    expect_error "tenant B: rotate-key-on-demand of A's key ARN is NotFound" NotFoundException \
        kms_as "$TENANT_B" tenantb rotate-key-on-demand --key-id "$KEY1_ARN"

    run "access-key list --account tenant-b" admin access-key list --account "$account_b"
    check "access-key list shows the key" yes \
        "$(grep -qF "$akid_b" <<<"$OUT" && echo yes || echo no)"

    run "access-key delete" admin access-key delete --account "$account_b" "$akid_b"
    # The server caches credentials for 5 s, and this delete ran in another process, so poll.
    local deadline=$((SECONDS + 6)) rejected=no
    while :; do
        if ! kms_as "$TENANT_B" tenantb list-keys >/dev/null 2>"$WORK/stderr" &&
            grep -qF "(UnrecognizedClientException)" "$WORK/stderr"; then
            rejected=yes
            break
        fi
        ((SECONDS < deadline)) || break
        sleep 0.5
    done
    check "a deleted access key is refused within 6 s (UnrecognizedClientException)" yes \
        "$rejected"
    ACCOUNT_B=$account_b
}

# iam ARGS... / sts ARGS...: the IAM and STS Query APIs on the same endpoint, as tenant A's admin.
iam() {
    aws --endpoint-url "$ENDPOINT" --profile strongbox iam "$@"
}

sts() {
    aws --endpoint-url "$ENDPOINT" --profile strongbox sts "$@"
}

# credentials_file PROFILE: the aws credentials-file form of the `iam create-access-key` JSON
# on stdin, as profile PROFILE.
credentials_file() {
    python3 -c 'import json, sys
key = json.loads(sys.stdin.read())["AccessKey"]
print("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s" % (sys.argv[1], key["AccessKeyId"], key["SecretAccessKey"]))' "$1"
}

# Identities and key policies with the aws CLI: a user with an inline policy, a key policy
# that names it, the lockout check, a role assumed with temporary credentials, and the
# admin CLI's user and role commands.
test_access_control() {
    run "sts get-caller-identity" sts get-caller-identity --query Arn --output text
    check "the bootstrap key is account A's admin user" \
        "arn:aws:iam::111122223333:user/admin" "$OUT"
    run "iam create-user" iam create-user --user-name e2e-dev --path /e2e/ \
        --query User.Arn --output text
    check "the user's ARN has its path" "arn:aws:iam::111122223333:user/e2e/e2e-dev" "$OUT"
    expect_error "iam create-user of a taken name (ignoring case)" EntityAlreadyExists \
        iam create-user --user-name E2E-DEV
    local policy_file=$WORK/dev-policy.json
    printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:DescribeKey"],"Resource":"*"}]}' \
        >"$policy_file"
    run "iam put-user-policy (file://)" iam put-user-policy --user-name e2e-dev \
        --policy-name dev --policy-document "file://$policy_file"
    run "iam get-user-policy" iam get-user-policy --user-name e2e-dev --policy-name dev \
        --query 'PolicyDocument.Statement[0].Action[0]' --output text
    check "get-user-policy decodes to the document sent" kms:Encrypt "$OUT"
    run "iam create-access-key" iam create-access-key --user-name e2e-dev --output json
    local dev_credentials=$WORK/dev-credentials
    credentials_file dev <<<"$OUT" >"$dev_credentials"

    run "create-key for the user" kms create-key --query KeyMetadata.KeyId --output text
    local key=$OUT
    run "get-key-policy (the default)" kms get-key-policy --key-id "$key" --policy-name default \
        --query Policy --output text
    check "the default key policy is AWS's, byte for byte" \
        "$(printf '{\n  "Version" : "2012-10-17",\n  "Id" : "key-default-1",\n  "Statement" : [ {\n    "Sid" : "Enable IAM User Permissions",\n    "Effect" : "Allow",\n    "Principal" : {\n      "AWS" : "arn:aws:iam::111122223333:root"\n    },\n    "Action" : "kms:*",\n    "Resource" : "*"\n  } ]\n}')" \
        "$OUT"
    run "list-key-policies" kms list-key-policies --key-id "$key" --query 'PolicyNames[0]' \
        --output text
    check "the one policy is default" default "$OUT"
    run "the user encrypts (identity policy, default key policy)" kms_as "$dev_credentials" dev \
        encrypt --key-id "$key" --plaintext "fileb://$PLAINTEXT" --query KeyId --output text
    expect_error "the user may not decrypt" AccessDeniedException \
        kms_as "$dev_credentials" dev decrypt --ciphertext-blob "fileb://$CIPHERTEXT1" \
        --encryption-context "$CONTEXT"
    expect_error "the user may not create keys" AccessDeniedException \
        kms_as "$dev_credentials" dev create-key

    local locked=$WORK/locked-policy.json
    printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/e2e/e2e-dev"},"Action":"kms:*","Resource":"*"}]}' \
        >"$locked"
    expect_error "put-key-policy that would lock the caller out" MalformedPolicyDocumentException \
        kms put-key-policy --key-id "$key" --policy-name default --policy "file://$locked"
    check "the lockout message is AWS's" yes "$(contains "$(cat "$WORK/stderr")" \
        "The new key policy will not allow you to update the key policy in the future.")"
    run "put-key-policy --bypass-policy-lockout-safety-check" kms put-key-policy --key-id "$key" \
        --policy-name default --policy "file://$locked" --bypass-policy-lockout-safety-check
    expect_error "the admin is locked out of that key" AccessDeniedException \
        kms describe-key --key-id "$key"
    run "the user named by the key policy manages it" kms_as "$dev_credentials" dev \
        get-key-policy --key-id "$key" --policy-name default --query Policy --output text
    check "get-key-policy shows the policy in AWS's layout" yes \
        "$(contains "$OUT" '"AWS" : "arn:aws:iam::111122223333:user/e2e/e2e-dev"')"

    local trust=$WORK/trust.json
    printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/e2e/e2e-dev"},"Action":"sts:AssumeRole"}]}' \
        >"$trust"
    run "iam create-role" iam create-role --role-name e2e-reader \
        --assume-role-policy-document "file://$trust" --query Role.Arn --output text
    local role_arn=$OUT
    run "iam put-role-policy" iam put-role-policy --role-name e2e-reader --policy-name read \
        --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ListKeys","Resource":"*"}]}'
    run "sts assume-role as the trusted user" env AWS_SHARED_CREDENTIALS_FILE="$dev_credentials" \
        aws --endpoint-url "$ENDPOINT" --profile dev sts assume-role --role-arn "$role_arn" \
        --role-session-name e2e-session --output json
    local session=$OUT
    local session_env
    session_env=$(python3 -c 'import json, sys
c = json.loads(sys.stdin.read())["Credentials"]
print("AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_SESSION_TOKEN=%s" % (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))' <<<"$session")
    run "the session lists keys" env -u AWS_PROFILE $session_env \
        aws --endpoint-url "$ENDPOINT" kms list-keys --query 'length(Keys) > `0`' --output text
    check "list-keys answers the session" True "$OUT"
    run "the session knows who it is" env -u AWS_PROFILE $session_env \
        aws --endpoint-url "$ENDPOINT" sts get-caller-identity --query Arn --output text
    check "the session's ARN" "arn:aws:sts::111122223333:assumed-role/e2e-reader/e2e-session" "$OUT"
    expect_error "the session may not create keys" AccessDeniedException env -u AWS_PROFILE \
        $session_env aws --endpoint-url "$ENDPOINT" kms create-key

    run "strongbox user create (admin CLI)" admin user create --account 111122223333 e2e-ops
    check "user create prints the ARN" "arn:aws:iam::111122223333:user/e2e-ops" "$OUT"
    run "strongbox role list (admin CLI)" admin role list --account 111122223333
    check "role list shows the role" yes "$(contains "$OUT" e2e-reader)"
    run "strongbox access-key create --user (admin CLI)" admin access-key create \
        --account 111122223333 --user e2e-ops
    run "iam list-users sees both" iam list-users --query 'length(Users)' --output text
    check "admin, e2e-dev and e2e-ops" 3 "$OUT"
}

# Grants with the aws CLI: a user with no policy at all uses a key through a grant (at once with
# its token), within the grant's constraint; lists it; retires it; a second grant is revoked.
test_grants() {
    run "iam create-user (grantee)" iam create-user --user-name e2e-grantee \
        --query User.Arn --output text
    local grantee_arn=$OUT
    run "iam create-access-key (grantee)" iam create-access-key --user-name e2e-grantee \
        --output json
    local grantee_credentials=$WORK/grantee-credentials
    credentials_file grantee <<<"$OUT" >"$grantee_credentials"
    run "create-key for grants" kms create-key --query KeyMetadata.KeyId --output text
    local key=$OUT
    expect_error "without a grant the user may not encrypt" AccessDeniedException \
        kms_as "$grantee_credentials" grantee encrypt --key-id "$key" \
        --plaintext "fileb://$PLAINTEXT" --encryption-context app=e2e
    run "create-grant" kms create-grant --key-id "$key" --grantee-principal "$grantee_arn" \
        --operations Encrypt Decrypt RetireGrant \
        --constraints 'EncryptionContextSubset={app=e2e}' --name e2e-grant --output json
    local grant_id grant_token
    grant_id=$(json_field "$OUT" GrantId)
    grant_token=$(json_field "$OUT" GrantToken)
    check_match "the grant id is 64 hex digits" '[0-9a-f]{64}' "$grant_id"
    run "the grantee encrypts at once with the grant token" kms_as "$grantee_credentials" \
        grantee encrypt --key-id "$key" --plaintext "fileb://$PLAINTEXT" \
        --encryption-context app=e2e --grant-tokens "$grant_token" \
        --query CiphertextBlob --output text
    b64_to_file "$OUT" "$WORK/granted.bin"
    run "the grantee decrypts (no token needed now)" kms_as "$grantee_credentials" grantee \
        decrypt --ciphertext-blob "fileb://$WORK/granted.bin" --encryption-context app=e2e \
        --query Plaintext --output text
    b64_to_file "$OUT" "$WORK/granted.out"
    check_files "the grantee's round trip" "$PLAINTEXT" "$WORK/granted.out"
    expect_error "outside the constraint the grant allows nothing" AccessDeniedException \
        kms_as "$grantee_credentials" grantee encrypt --key-id "$key" \
        --plaintext "fileb://$PLAINTEXT" --encryption-context app=other
    run "create-grant again by name (a retry)" kms create-grant --key-id "$key" \
        --grantee-principal "$grantee_arn" --operations Encrypt Decrypt RetireGrant \
        --constraints 'EncryptionContextSubset={app=e2e}' --name e2e-grant \
        --query GrantId --output text
    check "a retry answers the same grant" "$grant_id" "$OUT"
    run "list-grants" kms list-grants --key-id "$key" \
        --query 'Grants[0].[GranteePrincipal,Name,IssuingAccount]' --output text
    check "list-grants shows the grant" \
        "$(printf '%s\t%s\t%s' "$grantee_arn" e2e-grant arn:aws:iam::111122223333:root)" "$OUT"
    run "the grantee retires its grant by token" kms_as "$grantee_credentials" grantee \
        retire-grant --grant-token "$grant_token"
    expect_error "a retired grant stops at once" AccessDeniedException \
        kms_as "$grantee_credentials" grantee encrypt --key-id "$key" \
        --plaintext "fileb://$PLAINTEXT" --encryption-context app=e2e
    run "a second grant" kms create-grant --key-id "$key" --grantee-principal "$grantee_arn" \
        --operations DescribeKey --retiring-principal arn:aws:iam::111122223333:user/admin \
        --query GrantId --output text
    local second=$OUT
    run "list-retirable-grants" kms list-retirable-grants \
        --retiring-principal arn:aws:iam::111122223333:user/admin --query 'Grants[].GrantId' \
        --output text
    check "the admin may retire the second grant" "$second" "$OUT"
    run "revoke-grant" kms revoke-grant --key-id "$key" --grant-id "$second"
    run "list-grants after revoking" kms list-grants --key-id "$key" \
        --query 'length(Grants)' --output text
    check "no grant is left" 0 "$OUT"
    expect_error "revoke-grant of a revoked grant" NotFoundException \
        kms revoke-grant --key-id "$key" --grant-id "$second"
}

# The audit trail as a user queries it: CloudTrail's LookupEvents on the same endpoint, with the
# aws CLI (SigV4 service "cloudtrail") and boto3. Records are written before the answer is
# sent, so each call is visible at once, newest first.
test_audit_lookup() {
    local started
    started=$(date +%s)
    AUDIT_SECRET="e2e audit secret $(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
    printf '%s' "$AUDIT_SECRET" >"$WORK/audit-secret.txt"
    local secret_b64 context='{"audit":"e2e","step":"lookup"}'
    secret_b64=$(base64 -w0 "$WORK/audit-secret.txt")

    run "audit: create-key" kms create-key --description "e2e audit key" \
        --query 'KeyMetadata.[KeyId,Arn]' --output text
    local key key_arn
    IFS=$'\t' read -r key key_arn <<<"$OUT"
    run "audit: encrypt a secret with an encryption context" kms encrypt --key-id "$key" \
        --plaintext "fileb://$WORK/audit-secret.txt" --encryption-context audit=e2e,step=lookup \
        --query CiphertextBlob --output text
    AUDIT_CIPHERTEXT=$OUT
    b64_to_file "$AUDIT_CIPHERTEXT" "$WORK/audit-secret.enc"
    run "audit: decrypt it" kms decrypt --ciphertext-blob "fileb://$WORK/audit-secret.enc" \
        --encryption-context audit=e2e,step=lookup --query Plaintext --output text
    check "audit: the secret decrypts" "$secret_b64" "$OUT"
    local missing=22222222-3333-4444-5555-666666666666
    expect_error "audit: describe-key of a nonexistent key fails" NotFoundException \
        kms describe-key --key-id "$missing"

    run "lookup-events EventName=Encrypt" cloudtrail lookup-events \
        --lookup-attributes AttributeKey=EventName,AttributeValue=Encrypt --output json
    local encrypts=$OUT event
    check "lookup-events EventName=Encrypt: only Encrypt events" Encrypt \
        "$(event_field "$encrypts" eventName | sort -u)"
    check "lookup-events: the newest Encrypt event is the audit key's" "$key_arn" \
        "$(json_get "$encrypts" Events.0.Resources.0.ResourceName)"
    event=$(json_get "$encrypts" Events.0.CloudTrailEvent)
    AUDIT_ENCRYPT_EVENT=$(json_get "$event" eventID)
    check_match "Encrypt record: eventID is a UUID" "$UUID_RE" "$AUDIT_ENCRYPT_EVENT"
    check "Encrypt record: EventId is its eventID" "$AUDIT_ENCRYPT_EVENT" \
        "$(json_get "$encrypts" Events.0.EventId)"
    check "Encrypt record: eventSource" kms.amazonaws.com "$(json_get "$event" eventSource)"
    check "Encrypt record: eventName, eventType, awsRegion, readOnly" \
        "Encrypt AwsApiCall $REGION true" "$(json_get "$event" eventName) \
$(json_get "$event" eventType) $(json_get "$event" awsRegion) $(json_get "$event" readOnly)"
    check "Encrypt record: requestParameters.encryptionContext" "$context" \
        "$(json_get "$event" requestParameters.encryptionContext)"
    check "Encrypt record: requestParameters.keyId is the id as sent" "$key" \
        "$(json_get "$event" requestParameters.keyId)"
    check "Encrypt record: resources name the key ARN" \
        "[{\"ARN\":\"$key_arn\",\"accountId\":\"$ACCOUNT_A\",\"type\":\"AWS::KMS::Key\"}]" \
        "$(json_get "$event" resources)"
    check "Encrypt record: userIdentity is the bootstrap access key of account A" \
        "IAMUser $ACCESS_KEY_ID $ACCOUNT_A $ACCOUNT_A" \
        "$(json_get "$event" userIdentity.type) $(json_get "$event" userIdentity.accessKeyId) \
$(json_get "$event" userIdentity.accountId) $(json_get "$event" recipientAccountId)"
    check "Encrypt record: responseElements is null for a cryptographic operation" null \
        "$(json_get "$event" responseElements)"
    check_match "Encrypt record: requestID is a UUID" "$UUID_RE" "$(json_get "$event" requestID)"
    check "Encrypt record: no errorCode" absent "$(json_get "$event" errorCode)"
    check "Encrypt record: does not contain the plaintext" no "$(contains "$event" "$AUDIT_SECRET")"
    check "Encrypt record: does not contain the plaintext's base64" no \
        "$(contains "$event" "$secret_b64")"
    check "Encrypt record: does not contain the ciphertext" no \
        "$(contains "$event" "$AUDIT_CIPHERTEXT")"
    check "no Encrypt record contains the binary plaintext's base64" no \
        "$(contains "$encrypts" "$(base64 -w0 "$PLAINTEXT")")"

    run "lookup-events EventName=DescribeKey" cloudtrail lookup-events \
        --lookup-attributes AttributeKey=EventName,AttributeValue=DescribeKey \
        --query 'Events[0].CloudTrailEvent' --output text
    event=$OUT
    check "the failed describe-key is recorded with errorCode NotFoundException" \
        "NotFoundException $missing" \
        "$(json_get "$event" errorCode) $(json_get "$event" requestParameters.keyId)"
    check_match "the failed describe-key has an errorMessage" '.*does not exist.*' \
        "$(json_get "$event" errorMessage)"
    local describe_event
    describe_event=$(json_get "$event" eventID)

    # test_authentication signed a list-keys with a wrong secret for A's access key.
    run "lookup-events EventName=ListKeys" cloudtrail lookup-events \
        --lookup-attributes AttributeKey=EventName,AttributeValue=ListKeys --output json
    check "the refused signature is recorded (errorCode InvalidSignatureException)" 1 \
        "$(event_field "$OUT" errorCode | grep -c '^InvalidSignatureException$' || true)"

    run "lookup-events --start-time (this section's start) EventName=Encrypt" cloudtrail \
        lookup-events --start-time "$(date -u -d "@$started" +%FT%TZ)" \
        --lookup-attributes AttributeKey=EventName,AttributeValue=Encrypt \
        --query 'Events[].EventId' --output text
    check "--start-time keeps only this section's Encrypt" "$AUDIT_ENCRYPT_EVENT" "$OUT"

    # With --max-results the CLI leaves paging to the caller: the server's NextToken is shown.
    run "lookup-events --max-results 1 (page 1)" cloudtrail lookup-events --max-results 1 \
        --query '[length(Events),Events[0].EventId,Events[0].EventName,NextToken]' --output text
    local count id1 name id2 token
    IFS=$'\t' read -r count id1 name token <<<"$OUT"
    check "page 1: one event, the newest (the failed DescribeKey)" "1 $describe_event DescribeKey" \
        "$count $id1 $name"
    check_match "page 1: a NextToken" '[A-Za-z0-9_=+/-]+' "$token"
    run "lookup-events --max-results 1 --next-token (page 2)" cloudtrail lookup-events \
        --max-results 1 --next-token "$token" --output text \
        --query '[length(Events),Events[0].EventId,Events[0].EventName,Events[0].Resources[0].ResourceName]'
    local resource
    IFS=$'\t' read -r count id2 name resource <<<"$OUT"
    check "page 2: one event, the next older (the Decrypt)" "1 Decrypt" "$count $name"
    check "page 2 holds another event than page 1" yes \
        "$([[ $id2 =~ ^$UUID_RE$ && $id2 != "$id1" ]] && echo yes || echo no)"
    check "page 2: the Decrypt names the key it resolved from the ciphertext" "$key_arn" "$resource"
    run "lookup-events --page-size 1 EventName=Encrypt (the CLI follows every NextToken)" \
        cloudtrail lookup-events --page-size 1 \
        --lookup-attributes AttributeKey=EventName,AttributeValue=Encrypt --output json
    local all_ids
    all_ids=$(event_field "$encrypts" eventID)
    check "pages of one event add up to the single answer ($(line_count "$all_ids") Encrypt events)" \
        "$all_ids" "$(event_field "$OUT" eventID)"

    expect_error "lookup-events with two lookup attributes: InvalidLookupAttributesException" \
        InvalidLookupAttributesException cloudtrail lookup-events --lookup-attributes \
        AttributeKey=EventName,AttributeValue=Encrypt AttributeKey=ReadOnly,AttributeValue=true
    expect_error "lookup-events with start-time after end-time: InvalidTimeRangeException" \
        InvalidTimeRangeException cloudtrail lookup-events \
        --start-time 2026-01-02T00:00:00Z --end-time 2026-01-01T00:00:00Z

    # A tenant sees only its own account's events, and A none of the tenant's.
    run "account create --name tenant-audit" admin account create --name tenant-audit
    local account_c=$OUT
    run "access-key create --account tenant-audit" admin access-key create --account "$account_c"
    local block=$OUT akid_c credentials_c=$WORK/tenant-audit-credentials
    akid_c=$(sed -n 's/^aws_access_key_id = //p' <<<"$block")
    printf '%s\n' "${block/\[strongbox-$account_c-admin\]/[tenantaudit]}" >"$credentials_c"
    run "tenant-audit: list-keys" kms_as "$credentials_c" tenantaudit list-keys
    run "tenant-audit: lookup-events" cloudtrail_as "$credentials_c" tenantaudit lookup-events \
        --output json
    check "tenant-audit sees exactly its own one event (ListKeys)" ListKeys \
        "$(event_field "$OUT" eventName)"
    check "tenant-audit's event is its account's, signed with its key" \
        "$account_c $account_c $akid_c" \
        "$(event_field "$OUT" recipientAccountId) $(event_field "$OUT" userIdentity.accountId) \
$(event_field "$OUT" userIdentity.accessKeyId)"
    run "tenant-audit: lookup-events EventId=(A's Encrypt event)" cloudtrail_as \
        "$credentials_c" tenantaudit lookup-events --query 'length(Events)' \
        --lookup-attributes "AttributeKey=EventId,AttributeValue=$AUDIT_ENCRYPT_EVENT"
    check "tenant-audit cannot find A's event by its id" 0 "$OUT"
    run "tenant-audit: lookup-events ResourceName=(A's key ARN)" cloudtrail_as \
        "$credentials_c" tenantaudit lookup-events --query 'length(Events)' \
        --lookup-attributes "AttributeKey=ResourceName,AttributeValue=$key_arn"
    check "tenant-audit finds no event on A's key" 0 "$OUT"
    run "lookup-events AccessKeyId=(tenant-audit's key)" cloudtrail lookup-events \
        --lookup-attributes "AttributeKey=AccessKeyId,AttributeValue=$akid_c" \
        --query 'length(Events)'
    check "A finds none of tenant-audit's events" 0 "$OUT"
    run "lookup-events EventId=(A's Encrypt event)" cloudtrail lookup-events \
        --lookup-attributes "AttributeKey=EventId,AttributeValue=$AUDIT_ENCRYPT_EVENT" \
        --query 'Events[].EventId' --output text
    check "A finds its own event by its id" "$AUDIT_ENCRYPT_EVENT" "$OUT"

    # boto3: LookupEvents pages by hand, requestID against the response's request id, the
    # errors the aws CLI would not let through.
    local out
    out=$(ENDPOINT="$ENDPOINT" KEY="$key" python3 - 2>&1 <<'PY'
import json
import os
import boto3
from botocore.exceptions import ClientError

session = boto3.Session(profile_name="strongbox", region_name="us-east-1")
kms = session.client("kms", endpoint_url=os.environ["ENDPOINT"])
trail = session.client("cloudtrail", endpoint_url=os.environ["ENDPOINT"])
first = trail.lookup_events(MaxResults=1)
second = trail.lookup_events(MaxResults=1, NextToken=first["NextToken"])
ids = [page["Events"][0]["EventId"] for page in (first, second)]
print("pages", len(first["Events"]), len(second["Events"]), ids[0] != ids[1],
      second["Events"][0]["EventTime"] <= first["Events"][0]["EventTime"])
answer = kms.encrypt(KeyId=os.environ["KEY"], Plaintext=b"boto3 audit")
events = trail.lookup_events(
    LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}], MaxResults=1
)["Events"]
record = json.loads(events[0]["CloudTrailEvent"])
print("requestid", record["requestID"] == answer["ResponseMetadata"]["RequestId"])
for name, arguments in [
    ("nexttoken", {"NextToken": "bm90IGEgdG9rZW4"}),
    ("othertoken", {"NextToken": first["NextToken"], "LookupAttributes": [
        {"AttributeKey": "ReadOnly", "AttributeValue": "true"}]}),
    ("maxresults", {"MaxResults": 51}),
]:
    try:
        trail.lookup_events(**arguments)
        print(name, "accepted")
    except ClientError as error:
        print(name, error.response["Error"]["Code"])
PY
)
    check "boto3: lookup_events pages of MaxResults=1 hold different events, newest first" \
        "pages 1 1 True True" "$(grep '^pages' <<<"$out" || echo "$out")"
    check "boto3: the record's requestID is the response's x-amzn-RequestId" "requestid True" \
        "$(grep '^requestid' <<<"$out" || echo "$out")"
    check "boto3: a malformed NextToken is InvalidNextTokenException" \
        "nexttoken InvalidNextTokenException" "$(grep '^nexttoken' <<<"$out" || echo "$out")"
    check "boto3: a NextToken of another query is InvalidNextTokenException" \
        "othertoken InvalidNextTokenException" "$(grep '^othertoken' <<<"$out" || echo "$out")"
    check "boto3: MaxResults=51 is InvalidMaxResultsException" \
        "maxresults InvalidMaxResultsException" "$(grep '^maxresults' <<<"$out" || echo "$out")"
}

test_graceful_shutdown() {
    stop_server 10
    check "SIGTERM: the server exits cleanly within 10 s (took $STOP_TOOK)" 0 "$STOP_RC"
    check "the server logs that it closed the store" yes \
        "$(grep -qF 'store closed' "$LOG" && echo yes || echo no)"
}

test_restart_durability() {
    local credentials_before
    credentials_before=$(sha256sum <"$DATA_DIR/credentials")
    start_server
    check "a restart does not rewrite the credentials file" "$credentials_before" \
        "$(sha256sum <"$DATA_DIR/credentials")"

    run "after restart: decrypt an earlier ciphertext" kms decrypt \
        --ciphertext-blob "fileb://$CIPHERTEXT1" --encryption-context "$CONTEXT" \
        --output text --query Plaintext
    b64_to_file "$OUT" "$WORK/decrypted-after-restart.bin"
    check_files "after restart: the ciphertext decrypts to the original bytes" "$PLAINTEXT" \
        "$WORK/decrypted-after-restart.bin"
    run "after restart: list-aliases" kms list-aliases --key-id "$KEY1" \
        --query 'Aliases[].AliasName' --output text
    check "after restart: the alias survived" alias/e2e-durable "$OUT"
    run "after restart: encrypt via the alias" kms encrypt --key-id alias/e2e-durable \
        --plaintext "fileb://$PLAINTEXT" --query KeyId --output text
    check "after restart: the alias resolves to key one" "$KEY1_ARN" "$OUT"
    run "after restart: list-resource-tags" kms list-resource-tags --key-id "$KEY1" \
        --query 'Tags[].[TagKey,TagValue]' --output text
    check "after restart: the tags survived" "$(printf 'team\tplatform')" "$OUT"
    run "after restart: describe-key" kms describe-key --key-id "$KEY1" \
        --query 'KeyMetadata.[KeyState,Description]' --output text
    check "after restart: state and description survived" "Enabled	e2e key one, renamed" "$OUT"
    run "after restart: list-key-rotations" kms list-key-rotations --key-id "$KEY1" \
        --query 'Rotations[].[RotationType,KeyMaterialState,KeyMaterialId]' --output text
    check "after restart: the rotation survived" "ON_DEMAND	CURRENT	$ROTATED_MATERIAL" "$OUT"
    run "after restart: key two state" kms describe-key --key-id "$KEY2" \
        --query KeyMetadata.KeyState --output text
    check "after restart: key two is still Disabled" Disabled "$OUT"
    run "after restart: account list" admin account list
    check "after restart: tenant B's account survived" yes \
        "$(grep -qF "$ACCOUNT_B" <<<"$OUT" && echo yes || echo no)"
    expect_error "after restart: the deleted access key stays deleted" \
        UnrecognizedClientException kms_as "$TENANT_B" tenantb list-keys
}

# The audit trail's files, with the admin CLI on the live data directory while the server runs:
# export in CloudTrail's layout, offline verification, tampering detected.
test_audit_export() {
    run "audit public-key" admin audit public-key
    printf '%s\n' "$OUT" >"$WORK/audit-public-key.pem"
    check_match "audit public-key prints a PEM public key" \
        '-----BEGIN PUBLIC KEY----- [A-Za-z0-9+/= ]+ -----END PUBLIC KEY-----' \
        "$(printf '%s' "$OUT" | tr '\n' ' ')"
    run "audit digest" admin audit digest
    check_match "audit digest writes a digest for account A" \
        "$ACCOUNT_A/CloudTrail-Digest/$REGION/[0-9]{4}/[0-9]{2}/[0-9]{2}/${ACCOUNT_A}_CloudTrail-Digest_${REGION}_[a-z]+_${REGION}_[0-9]{8}T[0-9]{6}Z_[0-9]+\.json\.gz" \
        "$(grep -F "$ACCOUNT_A/" <<<"$OUT" || echo "$OUT")"

    run "audit export --out DIR" admin audit export --out "$AUDIT_EXPORT"
    check_match "audit export: three chains (accounts A, tenant-b and tenant-audit)" \
        'exported 3 chains: [0-9]+ digests, [0-9]+ log files, [0-9]+ records to .*' "$OUT"
    check_files "audit public-key equals the exported audit-public-key.pem" \
        "$WORK/audit-public-key.pem" "$AUDIT_EXPORT/audit-public-key.pem"

    # Layout, gzip JSON {"Records": [...]}, one unbroken chain, and no secret of this run.
    local out
    out=$(python3 - "$AUDIT_EXPORT" "$ACCOUNT_A" "$REGION" "$AUDIT_ENCRYPT_EVENT" "$AUDIT_SECRET" \
        "$(base64 -w0 "$WORK/audit-secret.txt")" "$AUDIT_CIPHERTEXT" \
        "$(base64 -w0 "$PLAINTEXT")" "$(base64 -w0 "$WORK/datakey.bin")" 2>&1 <<'PY'
import gzip, json, os, re, sys
root, account, region, event_id = sys.argv[1:5]
secrets = sys.argv[5:]
day = r"[0-9]{4}/[0-9]{2}/[0-9]{2}"
logs = re.compile(rf"{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_[0-9]{{8}}T[0-9]{{4}}Z_[0-9]+-[0-9]+\.json\.gz")
digests = re.compile(rf"{account}/CloudTrail-Digest/{region}/{day}/{account}_CloudTrail-Digest_{region}_[a-z]+_{region}_[0-9]{{8}}T[0-9]{{6}}Z_[0-9]+\.json\.gz")
log_files, digest_files, other = [], [], []
for folder, _, names in os.walk(os.path.join(root, account)):
    for name in names:
        path = os.path.relpath(os.path.join(folder, name), root)
        (log_files if logs.fullmatch(path) else digest_files if digests.fullmatch(path) else other).append(path)
print("layout", len(log_files) > 0, len(digest_files) > 0, other)
records, texts = [], []
for path in log_files:
    text = gzip.open(os.path.join(root, path)).read().decode()
    texts.append(text)
    records += json.loads(text)["Records"]
sequences = sorted(record["auditChain"]["sequence"] for record in records)
print("chain", sequences == list(range(1, len(records) + 1)))
print("accounts", sorted({record["recipientAccountId"] for record in records}) == [account])
print("encrypt", any(record["eventID"] == event_id for record in records))
print("secrets", sum(secret in text for secret in secrets for text in texts))
PY
)
    check "export: A's log and digest files are in CloudTrail's layout, nothing else" \
        "layout True True []" "$(grep '^layout' <<<"$out" || echo "$out")"
    check "export: A's log files hold records 1..N of its chain" "chain True" \
        "$(grep '^chain' <<<"$out" || echo "$out")"
    check "export: A's log files hold only A's records" "accounts True" \
        "$(grep '^accounts' <<<"$out" || echo "$out")"
    check "export: the Encrypt event LookupEvents returned is there" "encrypt True" \
        "$(grep '^encrypt' <<<"$out" || echo "$out")"
    check "export: no plaintext, ciphertext or data key of this run in any record" "secrets 0" \
        "$(grep '^secrets' <<<"$out" || echo "$out")"

    run "audit verify --dir (the export)" admin audit verify --dir "$AUDIT_EXPORT"
    check_match "audit verify --dir: OK" 'OK: [0-9]+ digests, [0-9]+ log files, [0-9]+ records checked' \
        "$(tail -n 1 <<<"$OUT")"
    # Offline: no data directory, only the key it is given.
    run "audit verify --dir --public-key (the exported PEM, no data directory)" \
        "$STRONGBOX_BIN" audit verify --dir "$AUDIT_EXPORT" \
        --public-key "$AUDIT_EXPORT/audit-public-key.pem"
    check_match "audit verify --dir --public-key: OK" 'OK: .*' "$(tail -n 1 <<<"$OUT")"

    run "audit export --account A" admin audit export --out "$WORK/audit-export-a" \
        --account "$ACCOUNT_A"
    check_match "audit export --account: one chain" 'exported 1 chains: .*' "$OUT"
    check "audit export --account: only A's folder, the public key and the manifest" \
        "$(printf '%s\naudit-public-key.pem\nexport-manifest.json' "$ACCOUNT_A")" \
        "$(ls "$WORK/audit-export-a")"
    run "audit verify --dir (the export of A)" admin audit verify --dir "$WORK/audit-export-a"

    # One byte changed inside one record: the file no longer matches its digest, and the next
    # record's previousHash no longer matches the changed one.
    local tampered=$WORK/audit-tampered object
    cp -R "$AUDIT_EXPORT" "$tampered"
    object=$(python3 - "$tampered" "$ACCOUNT_A" "$AUDIT_ENCRYPT_EVENT" <<'PY'
import glob, gzip, json, os, sys
root, account, event_id = sys.argv[1:]
for path in sorted(glob.glob(f"{root}/{account}/CloudTrail/**/*.json.gz", recursive=True)):
    text = gzip.open(path).read()
    records = json.loads(text)["Records"]
    ids = [record["eventID"] for record in records]
    if event_id not in ids:
        continue
    # The Encrypt event, unless it is the file's last record: then the first (so that the
    # record that chains to it is in the same file).
    target = ids[0] if ids.index(event_id) == len(ids) - 1 else event_id
    needle = f'"eventID":"{target}"'.encode()
    at = text.index(needle) + len(needle) - 2  # the id's last hex digit
    text = text[:at] + (b"0" if text[at:at + 1] != b"0" else b"1") + text[at + 1:]
    with gzip.open(path, "wb") as file:
        file.write(text)
    print(os.path.relpath(path, root))
    break
PY
)
    check_match "tamper: changed one byte of a record in a log file of A" \
        "$ACCOUNT_A/CloudTrail/.*\.json\.gz" "$object"
    run_failing "audit verify --dir (one byte changed) exits non-zero" \
        admin audit verify --dir "$tampered"
    check "audit verify: a FAILED line names the changed file" yes \
        "$(grep -qF "FAILED $object: " <<<"$OUT" && echo yes || echo no)"
    check "audit verify: a FAILED line names the file and the record (FAILED <file>: record N: ...)" \
        yes "$(grep -F "FAILED $object: record " <<<"$OUT" | grep -qE ': record [0-9]+: ' &&
            echo yes || echo no)"
    check "audit verify: no OK line" no "$(grep -q '^OK' <<<"$OUT" && echo yes || echo no)"
    run_failing "audit verify --dir --public-key (one byte changed) exits non-zero" \
        "$STRONGBOX_BIN" audit verify --dir "$tampered" --public-key "$WORK/audit-public-key.pem"

    # A removed log file: its digest still lists it.
    local removed=$WORK/audit-removed file
    cp -R "$AUDIT_EXPORT" "$removed"
    file=$(cd "$removed" && find "$ACCOUNT_A/CloudTrail" -name '*.json.gz' | sort | head -n 1)
    rm "$removed/$file"
    run_failing "audit verify --dir (one log file removed) exits non-zero" \
        admin audit verify --dir "$removed"
    check "audit verify: a FAILED line names the removed file" yes \
        "$(grep -qF "FAILED $file: " <<<"$OUT" && echo yes || echo no)"

    run "audit verify (the live store)" admin audit verify
    check_match "audit verify of the live store: OK" 'OK: [0-9]+ digests, [0-9]+ log files, [0-9]+ records checked' \
        "$(tail -n 1 <<<"$OUT")"
}

# The second phase: another server, on its own fresh data directory, with --dev-clock and a
# scheduler that runs every second, driven forward in time with curl.
test_dev_clock() {
    spawn_server "--dev-clock server" CLOCK_PID CLOCK_ENDPOINT "$CLOCK_DATA_DIR" \
        --dev-clock --scheduler-interval 1
    check "--dev-clock logs a loud warning" yes \
        "$(grep -qF 'DEV CLOCK ENABLED' "$LOG" && echo yes || echo no)"

    run "dev clock: create-key" kms_clock create-key --description "e2e rotating key" \
        --query KeyMetadata.KeyId --output text
    local key=$OUT
    run "dev clock: enable-key-rotation (default period)" kms_clock enable-key-rotation \
        --key-id "$key"
    run "dev clock: create-alias alias/e2e-clock" kms_clock create-alias \
        --alias-name alias/e2e-clock --target-key-id "$key"
    run "dev clock: get-key-rotation-status" kms_clock get-key-rotation-status \
        --key-id alias/e2e-clock --query '[RotationPeriodInDays,NextRotationDate]' --output text
    local period next
    IFS=$'\t' read -r period next <<<"$OUT"
    check "dev clock: the default RotationPeriodInDays is 365" 365 "$period"
    check "dev clock: NextRotationDate is 365 days away" 365 \
        "$(days_between "$(date +%s)" "$(epoch "$next")")"
    run "dev clock: describe-key" kms_clock describe-key --key-id alias/e2e-clock \
        --query KeyMetadata.CurrentKeyMaterialId --output text
    local material_before=$OUT
    run "dev clock: encrypt via the alias" kms_clock encrypt --key-id alias/e2e-clock \
        --plaintext "fileb://$PLAINTEXT" --query CiphertextBlob --output text
    b64_to_file "$OUT" "$WORK/ciphertext-year-old.bin"

    post_clock "$CLOCK_ENDPOINT" '{"AdvanceSeconds": 31622400}'
    check "advance 366 days: HTTP 200" 200 "$CLOCK_STATUS"
    local now rotated
    now=$(json_field "$CLOCK_BODY" Now)
    rotated=$(json_field "$CLOCK_BODY" Rotated)
    check_match "advance 366 days: Now is epoch seconds" '[0-9]+' "$now"
    check "advance 366 days: Now is 366 days ahead" 366 "$(days_between "$(date +%s)" "$now")"
    check_match "advance 366 days: Rotated >= 1" '[1-9][0-9]*' "$rotated"

    run "dev clock: list-key-rotations" kms_clock list-key-rotations --key-id alias/e2e-clock \
        --query 'Rotations[].[RotationType,KeyMaterialState,KeyMaterialId]' --output text
    local listed=$OUT type state material
    check "dev clock: one rotation is listed" 1 "$(line_count "$listed")"
    IFS=$'\t' read -r type state material <<<"$listed"
    check "dev clock: the rotation is AUTOMATIC" AUTOMATIC "$type"
    check "dev clock: its material is CURRENT" CURRENT "$state"
    run "dev clock: describe-key after the rotation" kms_clock describe-key \
        --key-id alias/e2e-clock --query KeyMetadata.CurrentKeyMaterialId --output text
    check "dev clock: CurrentKeyMaterialId is the rotation's" "$material" "$OUT"
    check "dev clock: the material changed" yes \
        "$([[ $material != "$material_before" ]] && echo yes || echo no)"
    run "dev clock: get-key-rotation-status after the rotation" kms_clock \
        get-key-rotation-status --key-id alias/e2e-clock --query NextRotationDate --output text
    check "dev clock: NextRotationDate moved to 365 days after the new now" 365 \
        "$(days_between "$now" "$(epoch "$OUT")")"
    run "dev clock: decrypt the year-old ciphertext" kms_clock decrypt \
        --ciphertext-blob "fileb://$WORK/ciphertext-year-old.bin" --output text --query Plaintext
    b64_to_file "$OUT" "$WORK/decrypted-year-old.bin"
    check_files "dev clock: the year-old ciphertext decrypts" "$PLAINTEXT" \
        "$WORK/decrypted-year-old.bin"

    run "dev clock: create-key (to delete)" kms_clock create-key --query KeyMetadata.KeyId \
        --output text
    local doomed=$OUT
    run "dev clock: create-alias alias/e2e-doomed" kms_clock create-alias \
        --alias-name alias/e2e-doomed --target-key-id "$doomed"
    run "dev clock: schedule-key-deletion 7 days" kms_clock schedule-key-deletion \
        --key-id "$doomed" --pending-window-in-days 7 --query DeletionDate --output text
    check "dev clock: DeletionDate is 7 days after the moved clock" 7 \
        "$(days_between "$now" "$(epoch "$OUT")")"
    post_clock "$CLOCK_ENDPOINT" '{"AdvanceSeconds": 691200}'
    check "advance 8 days: HTTP 200" 200 "$CLOCK_STATUS"
    check "advance 8 days: Deleted is 1" 1 "$(json_field "$CLOCK_BODY" Deleted)"
    expect_error "dev clock: describe-key of the deleted key is NotFound" NotFoundException \
        kms_clock describe-key --key-id "$doomed"
    expect_error "dev clock: its alias is gone too" NotFoundException \
        kms_clock describe-key --key-id alias/e2e-doomed
    run "dev clock: list-keys after the deletion" kms_clock list-keys --query 'Keys[].KeyId' \
        --output text
    check "dev clock: only the rotating key is left" "$key" "$OUT"
    run "dev clock: list-aliases after the deletion" kms_clock list-aliases \
        --query 'Aliases[].AliasName' --output text
    check "dev clock: only alias/e2e-clock is left" alias/e2e-clock "$OUT"

    # The scheduler's own work is recorded too, as AWS records it: service events, dated by the
    # (moved) clock, invoked by kms.amazonaws.com.
    run "dev clock: lookup-events EventName=RotateKey" cloudtrail_clock lookup-events \
        --lookup-attributes AttributeKey=EventName,AttributeValue=RotateKey --output json
    local events=$OUT
    check "dev clock: one RotateKey event, an AWS service event of an AUTOMATIC rotation" \
        "AwsServiceEvent kms.amazonaws.com AUTOMATIC" "$(event_field "$events" eventType) \
$(event_field "$events" userIdentity.invokedBy) $(event_field "$events" serviceEventDetails.rotationType)"
    check_match "dev clock: the RotateKey event names the rotating key" \
        "arn:aws:kms:$REGION:[0-9]{12}:key/$key" "$(event_field "$events" resources.0.ARN)"
    check "dev clock: the RotateKey event is dated 366 days ahead" 366 \
        "$(days_between "$(date +%s)" "$(epoch "$(event_field "$events" eventTime)")")"
    run "dev clock: lookup-events EventName=DeleteKey" cloudtrail_clock lookup-events \
        --lookup-attributes AttributeKey=EventName,AttributeValue=DeleteKey --output json
    events=$OUT
    check "dev clock: one DeleteKey event, an AWS service event" \
        "AwsServiceEvent kms.amazonaws.com" \
        "$(event_field "$events" eventType) $(event_field "$events" userIdentity.invokedBy)"
    check_match "dev clock: the DeleteKey event names the deleted key" \
        "arn:aws:kms:$REGION:[0-9]{12}:key/$doomed" "$(event_field "$events" resources.0.ARN)"

    post_clock "$CLOCK_ENDPOINT" '{"AdvanceSeconds": -5}'
    check "advance -5 s: HTTP 400" 400 "$CLOCK_STATUS"
    check "advance -5 s: ValidationException" ValidationException \
        "$(json_field "$CLOCK_BODY" __type)"
    post_clock "$CLOCK_ENDPOINT" '{"AdvanceSeconds": "ten"}'
    check "advance \"ten\": HTTP 400 ValidationException" "400 ValidationException" \
        "$CLOCK_STATUS $(json_field "$CLOCK_BODY" __type)"
    local status
    status=$(curl -sS -o /dev/null -w '%{http_code}' "$CLOCK_ENDPOINT/_strongbox/clock") ||
        status="curl failed"
    check "GET /_strongbox/clock: HTTP 404" 404 "$status"

    stop_server 10 CLOCK_PID
    check "SIGTERM: the --dev-clock server exits cleanly within 10 s (took $STOP_TOOK)" 0 "$STOP_RC"
}

# The --dev-clock server's audit trail, after it stopped: its chain and digests span a year of
# moved clock, and its audit key is its own, so the main server's export does not verify with it.
test_dev_clock_audit() {
    run "dev clock: audit verify (its live store)" "$STRONGBOX_BIN" audit verify \
        --data-dir "$CLOCK_DATA_DIR"
    check_match "dev clock: audit verify: OK" 'OK: .*' "$(tail -n 1 <<<"$OUT")"
    run "dev clock: audit export" "$STRONGBOX_BIN" audit export --out "$WORK/clock-audit-export" \
        --data-dir "$CLOCK_DATA_DIR"
    run "dev clock: audit verify --dir (its export)" "$STRONGBOX_BIN" audit verify \
        --dir "$WORK/clock-audit-export" --data-dir "$CLOCK_DATA_DIR"

    local other_key=$WORK/clock-audit-export/audit-public-key.pem
    check "each data directory has its own audit key" differ \
        "$(cmp -s "$other_key" "$AUDIT_EXPORT/audit-public-key.pem" && echo same || echo differ)"
    run_failing "audit verify --dir (main export) --public-key (another key) exits non-zero" \
        "$STRONGBOX_BIN" audit verify --dir "$AUDIT_EXPORT" --public-key "$other_key"
    check "audit verify: the digests' signatures FAILED with another key" yes \
        "$(grep -qE "^FAILED $ACCOUNT_A/CloudTrail-Digest/[^:]+: .*signature" <<<"$OUT" &&
            echo yes || echo no)"
    run_failing "audit verify --dir (main export) --data-dir (another data directory) exits non-zero" \
        "$STRONGBOX_BIN" audit verify --dir "$AUDIT_EXPORT" --data-dir "$CLOCK_DATA_DIR"
    check "audit verify warns that the exported audit-public-key.pem is not the trusted key" yes \
        "$(grep -qF 'audit-public-key.pem differs' "$WORK/stderr" && echo yes || echo no)"
}

# TLS as a user sets it up: `strongbox tls self-signed`, `serve --tls-cert/--tls-key`, then the
# aws CLI with --ca-bundle, and the SDKs' own variables (AWS_ENDPOINT_URL_KMS, AWS_CA_BUNDLE)
# for the aws CLI, boto3 and the AWS Encryption SDK CLI, which has no endpoint flag.
test_tls() {
    local certs=$WORK/tls port endpoint health attempt
    run "tls self-signed" "$STRONGBOX_BIN" tls self-signed --out "$certs" --host localhost
    check "tls self-signed writes ca.pem, server.pem and server.key" "yes yes yes" \
        "$([[ -s $certs/ca.pem ]] && echo yes) $([[ -s $certs/server.pem ]] && echo yes) $([[ -s $certs/server.key ]] && echo yes)"
    check "the server key is private (0600)" 600 "$(stat -c %a "$certs/server.key")"
    port=$(free_port)
    endpoint=https://localhost:$port
    echo "--- strongbox serve (TLS) on $endpoint ($(date -u +%FT%TZ))" >>"$LOG"
    STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID=$ACCESS_KEY_ID \
        STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY=$SECRET_ACCESS_KEY \
        "$STRONGBOX_BIN" serve --data-dir "$WORK/tls-data" --listen "127.0.0.1:$port" \
        --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" >>"$LOG" 2>&1 &
    TLS_PID=$!
    health=""
    for attempt in $(seq 100); do
        if health=$(curl -fsS --max-time 1 --cacert "$certs/ca.pem" "$endpoint/health" 2>/dev/null); then
            break
        fi
        sleep 0.1
    done
    check "the TLS server answers GET /health over https" '{"status":"ok"}' "$health"
    check "HTTP/2 by ALPN" 2 \
        "$(curl -sS --http2 --cacert "$certs/ca.pem" -o /dev/null -w '%{http_version}' "$endpoint/health")"
    # A SigV4-signed call over HTTP/2 (the host travels as :authority, not as a header).
    check "a signed ListKeys over HTTP/2 (curl --aws-sigv4)" '{"Keys":[],"Truncated":false} 2' \
        "$(curl -sS --http2 --cacert "$certs/ca.pem" --aws-sigv4 "aws:amz:$REGION:kms" \
            --user "$ACCESS_KEY_ID:$SECRET_ACCESS_KEY" -H 'content-type: application/x-amz-json-1.1' \
            -H 'x-amz-target: TrentService.ListKeys' -d '{}' -w ' %{http_version}' "$endpoint/")"

    run "aws --ca-bundle kms create-key" aws --endpoint-url "$endpoint" --ca-bundle "$certs/ca.pem" \
        --profile strongbox kms create-key --query KeyMetadata.Arn --output text
    local key=$OUT
    check_match "create-key over TLS returns a key ARN" 'arn:aws:kms:[a-z0-9-]+:[0-9]{12}:key/.+' "$key"
    run "AWS_ENDPOINT_URL_KMS + AWS_CA_BUNDLE: aws kms list-keys (no --endpoint-url)" \
        env AWS_ENDPOINT_URL_KMS="$endpoint" AWS_CA_BUNDLE="$certs/ca.pem" \
        aws --profile strongbox kms list-keys --query 'length(Keys)' --output text
    check "the variables reach the TLS server" 1 "$OUT"
    run_failing "without the CA, the certificate is not trusted" \
        aws --endpoint-url "$endpoint" --profile strongbox kms list-keys
    check "the aws CLI says the certificate failed verification" yes \
        "$(grep -qi 'certificate verify failed' "$WORK/stderr" && echo yes || echo no)"

    local out
    out=$(AWS_ENDPOINT_URL_KMS="$endpoint" AWS_CA_BUNDLE="$certs/ca.pem" python3 - 2>&1 <<'PY'
import boto3
kms = boto3.Session(profile_name="strongbox", region_name="us-east-1").client("kms")
key = kms.create_key()["KeyMetadata"]["KeyId"]
blob = kms.encrypt(KeyId=key, Plaintext=b"over tls")["CiphertextBlob"]
print("roundtrip", kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"over tls")
PY
)
    check "boto3 over TLS with AWS_ENDPOINT_URL_KMS" "roundtrip True" \
        "$(grep '^roundtrip' <<<"$out" || echo "$out")"

    if ! command -v aws-encryption-cli >/dev/null 2>&1; then
        echo "aws-encryption-cli not found; installing it with pip"
        python3 -m pip install --quiet aws-encryption-sdk-cli
        hash -r
    fi
    printf 'a file for the AWS Encryption SDK CLI\n' >"$WORK/esdk.txt"
    local esdk=(env AWS_ENDPOINT_URL_KMS="$endpoint" AWS_CA_BUNDLE="$certs/ca.pem" AWS_PROFILE=strongbox
        aws-encryption-cli --wrapping-keys "key=$key" --metadata-output /dev/null
        --commitment-policy require-encrypt-require-decrypt)
    run "aws-encryption-cli --encrypt through Strongbox" "${esdk[@]}" --encrypt \
        --input "$WORK/esdk.txt" --output "$WORK/esdk.enc" --encryption-context purpose=e2e
    run "aws-encryption-cli --decrypt through Strongbox" "${esdk[@]}" --decrypt --buffer \
        --input "$WORK/esdk.enc" --output "$WORK/esdk.dec"
    check_files "the AWS Encryption SDK CLI round trip gives the file back" "$WORK/esdk.txt" \
        "$WORK/esdk.dec"
    stop_server 10 TLS_PID
}

main() {
    local started=$SECONDS
    setup_environment
    start_server
    test_first_start
    test_create_and_describe
    test_encrypt_decrypt
    test_re_encrypt
    test_data_keys_and_random
    test_aliases
    test_tags
    test_key_states
    test_rotation
    test_authentication
    test_boto3
    test_second_tenant
    test_access_control
    test_grants
    test_audit_lookup
    test_graceful_shutdown
    test_restart_durability
    test_audit_export
    stop_server 10
    test_dev_clock
    test_dev_clock_audit
    test_tls
    echo "took $((SECONDS - started)) s"
    report
    exit $((FAILED > 0 ? 1 : 0))
}

main "$@"
