#!/usr/bin/env python3
"""Draws req/s against concurrency for each target from compare.sh's results.jsonl (medians of
the rounds), one panel per operation, into a PNG. Needs matplotlib (pip install matplotlib).

    bench/plot.py bench/results/results.jsonl docs/performance-concurrency.png
"""
import collections
import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(results, output):
    runs = collections.defaultdict(list)
    with open(results) as lines:
        for line in lines:
            run = json.loads(line)
            runs[(run["op"], run["target"], run["concurrency"])].append(run["req_per_s"])
    ops = sorted({op for op, _, _ in runs})
    figure, axes = plt.subplots(1, len(ops), figsize=(5 * len(ops), 4), squeeze=False)
    for axis, op in zip(axes[0], ops):
        for target in sorted({t for o, t, _ in runs if o == op}):
            points = sorted((c, statistics.median(v)) for (o, t, c), v in runs.items()
                            if o == op and t == target)
            axis.plot([c for c, _ in points], [r for _, r in points], marker="o", label=target)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("concurrency (connections)")
        axis.set_ylabel("requests per second (median)")
        axis.set_title(op)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(output, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
