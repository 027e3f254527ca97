# Shared by the benchmark scripts: building, starting the servers on free loopback ports,
# running strongbox-bench against them, and summarising its JSON lines. Sourced, not run.
# Every server started here is stopped when the sourcing script exits.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/target/release
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strongbox-bench.XXXXXX")
PIDS=()
export AWS_ACCESS_KEY_ID=AKIABENCHMARKBENCH01
export AWS_SECRET_ACCESS_KEY=benchmark/secret/key/of/forty/characters
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

build() {
    echo "== building (release)" >&2
    (cd "$ROOT" && cargo build --release --quiet -p strongbox -p strongbox-bench)
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something accepts connections there (at most 30 s).
wait_port() {
    for _ in $(seq 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

# launch NAME PORT COMMAND...: runs COMMAND in the background (output in $WORK/NAME.log), sets
# PORT_<NAME> and PID_<NAME>, and waits until PORT accepts connections.
launch() {
    local name=$1 port=$2; shift 2
    "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    printf -v "PID_$name" %s $!
    printf -v "PORT_$name" %s "$port"
    printf -v "URL_$name" %s "http://127.0.0.1:$port"
    if ! wait_port "$port"; then
        echo "== $name did not start; the end of its output:" >&2
        tail -n 20 "$WORK/$name.log" >&2
        return 1
    fi
}

# start_strongbox NAME [serve flags...]: a release server on a fresh data directory.
start_strongbox() {
    local name=$1; shift
    start_strongbox_at "$name" "$WORK/$name" "$@"
}

# start_strongbox_at NAME DATA_DIR [serve flags...]: a release server on DATA_DIR, which is
# kept (created with the benchmark's credentials if it does not exist).
start_strongbox_at() {
    local name=$1 data=$2 port; shift 2
    port=$(free_port)
    launch "$name" "$port" env \
        STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
        STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
        "$BIN/strongbox" serve --data-dir "$data" --listen "127.0.0.1:$port" "$@"
}

# stop NAME: stops a server started here and waits for it to exit.
stop() {
    local pid_var="PID_$1"
    kill "${!pid_var}" 2>/dev/null || true
    while kill -0 "${!pid_var}" 2>/dev/null; do sleep 0.1; done
}

# memory NAME: the server's resident memory now and at its peak, in MiB.
memory() {
    local pid_var="PID_$1"
    awk '/^VmRSS|^VmHWM/ { printf "%s %d MiB  ", $1, $2 / 1024 } END { print "" }' \
        "/proc/${!pid_var}/status"
}

# start_baseline NAME: the bare-HTTP baseline.
start_baseline() {
    local port; port=$(free_port)
    launch "$1" "$port" "$BIN/strongbox-baseline" "127.0.0.1:$port"
}

# start_moto NAME: moto's server (pip install 'moto[server]' first).
start_moto() {
    local port; port=$(free_port)
    launch "$1" "$port" python3 -m moto.server -H 127.0.0.1 -p "$port"
}

# measure NAME [strongbox-bench flags...]: one run against server NAME; appends its JSON line,
# tagged with the target name, to $WORK/results.jsonl. A failed run stops the script.
measure() {
    local name=$1; shift
    local url_var="URL_$name" pid_var="PID_$name"
    local line
    line=$("$BIN/strongbox-bench" --endpoint "${!url_var}" \
        --server-pid "${!pid_var}" --quiet "$@" | tail -n 1)
    echo "{\"target\":\"$name\",${line#\{}" >>"$WORK/results.jsonl"
    echo "$name: $line" >&2
}

# measure_as LABEL SERVER [flags...]: measure, tagging the line with LABEL instead of SERVER.
measure_as() {
    local label=$1 server=$2; shift 2
    measure "$server" "$@"
    sed -i "\$s/^{\"target\":\"$server\"/{\"target\":\"$label\"/" "$WORK/results.jsonl"
}
