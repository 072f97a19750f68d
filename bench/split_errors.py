"""Where a run's EMA discriminator goes wrong on its validation images and its unlabelled training
pool, never the test set: accuracy, the most frequent (true -> predicted) pairs and the counts of
chosen pairs. Used to judge validation pilots (docs/benchmarks.md).

    python bench/split_errors.py RUN_DIR [RUN_DIR ...] [--pairs 9-3 7-2] [--data-dir ../shared/data]
"""
import argparse
from collections import Counter

import torch

from ganlearn.data import load_dataset
from ganlearn.evaluate import load_run, restore_models
from ganlearn.monitor import predict_probs
from ganlearn.trainer import make_split


def pair(text: str) -> tuple[int, int]:
    true, _, read = text.partition("-")
    return int(true), int(read)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--pairs", nargs="*", type=pair, default=[(9, 3), (7, 9), (7, 2), (4, 9), (9, 4), (1, 2)],
                   help="true-predicted classes to count (default: the groups seen in docs/benchmarks.md)")
    p.add_argument("--data-dir", default="../shared/data")
    args = p.parse_args()
    torch.set_num_threads(1)  # beside running pilots
    for run in args.runs:
        cfg, state = load_run(run, [f"data.data_dir={args.data_dir}", "data.download=false"])
        data = load_dataset(cfg.data)
        split = make_split(cfg, data)
        _, D = restore_models(cfg, state, torch.device("cpu"))
        for name, idx in (("val", split.val), ("pool", split.unlabelled)):
            if not len(idx):  # a run without a validation split (data.val_per_class 0)
                continue
            pred = predict_probs(D, torch.from_numpy(data.x_train[idx]), 1000).numpy().argmax(1)
            y = data.y_train[idx]
            wrong = pred != y
            counts = ", ".join(f"{a}->{b} {int(((y == a) & (pred == b)).sum())}" for a, b in args.pairs)
            top = Counter(zip(y[wrong].tolist(), pred[wrong].tolist())).most_common(3)
            print(f"{run} epoch {state['epoch']} {name}: acc {100 * (1 - wrong.mean()):.2f} %; {counts}; top {top}")


if __name__ == "__main__":
    main()
