"""Choosing λ (train.adv_weight) for mode seg without the test set.

    python bench/seg_lambda.py --data-dir ../shared/data --lambdas 0 0.01 0.1

Trains `mnist_seg` with 10 % of the label maps for `--epochs` epochs per λ and reports the mean IoU
after each epoch on 1000 validation canvases built from TRAINING images (another canvas seed): the
test canvases, built from test images, are never looked at.
"""
from __future__ import annotations

import argparse
import time

from ganlearn import config
from ganlearn.data import Dataset, load_dataset, load_mnist
from ganlearn.runlog import RunLog
from ganlearn.segdata import make_canvases
from ganlearn.trainer import build, fit

VALIDATION_SEED = 99


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 0.01, 0.1])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--label-rate", type=float, default=0.1)
    p.add_argument("--set", action="append", default=[], help="extra config override for every run")
    args = p.parse_args()
    common = [f"data.data_dir={args.data_dir}", "data.download=false", "train.progress=false",
              f"train.epochs={args.epochs}", f"data.label_rate={args.label_rate}", *args.set]
    train = load_dataset(config.load("mnist_seg", common)[0].data)
    source = load_mnist("mnist", args.data_dir, download=False)
    x_val, y_val, _ = make_canvases(source.x_train, source.y_train, 1000, seed=VALIDATION_SEED)
    data = Dataset(train.name, train.x_train, train.y_train, x_val, y_val, train.classes)  # "test" = validation
    print(f"{'lambda':>7}  validation mIoU after each epoch")
    for lam in args.lambdas:
        start = time.perf_counter()
        records = fit(build(config.load("mnist_seg", common + [f"train.adv_weight={lam}"])[0], data),
                      RunLog(None), verbose=False)
        curve = "  ".join(f"{r['test_miou']:.4f}" for r in records)
        print(f"{lam:7g}  {curve}  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
