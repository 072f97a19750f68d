"""Benchmark: what a GAN trained without labels gives for clustering and anomaly detection.

    python bench/unsupervised.py --data-dir ../shared/data --datasets mnist fashion --seeds 1 2 3

For each data set and seed, with the ClusterGAN config `{dataset}_cluster` (mode cluster: no label
is read in training):
- clustering: a GAN trained on the whole training split; on the test split, its own categories and
  k-means (k = 10) on its encoder's latent, on D features, pixels and PCA of pixels (NMI, ARI,
  Hungarian accuracy); a t-SNE map coloured by the GAN's categories (first seed);
- anomaly detection in two protocols: `normal` (one class is the normal data, the nine others the
  anomalies: the standard protocol) and `out` (one class held out of training is the anomaly:
  GANomaly's); per class, a GAN trained on the normal classes' training images, and the test AUROC
  of every score of `ganlearn anomaly` (f-AnoGAN's reconstruction score, D's output, k-NN distances and
  the standardised sum of two).
Prints tables (mean ± sample std over seeds) and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from ganlearn import config
from ganlearn.analysis.anomaly import anomaly_run
from ganlearn.analysis.clustering import cluster_run
from ganlearn.hardware import cpu_name
from ganlearn.train import run

PROTOCOLS = {  # protocol -> the classes excluded from training when class c is the one studied
    "normal": lambda c: [i for i in range(10) if i != c],
    "out": lambda c: [c],
}


def train(cfg_name: str, common: list[str], extra: list[str], name: str) -> tuple[Path, float]:
    cfg, _ = config.load(cfg_name, common + extra)
    start = time.perf_counter()
    return run(cfg, name), time.perf_counter() - start


def mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}" if len(values) > 1 else f"{values.mean():.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion"], choices=["mnist", "fashion"])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--protocols", nargs="*", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    p.add_argument("--classes", type=int, nargs="+", default=list(range(10)), help="classes studied, one GAN each")
    p.add_argument("--no-cluster", action="store_true", help="skip the clustering runs")
    p.add_argument("--anomaly-epochs", type=int, help="epochs of the anomaly GANs (default: the config's)")
    p.add_argument("--set", action="append", default=[], help="extra config overrides, e.g. train.epochs=5")
    p.add_argument("--runs", default="runs/unsupervised", help="where the run folders go (deleted after use)")
    p.add_argument("--maps", default="docs/unsupervised", help="folder for the 2-D maps")
    p.add_argument("--out", default="bench/results/unsupervised.json")
    args = p.parse_args()
    common = [
        f"data.data_dir={args.data_dir}",
        "data.download=false",
        "train.progress=false",
        f"train.out_dir={args.runs}",
        *args.set,
    ]
    result = {"command": " ".join(["python"] + sys.argv), "machine": cpu_name(), "cluster": {}, "anomaly": {}}
    Path(args.maps).mkdir(parents=True, exist_ok=True)
    for name in args.datasets:
        cfg_name = f"{name}_cluster"
        for seed in [] if args.no_cluster else args.seeds:
            run_dir, seconds = train(cfg_name, common, [f"train.seed={seed}"], f"{name}_cluster_s{seed}")
            report = cluster_run(run_dir, k=10)
            result["cluster"].setdefault(name, {})[seed] = report["results"] | {"minutes": seconds / 60}
            if seed == args.seeds[0]:
                shutil.copy(report["map_png"], Path(args.maps) / f"{name}_clusters.png")
            print(f"{name} seed {seed}: clustering GAN {seconds / 60:.1f} min", flush=True)
            shutil.rmtree(run_dir)
        epochs = [f"train.epochs={args.anomaly_epochs}"] if args.anomaly_epochs else []
        for protocol in args.protocols:
            for c in args.classes:
                for seed in args.seeds:
                    extra = [f"train.seed={seed}", f"data.exclude_classes={PROTOCOLS[protocol](c)}", *epochs]
                    run_dir, seconds = train(cfg_name, common, extra, f"{name}_{protocol}{c}_s{seed}")
                    aurocs = anomaly_run(run_dir)["auroc"]
                    result["anomaly"].setdefault(name, {}).setdefault(protocol, {}).setdefault(c, {})[seed] = aurocs
                    best = max(aurocs, key=aurocs.get)
                    print(f"{name} {protocol} {c} seed {seed}: {seconds / 60:.1f} min, best {best} {aurocs[best]:.3f}")
                    shutil.rmtree(run_dir)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))  # after each data set: a partial result survives
    print_tables(result)
    print(f"wrote {args.out}")


def print_tables(result: dict) -> None:
    for name, seeds in result["cluster"].items():
        print(f"\n{name}: clustering of the test split, mean ± sample std over {len(seeds)} seed(s)")
        methods = next(iter(seeds.values()))
        for method in (m for m in methods if m != "minutes"):
            cells = [mean_std([s[method][key] for s in seeds.values()]) for key in ("acc", "nmi", "ari")]
            print(f"  {method:<28} ACC {cells[0]}  NMI {cells[1]}  ARI {cells[2]}")
    for name, protocols in result["anomaly"].items():
        for protocol, classes in protocols.items():
            print(f"\n{name}, protocol {protocol}: AUROC, per class (mean over seeds), then mean ± std over seeds")
            scores = next(iter(next(iter(classes.values())).values()))
            for score in scores:
                per_class = [np.mean([s[score] for s in by_seed.values()]) for by_seed in classes.values()]
                seeds = next(iter(classes.values())).keys()
                per_seed = [np.mean([classes[c][s][score] for c in classes]) for s in seeds]
                print(f"  {score:<30} " + " ".join(f"{v:.3f}" for v in per_class) + f" | {mean_std(per_seed)}")


if __name__ == "__main__":
    main()
