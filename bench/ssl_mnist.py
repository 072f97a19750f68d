"""Benchmark: semi-supervised MNIST or Fashion-MNIST against the same D trained on the labels alone.

    python bench/ssl_mnist.py --data-dir ../shared/data --epochs 10 --seeds 1 2 3

Prints a table and writes JSON: test (and validation, with data.val_per_class) accuracy and seconds
per epoch for each seed and mode, each run's per-class test accuracy, and mean +- std over seeds
(one labelled split per seed, as the papers average over splits).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ganlearn import config
from ganlearn.data import load_dataset
from ganlearn.hardware import cpu_name
from ganlearn.models.outputs import predict_probs
from ganlearn.train import build, fit
from ganlearn.train.runlog import RunLog


def run_one(cfg_name: str, overrides: list[str], data) -> tuple[list[dict], np.ndarray]:
    """Train one run; its per-epoch records and the final EMA discriminator's (N, K) test probabilities."""
    cfg, _ = config.load(cfg_name, overrides)
    t = build(cfg, data)
    records = fit(t, RunLog(None), verbose=True)
    probs = predict_probs(t.D_ema, torch.from_numpy(data.x_test).to(t.device), cfg.train.eval_batch_size)
    return records, probs.cpu().numpy()


def commit() -> str:
    """The code's commit, for the record (empty outside a git checkout)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def summary(values: list[float]) -> str:
    return (
        f"{100 * np.mean(values):.2f} ± {100 * np.std(values, ddof=1):.2f}"
        if len(values) > 1
        else f"{100 * values[0]:.2f}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="mnist_ssl")
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[1])
    p.add_argument(
        "--modes",
        nargs="+",
        default=["ssl", "supervised"],
        choices=["ssl", "supervised"],
        help="which to run: the K+1 GAN (ssl) and/or the labels-only baseline (supervised)",
    )
    p.add_argument("--no-baseline", dest="modes", action="store_const", const=["ssl"], help="the same as --modes ssl")
    p.add_argument("--set", action="append", default=[], help="extra config overrides")
    p.add_argument("--out", default="bench/results/ssl_mnist.json")
    p.add_argument(
        "--save-probs",
        metavar="DIR",
        help="also save each run's final test probabilities as DIR/<mode>_seed<seed>.npy",
    )
    args = p.parse_args()

    base = [
        f"data.data_dir={args.data_dir}",
        "data.download=false",
        f"train.epochs={args.epochs}",
        "train.progress=false",
        *args.set,
    ]
    cfg, _ = config.load(args.config, base)
    data = load_dataset(cfg.data)
    runs = []
    for seed in args.seeds:
        for mode in args.modes:
            print(f"--- seed {seed}, mode {mode}", flush=True)
            start = time.perf_counter()
            extra = ["train.augment_unlabelled=false"] if mode == "supervised" else []  # no unlabelled stream
            records, probs = run_one(args.config, base + [f"train.seed={seed}", f"train.mode={mode}", *extra], data)
            if args.save_probs:
                Path(args.save_probs).mkdir(parents=True, exist_ok=True)
                np.save(Path(args.save_probs) / f"{mode}_seed{seed}.npy", probs)
            hits = probs.argmax(1) == data.y_test
            runs.append(
                {
                    "seed": seed,
                    "mode": mode,
                    "wall_seconds": time.perf_counter() - start,
                    "class_acc": {name: float(hits[data.y_test == k].mean()) for k, name in enumerate(data.classes)},
                    "epochs": [
                        {k: r[k] for k in ("epoch", "val_acc", "test_acc", "epoch_seconds", "elapsed") if k in r}
                        for r in records
                    ],
                }
            )
    report(args, cfg, runs)


def report(args, cfg, runs: list[dict]) -> None:
    """Print the per-epoch table and the final accuracies; write the JSON."""
    print(
        f"\n{args.config}: {cfg.data.labels_per_class or cfg.data.label_rate} labels per class "
        f"(rate), {args.epochs} epochs, seeds {args.seeds}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"{'mode':<11} {'seed':>4} "
        + " ".join(f"{'ep' + str(e['epoch']):>6}" for e in runs[0]["epochs"])
        + f" {'s/epoch':>8}"
    )
    for r in runs:
        accs = " ".join(f"{100 * e['test_acc']:6.2f}" for e in r["epochs"])
        secs = np.mean([e["epoch_seconds"] for e in r["epochs"]])
        print(f"{r['mode']:<11} {r['seed']:>4} {accs} {secs:8.1f}")
    result = {
        "command": " ".join([sys.executable.split("/")[-1]] + sys.argv),
        "config": cfg.to_dict(),
        "commit": commit(),
        "machine": {
            "platform": platform.platform(),
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "runs": runs,
        "final_test_acc": {},
    }
    for mode in args.modes:
        finals = [r["epochs"][-1]["test_acc"] for r in runs if r["mode"] == mode]
        result["final_test_acc"][mode] = {
            "mean": float(np.mean(finals)),
            "std": float(np.std(finals, ddof=1)),
            "values": finals,
        }
        print(f"final test accuracy, {mode}: {summary(finals)} %")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
