#!/usr/bin/env python3
"""Summarises strongbox-bench JSON lines (one per run, tagged with "target") into a table of
medians per target, operation and concurrency, with the requested ratios of req/s.

    summarize.py RESULTS.jsonl [--ratio A/B ...] [--markdown]
"""
import argparse
import collections
import json
import statistics
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--ratio", action="append", default=[], help="TARGET/TARGET")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    runs = collections.defaultdict(list)
    with open(args.results) as lines:
        for line in lines:
            run = json.loads(line)
            runs[(run["op"], run["concurrency"], run["target"])].append(run)
    medians = {}
    rows = []
    for (op, concurrency, target), group in sorted(runs.items()):
        median = lambda key: statistics.median(r[key] for r in group if r[key] is not None) \
            if any(r[key] is not None for r in group) else None
        m = {key: median(key) for key in
             ("req_per_s", "p50_ms", "p99_ms", "server_cpu_us_per_request")}
        medians[(op, concurrency, target)] = m
        rows.append([op, str(concurrency), target, f"{m['req_per_s']:.0f}",
                     f"{m['p50_ms']:.2f}", f"{m['p99_ms']:.2f}",
                     "-" if m["server_cpu_us_per_request"] is None
                     else f"{m['server_cpu_us_per_request']:.1f}",
                     " ".join(f"{r['req_per_s']:.0f}" for r in group)])
    header = ["op", "conc.", "target", "req/s (median)", "p50 ms", "p99 ms",
              "server µs/req", "runs (req/s)"]
    ratios = []
    for spec in args.ratio:
        top, bottom = spec.split("/")
        for (op, concurrency, target), m in sorted(medians.items()):
            if target != top or (op, concurrency, bottom) not in medians:
                continue
            ratio = m["req_per_s"] / medians[(op, concurrency, bottom)]["req_per_s"]
            ratios.append(f"{op} c={concurrency}: {top}/{bottom} = {ratio:.2f}")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()
        for ratio in ratios:
            print(f"- {ratio}")
    else:
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
        for row in [header] + rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
        for ratio in ratios:
            print(ratio)


if __name__ == "__main__":
    sys.exit(main())
