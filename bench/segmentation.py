"""Benchmark: segmentation with and without the adversarial term (Luc et al. 2016), same budget and seeds.

    python bench/segmentation.py --data-dir ../shared/data --seeds 1 2 3 --epochs 3

The `mnist_seg` config (64x64 canvases of 1-4 digits, U-Net), each setting for `--epochs` epochs of
the 10 000 training canvases; mean IoU and pixel accuracy of the segmenter on the 2000 test canvases
after the last epoch (nothing is selected on the test set). Settings: all label maps or 10 % of
them, each with adv_weight 0 (plain cross-entropy) and with the adversarial term; at 10 % also with
the adversarial term on the unlabelled canvases. Prints a table (mean ± std over seeds), writes JSON
and an overlay picture (image | truth | prediction) per setting for the first seed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ganlearn import config
from ganlearn.data import load_dataset
from ganlearn.monitor import epoch_pictures
from ganlearn.plots import save_grid
from ganlearn.runlog import RunLog
from ganlearn.train import build, fit

SETTINGS = {  # key (file names, --settings) -> (description, overrides)
    "full_ce": ("100% labels, cross-entropy", ["data.label_rate=1.0", "train.adv_weight=0"]),
    "full_adv": ("100% labels, + adversarial", ["data.label_rate=1.0"]),
    "10pc_ce": ("10% labels, cross-entropy", ["data.label_rate=0.1", "train.adv_weight=0"]),
    "10pc_adv": ("10% labels, + adversarial", ["data.label_rate=0.1"]),
    "10pc_adv_unl": ("10% labels, + adversarial on unlabelled", ["data.label_rate=0.1", "train.adv_unlabelled=true"]),
}


def one_run(overrides: list[str], data, picture: Path | None) -> dict:
    cfg, _ = config.load("mnist_seg", overrides)
    start = time.perf_counter()
    t = build(cfg, data)
    records = fit(t, RunLog(None), verbose=False)
    if picture is not None:  # the trainer's own per-epoch overlay picture
        save_grid(epoch_pictures(t), picture, nrow=4)
    return {
        "overrides": overrides,
        "seconds": time.perf_counter() - start,
        "miou": records[-1]["test_miou"],
        "pixel_acc": records[-1]["test_pixel_acc"],
        "miou_per_epoch": [r["test_miou"] for r in records],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    p.add_argument("--set", action="append", default=[], help="extra config override for every run")
    p.add_argument("--pictures", default="docs/segmentation", help="folder for the overlay pictures")
    p.add_argument("--out", default="bench/results/segmentation.json")
    args = p.parse_args()
    pictures = Path(args.pictures)
    pictures.mkdir(parents=True, exist_ok=True)
    common = [
        f"data.data_dir={args.data_dir}",
        "data.download=false",
        "train.progress=false",
        f"train.epochs={args.epochs}",
        *args.set,
    ]
    data = load_dataset(config.load("mnist_seg", common)[0].data)  # the same canvases for every run
    result = {"command": " ".join(["python"] + sys.argv), "threads": torch.get_num_threads(), "runs": []}
    for key in args.settings:
        name, overrides = SETTINGS[key]
        for seed in args.seeds:
            print(f"--- {name}, seed {seed}", flush=True)
            picture = pictures / f"{key}.png" if seed == args.seeds[0] else None
            r = one_run(common + overrides + [f"train.seed={seed}"], data, picture)
            result["runs"].append({"setting": key, "description": name, "seed": seed, **r})
            print(f"    mIoU {r['miou']:.4f}  pixel acc {100 * r['pixel_acc']:.2f}%  {r['seconds']:.0f}s", flush=True)
            Path(args.out).write_text(json.dumps(result, indent=1))  # keep what is done if stopped

    print(f"\nmnist_seg, {args.epochs} epochs, seeds {args.seeds}: test mean IoU and pixel accuracy (mean ± std)")
    for key in args.settings:
        name, runs = SETTINGS[key][0], [r for r in result["runs"] if r["setting"] == key]
        miou, acc = np.array([r["miou"] for r in runs]), np.array([r["pixel_acc"] for r in runs])
        print(
            f"{name:<42} mIoU {miou.mean():.4f} ± {miou.std(ddof=1):.4f}   pixel acc {100 * acc.mean():.2f} "
            f"± {100 * acc.std(ddof=1):.2f}%   {np.mean([r['seconds'] for r in runs]):.0f}s"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
