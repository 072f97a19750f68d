"""Benchmark: what a GAN trained without labels gives for clustering, 2-D maps and anomaly detection.

    python bench/unsupervised.py --data-dir ../shared/data --datasets mnist fashion --epochs 1

For each data set: a GAN (`{dataset}_dcgan`, mode gan: no label is read) trained on the whole
training split; k-means (k = 10) on its D features of the test split against raw pixels and PCA of
pixels (NMI, ARI, Hungarian accuracy); PCA and t-SNE maps of the D features (PNG). Then, for each
held-out class, a GAN trained on the other classes only, and the AUROC of anomaly scores for the
held-out class's test images: D's -log p(real | x), and 5-NN distance (Euclidean and cosine) in D
features, pixels and PCA of pixels. Prints tables and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ganlearn import config
from ganlearn.probes import anomaly_run, cluster_run, embed_run
from ganlearn.train import run

CONFIGS = {"mnist": "mnist_dcgan", "fashion": "fashion_dcgan", "digits": "digits_ssl"}


def train(name: str, common: list[str], out: Path, extra: list[str] = ()) -> Path:
    cfg, _ = config.load(CONFIGS[name], common + ["train.mode=gan", f"train.out_dir={out}", *extra])
    return run(cfg, f"{name}_gan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion"], choices=list(CONFIGS))
    p.add_argument("--epochs", type=int, default=1, help="GAN training epochs per run")
    p.add_argument("--held-out", type=int, nargs="+", default=list(range(10)), help="classes to hold out, one run each")
    p.add_argument("--set", action="append", default=[], help="extra config overrides, e.g. model.width=32")
    p.add_argument("--runs", default="runs/unsupervised", help="where the run folders go")
    p.add_argument("--maps", default="docs/unsupervised", help="folder for the 2-D maps")
    p.add_argument("--out", default="bench/results/unsupervised.json")
    args = p.parse_args()
    common = [
        f"data.data_dir={args.data_dir}",
        "data.download=false",
        "train.progress=false",
        f"train.epochs={args.epochs}",
        "train.score_samples=0",
        *args.set,
    ]
    Path(args.maps).mkdir(parents=True, exist_ok=True)
    result = {"command": " ".join(["python"] + sys.argv), "cluster": {}, "anomaly": {}}
    for name in args.datasets:
        start = time.perf_counter()
        run_dir = train(name, common, Path(args.runs))
        result["cluster"][name] = cluster_run(run_dir, k=10)["results"]
        for method in ("pca", "tsne"):
            embed_run(run_dir, method, out=f"{args.maps}/{name}_{method}.png", size=700)
        print(f"{name}: GAN and clustering in {time.perf_counter() - start:.0f} s", flush=True)
        result["anomaly"][name] = {}
        for c in args.held_out:
            run_dir = train(name, common, Path(args.runs), [f"data.exclude_classes=[{c}]"])
            result["anomaly"][name][c] = anomaly_run(run_dir)["auroc"]
            print(
                f"{name}, held out {c}: " + ", ".join(f"{k} {v:.3f}" for k, v in result["anomaly"][name][c].items()),
                flush=True,
            )

    print(f"\nk-means (k = 10) on the test split, GAN trained {args.epochs} epoch(s) without labels")
    print(f"{'data':<8} {'representation':<18} {'NMI':>6} {'ARI':>6} {'ACC':>6}")
    for name, reps in result["cluster"].items():
        for rep, r in reps.items():
            print(f"{name:<8} {rep:<18} {r['nmi']:6.3f} {r['ari']:6.3f} {r['acc']:6.3f}")
    print("\nanomaly AUROC per held-out class (mean last)")
    for name, per_class in result["anomaly"].items():
        scores = list(next(iter(per_class.values())))
        for score in scores:
            values = [per_class[c][score] for c in per_class]
            print(f"{name:<8} {score:<30} " + " ".join(f"{v:.3f}" for v in values) + f"  | {np.mean(values):.3f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
