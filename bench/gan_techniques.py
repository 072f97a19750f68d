"""Benchmark: each Improved-GAN technique on and off, at a fixed budget.

    python bench/gan_techniques.py --data-dir ../shared/data --datasets mnist fashion

GAN mode: the `{dataset}_dcgan` config for `--gan-iters` iterations per variant; after training,
the FID-style score, the Inception-Score-style score and the class-coverage KL of 5000 samples
(shipped domain classifier, real training images as the floor), and a sample grid per variant.
Semi-supervised mode: the `{dataset}_ssl` config (MLP pair, 100 labels) for `--ssl-epochs` epochs
per variant; test accuracy of the EMA discriminator. Prints tables and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ganlearn import config
from ganlearn.data import load_dataset
from ganlearn.evaluation.domain_scores import load_domain_classifier, reference_stats, score_images
from ganlearn.evaluation.plots import plot_lines, save_grid
from ganlearn.models.outputs import generate
from ganlearn.train import build, fit
from ganlearn.train.runlog import RunLog

GAN_VARIANTS = {
    "baseline (non-saturating)": [],
    "feature matching": ["train.g_loss=feature_matching"],
    "minibatch discrimination": ["model.minibatch_kernels=50"],
    "one-sided label smoothing 0.9": ["train.real_label=0.9"],
    "virtual batch norm": ["model.vbn_ref=64"],
    "historical averaging 1e-4": ["train.historical_averaging=0.0001"],
}
SSL_VARIANTS = {
    "baseline (feature matching)": [],
    "minibatch discrimination": ["model.minibatch_kernels=50"],
    "one-sided label smoothing 0.9": ["train.real_label=0.9"],
    "virtual batch norm": ["model.vbn_ref=64"],
    "historical averaging 1e-4": ["train.historical_averaging=0.0001"],
    "self-training (p >= 0.99 after 2 epochs)": ["self_training.threshold=0.99", "self_training.start=2"],
}


def gan_run(name: str, overrides: list[str], data, scorer, grid_dir: Path) -> dict:
    cfg, _ = config.load(f"{data.name}_dcgan", overrides)
    start = time.perf_counter()
    t = build(cfg, data)
    records = fit(t, RunLog(None), verbose=False)
    net, reference = scorer
    scores = score_images(net, generate(t.G, 5000, seed=0), reference)
    grid = save_grid(generate(t.G, 100, seed=1), grid_dir / f"{data.name}_{name.split(' ')[0]}.png")
    return {
        "variant": name,
        "overrides": overrides,
        "seconds": time.perf_counter() - start,
        **scores,
        "fid_curve": [(r["step"], r["fid"]) for r in records],
        "grid": str(grid),
    }


def ssl_run(name: str, overrides: list[str], data) -> dict:
    cfg, _ = config.load(f"{data.name}_ssl", overrides)
    start = time.perf_counter()
    records = fit(build(cfg, data), RunLog(None), verbose=False)
    return {
        "variant": name,
        "overrides": overrides,
        "seconds": time.perf_counter() - start,
        "test_acc": records[-1]["test_acc"],
        "test_acc_per_epoch": [r["test_acc"] for r in records],
    }


def bench_dataset(
    name: str, common: list[str], gan_common: list[str], ssl_epochs: int, grid_dir: Path, result: dict, out: Path
) -> None:
    """Every GAN-mode and SSL-mode variant on one data set, appended to `result` (saved after each)."""
    cfg, _ = config.load(f"{name}_dcgan", gan_common)
    data = load_dataset(cfg.data)
    net, _ = load_domain_classifier(name)
    scorer = net, reference_stats(net, data.x_test)
    real = data.x_train[np.random.default_rng(0).choice(len(data.x_train), 5000, replace=False)]
    result["floor"][name] = score_images(net, real, scorer[1])
    for variant, overrides in GAN_VARIANTS.items():
        print(f"--- gan {name}: {variant}", flush=True)
        result["gan"].append({"dataset": name, **gan_run(variant, gan_common + overrides, data, scorer, grid_dir)})
        out.write_text(json.dumps(result, indent=1))  # keep what is done if stopped
    for variant, overrides in SSL_VARIANTS.items():
        print(f"--- ssl {name}: {variant}", flush=True)
        ssl_overrides = common + [f"train.epochs={ssl_epochs}"] + overrides
        result["ssl"].append({"dataset": name, **ssl_run(variant, ssl_overrides, data)})
        out.write_text(json.dumps(result, indent=1))


def print_tables(result: dict, gan_iters: int, ssl_epochs: int) -> None:
    print(f"\nGAN mode, DCGAN, {gan_iters} iterations, 5000 samples (floor: 5000 real training images)")
    print(f"{'data':<8} {'variant':<34} {'FID-style':>9} {'IS-style':>8} {'coverage KL':>11} {'s':>6}")
    for name, floor in result["floor"].items():
        print(
            f"{name:<8} {'real images (floor)':<34} {floor['fid']:9.2f} {floor['inception_score']:8.2f} "
            f"{floor['coverage_kl']:11.3f}"
        )
    for r in result["gan"]:
        print(
            f"{r['dataset']:<8} {r['variant']:<34} {r['fid']:9.2f} {r['inception_score']:8.2f} "
            f"{r['coverage_kl']:11.3f} {r['seconds']:6.0f}"
        )
    print(f"\nsemi-supervised, 100 labels, {ssl_epochs} epochs: test accuracy of the EMA discriminator")
    for r in result["ssl"]:
        print(f"{r['dataset']:<8} {r['variant']:<42} {100 * r['test_acc']:6.2f}% {r['seconds']:6.0f}s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion"], choices=["mnist", "fashion"])
    p.add_argument("--gan-iters", type=int, default=1500, help="iterations per GAN variant (6 epochs of 250)")
    p.add_argument("--ssl-epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--grids", default="docs/gan_samples", help="folder for the sample grids")
    p.add_argument("--out", default="bench/results/gan_techniques.json")
    args = p.parse_args()
    grid_dir, out = Path(args.grids), Path(args.out)
    grid_dir.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    common = [
        f"data.data_dir={args.data_dir}",
        "data.download=false",
        "train.progress=false",
        f"train.seed={args.seed}",
    ]
    # six evaluation points (an FID-style score after each "epoch" of gan_iters / 6 iterations)
    gan_common = common + ["train.epochs=6", f"train.iters_per_epoch={args.gan_iters // 6}", "train.lr=0.0005"]
    result = {"command": " ".join(["python"] + sys.argv), "gan": [], "ssl": [], "floor": {}}
    for name in args.datasets:
        bench_dataset(name, common, gan_common, args.ssl_epochs, grid_dir, result, out)
    print_tables(result, args.gan_iters, args.ssl_epochs)
    for name in args.datasets:
        curves = {r["variant"]: r["fid_curve"] for r in result["gan"] if r["dataset"] == name}
        plot_lines(
            curves,
            grid_dir / f"{name}_fid.png",
            "iteration",
            "FID-style score (2000 samples)",
            f"DCGAN on {name}: FID-style score over training",
        )
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
