#!/usr/bin/env bash
# Measures what the root of trust costs: `operator rotate-root` with many accounts (one
# key-encryption key each) and many key versions, and a rotation every few seconds under an
# Encrypt load (requests must not fail; throughput beside a run without rotations).
#
#   bench/root-rotation.sh [ACCOUNTS] [KEYS]      (release binaries: cargo build --release)
set -euo pipefail
accounts=${1:-1000}
keys=${2:-10000}
bin=$(cd "$(dirname "$0")/.." && pwd)/target/release
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID=AKIABENCHBENCHBENCH1
export STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY=bench/secret/key/that/is/forty/chars/xx
"$bin/strongbox" serve --data-dir "$dir/data" --listen "127.0.0.1:$port" 2>"$dir/server.log" &
server=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
bench() {
    "$bin/strongbox-bench" --endpoint "http://127.0.0.1:$port" -q \
        --access-key-id "$STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID" \
        --secret-access-key "$STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY" "$@"
}
started=$(date +%s.%N)
for n in $(seq "$accounts"); do
    id=$("$bin/strongbox" account create --name "bench-$n" --data-dir "$dir/data")
    "$bin/strongbox" access-key create --account "$id" --data-dir "$dir/data" >/dev/null 2>&1
done
echo "made $accounts accounts with a key-encryption key each in $(python3 -c "import time; print(round(time.time() - $started, 1))") s"
bench --op create-key --keys 1 --duration 1s --warmup 0s >/dev/null
bench --op encrypt --keys "$keys" --touch-each-key --duration 1s --warmup 0s >/dev/null
echo "made $keys keys"
for run in 1 2 3; do
    started=$(date +%s.%N)
    "$bin/strongbox" operator rotate-root --data-dir "$dir/data" >/dev/null
    echo "rotate-root $run: $(python3 -c "import time; print(round((time.time() - $started) * 1000))") ms"
done
echo "Encrypt c=32, 20 s, no rotation:"
bench --op encrypt --keys 100 --existing-keys --duration 20s | tail -4
echo "Encrypt c=32, 20 s, a rotation every 2 s:"
(for _ in $(seq 10); do sleep 2; "$bin/strongbox" operator rotate-root --data-dir "$dir/data" >/dev/null; done) &
rotations=$!
bench --op encrypt --keys 100 --existing-keys --duration 20s | tail -4
wait $rotations
