"""Plot test error against training minutes from bench/ssl_mnist.py results, beside the reference port.

    python bench/plot_time.py bench/results/ssl_mnist_budget60.json --out docs/error_vs_time.png

Each ssl run of each JSON file is one curve (its `elapsed` training seconds, evaluation excluded).
The reference port's points are those measured on the same 2-core machine (issue #3): 81.7 %
after 1 epoch, 90.5 % after 5 and 95.9 % after 10, at about 58 s an epoch.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganlearn.plots import plot_error_vs_time

PORT_SECONDS_PER_EPOCH = 58
PORT_POINTS = [(1, 0.817), (5, 0.905), (10, 0.959)]  # (epoch, test accuracy)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+", help="JSON files written by bench/ssl_mnist.py")
    p.add_argument("--out", default="docs/error_vs_time.png")
    args = p.parse_args()
    curves = {}
    for path in args.results:
        result = json.loads(Path(path).read_text())
        train = result["config"]["train"]
        extra = ", self-training" if train.get("pseudo_label_threshold") else ""
        for run in result["runs"]:
            if run["mode"] == "ssl":
                label = f"ganlearn, batch {train['batch_size']}, {train['epochs']} epochs{extra}, seed {run['seed']}"
                curves[label] = [(e["elapsed"] / 60, e["test_acc"]) for e in run["epochs"]]
    curves["reference port (improved-gan, PyTorch)"] = [(e * PORT_SECONDS_PER_EPOCH / 60, a) for e, a in PORT_POINTS]
    print(f"wrote {plot_error_vs_time(curves, args.out)}")


if __name__ == "__main__":
    main()
