"""Benchmark: ensembles of semi-supervised discriminators trained on one labelled split.

    python bench/ssl_mnist.py ... --set data.split_seed=S --seeds 1 --save-probs DIR_S   # a member each
    python bench/ensemble.py --data-dir ../shared/data DIR_1 DIR_2 DIR_3 --out bench/results/ensemble.json
    (--first 3: only the members of training seeds 1-3, where a folder holds more)

Each DIR holds the final test probabilities (`ssl_seed<seed>.npy`) of runs on ONE labelled split
(data.split_seed fixed, training seeds differ), so an ensemble uses that split's labels and no more.
The ensemble predicts the class of highest mean probability (Salimans et al. 2016 ensemble 10 models on
CIFAR-10). Prints each member's and each ensemble's test accuracy and the mean ± std over splits.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ganlearn import config
from ganlearn.data import load_dataset
from ganlearn.metrics import accuracy, confusion_matrix
from ganlearn.plots import save_grid


def load_members(probs_dir: Path, first: int | None = None) -> dict[str, np.ndarray]:
    """{member name: its (N, K) test probabilities} for one split's folder (kept as float16 in results/),
    the `first` members by training seed if given."""
    files = sorted(probs_dir.glob("ssl_seed*.npy"), key=lambda f: int(f.stem.removeprefix("ssl_seed")))[:first]
    if not files:
        raise SystemExit(f"no ssl_seed*.npy in {probs_dir}")
    return {f.stem: np.load(f).astype(np.float32) for f in files}


def split_report(probs_dir: Path, members: dict[str, np.ndarray], y_test: np.ndarray) -> dict:
    probs = np.stack(list(members.values()))  # (M, N, K)
    accuracies = {name: accuracy(y_test, p.argmax(1)) for name, p in members.items()}
    ensemble = probs.mean(0).argmax(1)
    return {"dir": str(probs_dir), "members": accuracies, "member_mean": float(np.mean(list(accuracies.values()))),
            "ensemble": accuracy(y_test, ensemble),
            "commonest_error": [describe_error(y_test, p.argmax(1)) for p in [*probs, probs.mean(0)]]}


def commonest_error(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[int, int, int]:
    """(true class, predicted class, count) of the commonest error."""
    counts = confusion_matrix(y_true, y_pred, int(max(y_true.max(), y_pred.max())) + 1)
    np.fill_diagonal(counts, 0)
    true, pred = np.unravel_index(counts.argmax(), counts.shape)
    return int(true), int(pred), int(counts[true, pred])


def describe_error(y_true: np.ndarray, y_pred: np.ndarray) -> str:
    """The commonest error as 'true->predicted (count)': a member that gives a whole group of one
    digit to another class shows here."""
    return "{}->{} ({})".format(*commonest_error(y_true, y_pred))


def error_grid(members: list[np.ndarray], x_test: np.ndarray, y_test: np.ndarray, path: str, n: int = 24) -> None:
    """A PNG with one row per member's (N, K) probabilities: the first `n` test images of its commonest error."""
    rows = []
    for probs in members:
        pred = probs.argmax(1)
        true, wrong, _ = commonest_error(y_test, pred)
        picked = x_test[(y_test == true) & (pred == wrong)][:n]
        rows.append(np.concatenate([picked, np.ones((n - len(picked), *x_test.shape[1:]), x_test.dtype)]))
    save_grid(np.concatenate(rows), path, nrow=n)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dirs", nargs="+", type=Path, help="one folder of member probabilities per labelled split")
    p.add_argument("--config", default="mnist_ssl")
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--out", default="bench/results/ensemble.json")
    p.add_argument("--grid", metavar="PNG", help="also a picture of each member's commonest error")
    p.add_argument("--first", type=int, metavar="M", help="only the first M members of each split, by training seed")
    args = p.parse_args()
    cfg, _ = config.load(args.config, [f"data.data_dir={args.data_dir}", "data.download=false"])
    data = load_dataset(cfg.data)
    y_test = data.y_test
    members = {d: load_members(d, args.first) for d in args.dirs}
    splits = [split_report(d, members[d], y_test) for d in args.dirs]
    print(f"{'split':<32} {'members (test accuracy %)':<40} {'mean':>6} {'ensemble':>8}")
    for s in splits:
        accuracies = " ".join(f"{100 * a:.2f}" for a in s["members"].values())
        print(f"{s['dir']:<32} {accuracies:<40} {100 * s['member_mean']:6.2f} {100 * s['ensemble']:8.2f}")
        print(f"{'  commonest error':<32} {' '.join(s['commonest_error'][:-1]):<40} {'':6} {s['commonest_error'][-1]:>8}")
    summary = {}
    for key in ("member_mean", "ensemble"):
        errors = [100 * (1 - s[key]) for s in splits]
        summary[key] = {"error_mean": float(np.mean(errors)), "error_std": float(np.std(errors))}
        print(f"test error over {len(splits)} splits, {key}: {np.mean(errors):.2f} ± {np.std(errors):.2f} %")
    if args.grid:
        error_grid([p for split in members.values() for p in split.values()], data.x_test, y_test, args.grid)
        print(f"wrote {args.grid}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"splits": splits, "summary": summary}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
