#!/usr/bin/env bash
# One-run comparison: Strongbox (release build, fresh data directory) three ways — audit on
# (the default: read-only calls answer once their record is written, synced within 10ms), audit
# on with --audit-sync always (every answer waits for its fsync) and audit off (the
# benchmark-only --benchmark-without-audit) — moto's server and the bare-HTTP baseline, driven
# by the same strongbox-bench workloads, alternating targets within each round so that all see
# the same machine noise. Prints a table of medians and the ratios between them.
#
#   bench/compare.sh                      # 3 rounds × 10 s, concurrency 32, encrypt decrypt generate-data-key
#   ROUNDS=5 DURATION=5 CONCURRENCY="1 8 32 128" OPS=encrypt OUT=bench/results bench/compare.sh
#
# OUT=DIR keeps results.jsonl and table.md there (bench/plot.py draws results.jsonl).
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-32}
OPS=${OPS:-encrypt decrypt generate-data-key}
TARGETS=${TARGETS:-strongbox strongbox_always strongbox_off baseline moto}

if [[ " $TARGETS " == *" moto "* ]] && ! python3 -c 'import moto.server, flask_cors' 2>/dev/null; then
    echo "== installing moto[server]" >&2
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]'
fi
build
for target in $TARGETS; do
    case $target in
        strongbox) start_strongbox strongbox ;;
        strongbox_always) start_strongbox strongbox_always --audit-sync always ;;
        strongbox_off) start_strongbox strongbox_off --benchmark-without-audit ;;
        baseline) start_baseline baseline ;;
        moto) start_moto moto ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
done
{
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
    echo "strongbox: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), moto $(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null || echo -)"
} >"$WORK/machine.txt"
cat "$WORK/machine.txt" >&2
for round in $(seq "$ROUNDS"); do
    for concurrency in $CONCURRENCY; do
        for op in $OPS; do
            echo "== round $round/$ROUNDS: $op at concurrency $concurrency" >&2
            for target in $TARGETS; do
                extra=()
                [[ $target == baseline ]] && extra=(--baseline)
                measure "$target" --op "$op" --concurrency "$concurrency" \
                    --duration "${DURATION}s" --warmup 2s "${extra[@]}"
            done
        done
    done
done
ratios=()
[[ " $TARGETS " == *" strongbox_off "* ]] && ratios+=(--ratio strongbox/strongbox_off)
[[ " $TARGETS " == *" strongbox_always "* ]] && ratios+=(--ratio strongbox_always/strongbox)
[[ " $TARGETS " == *" baseline "* ]] && ratios+=(--ratio strongbox/baseline)
[[ " $TARGETS " == *" moto "* ]] && ratios+=(--ratio strongbox/moto)
python3 "$ROOT/bench/summarize.py" "$WORK/results.jsonl" "${ratios[@]}"
if [[ -n ${OUT:-} ]]; then
    mkdir -p "$OUT"
    cp "$WORK/results.jsonl" "$OUT/results.jsonl"
    { cat "$WORK/machine.txt"; echo; python3 "$ROOT/bench/summarize.py" "$WORK/results.jsonl" "${ratios[@]}" --markdown; } >"$OUT/table.md"
    echo "kept $OUT/results.jsonl and $OUT/table.md" >&2
fi
