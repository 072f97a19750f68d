"""Benchmark: semi-supervised segmentation (Hung et al. 2018) against cross-entropy alone, per label rate.

    python bench/segmentation.py --data-dir ../shared/data --seeds 1 2 3 --epochs 30

The `mnist_seg` config (64x64 canvases of 1-4 digits, U-Net; 10 % of the training canvases held
out for validation), each variant at each fraction of label maps, trained `--epochs` epochs:
- `ce`: per-pixel cross-entropy on the labelled canvases alone;
- `adv`: + the adversarial term on the labelled canvases' predictions (Hung et al.'s lambda_adv);
- `hung`: + the adversarial term on unlabelled canvases and the semi-supervised term.
After each epoch it records the validation mIoU and the minutes trained (the learning curves, plotted
to `--curves`: where each variant plateaus); the comparison is on the test canvases after the last
epoch (nothing is selected on them): mean and per-class IoU, mean ± sample std over seeds. JSON
after each run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ganlearn import config
from ganlearn.data import load_dataset
from ganlearn.evaluation.metrics import segmentation_scores
from ganlearn.evaluation.plots import plot_lines
from ganlearn.hardware import cpu_name
from ganlearn.models.outputs import predict_label_maps
from ganlearn.train import build, fit
from ganlearn.train.runlog import RunLog

OFF = ["seg.adv_unlabelled_weight=0", "seg.semi_weight=0"]
VARIANTS = {  # name -> (description, overrides of mnist_seg): Hung et al.'s weights, or 0
    "ce": ("cross-entropy", ["seg.adv_weight=0", *OFF]),
    "adv": ("+ adversarial", ["seg.adv_weight=0.01", *OFF]),
    "hung": (
        "+ adversarial + semi-supervised",
        ["seg.adv_weight=0.01", "seg.adv_unlabelled_weight=0.001", "seg.semi_weight=0.1"],
    ),
}


def one_run(overrides: list[str], data) -> dict:
    cfg, _ = config.load("mnist_seg", overrides)
    start = time.perf_counter()
    t = build(cfg, data)
    records = fit(t, RunLog(None))  # one line per epoch
    pred = predict_label_maps(t.G, torch.from_numpy(data.x_test).to(t.device), cfg.train.eval_batch_size)
    scores = segmentation_scores(data.y_test, pred, data.classes)
    minutes = np.cumsum([r["epoch_seconds"] for r in records]) / 60
    return {
        "overrides": overrides,
        "minutes": (time.perf_counter() - start) / 60,
        "test_miou": scores["miou"],
        "test_iou": scores["iou"],
        "test_pixel_acc": scores["pixel_acc"],
        "val_curve": [(float(m), r.get("val_miou")) for m, r in zip(minutes, records)],  # none without val_rate
    }


def mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}" if len(values) > 1 else f"{values.mean():.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--fractions", nargs="+", default=["1/16", "1/8", "1/4", "1"], help="of the label maps kept")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--set", action="append", default=[], help="extra config override for every run")
    p.add_argument("--curves", default="docs/segmentation/curves.png", help="validation mIoU against minutes")
    p.add_argument("--out", default="bench/results/segmentation.json")
    args = p.parse_args()
    common = [f"data.data_dir={args.data_dir}", "data.download=false", "train.progress=false", *args.set]
    common.append(f"train.epochs={args.epochs}")
    data = load_dataset(config.load("mnist_seg", common)[0].data)  # the same canvases for every run
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    result = {
        "command": " ".join(["python"] + sys.argv),
        "machine": cpu_name(),
        "threads": torch.get_num_threads(),
        "runs": [],
    }
    for fraction in args.fractions:
        for variant in args.variants:
            for seed in args.seeds:
                rate = float(Fraction(fraction))
                overrides = common + VARIANTS[variant][1] + [f"data.label_rate={rate}", f"train.seed={seed}"]
                r = one_run(overrides, data)
                result["runs"].append({"fraction": fraction, "variant": variant, "seed": seed, **r})
                print(f"{fraction} {variant} seed {seed}: test mIoU {r['test_miou']:.3f}, {r['minutes']:.1f} min")
                Path(args.out).write_text(json.dumps(result, indent=1))  # keep what is done if stopped
    print_table(result, data.classes)
    curves = {
        f"{r['fraction']} {VARIANTS[r['variant']][0]}": r["val_curve"]
        for r in result["runs"]
        if r["seed"] == args.seeds[0]
    }
    Path(args.curves).parent.mkdir(parents=True, exist_ok=True)
    plot_lines(curves, args.curves, "minutes of training", "validation mIoU", f"mnist_seg, seed {args.seeds[0]}")
    print(f"wrote {args.out} and {args.curves}")


def print_table(result: dict, classes: list[str]) -> None:
    print("\ntest mIoU after the last epoch, mean ± sample std over seeds; then per-class IoU (mean)")
    keys = dict.fromkeys((r["fraction"], r["variant"]) for r in result["runs"])
    for fraction, variant in keys:
        runs = [r for r in result["runs"] if (r["fraction"], r["variant"]) == (fraction, variant)]
        per_class = np.nanmean([[np.nan if v is None else v for v in r["test_iou"].values()] for r in runs], 0)
        print(
            f"{fraction:>5} {VARIANTS[variant][0]:<34} {mean_std([r['test_miou'] for r in runs])}  "
            f"(n={len(runs)}, {np.mean([r['minutes'] for r in runs]):.0f} min)  "
            + " ".join(f"{c}:{v:.2f}" for c, v in zip(classes, per_class))
        )


if __name__ == "__main__":
    main()
