"""Benchmark: a user's own pictures, end to end through the command line, as a user would train them.

    python bench/own_images.py --data-dir ../shared/data --datasets colour --splits 1 2 3 \
        --methods images_ssl supervised labelspreading --out bench/results/own_images.json

Data sets, written as picture folders (labelled class folders, an unlabelled folder, a test folder)
under --work:
- colour: MNIST digits blended into patches of scikit-learn's two photographs as MNIST-M does
  (Ganin & Lempitsky 2015: |photo patch - digit|, per channel), 28x28 RGB; 100 labels (10 a class),
  10 000 unlabelled, 2000 test (from MNIST's test digits).
- fashion100, fashion1000: Fashion-MNIST as grey PNGs; 100 or 1000 labels, every other training
  image unlabelled; the 10 000 test images.
Split s labels the images drawn with seed s, VAL_PER_CLASS more a class beside them held out for
validation (data.val_per_class: every choice is made on them; the test folder is only reported).

Methods (METHODS; each with images_ssl's network, views, optimizer and epochs):
- images_ssl: `ganlearn train -c images_ssl` on the folders, as shipped (FixMatch-style).
- kplus1_consistency, kplus1: the K+1 GAN (`--mode ssl`) with and without the same consistency term.
- supervised: the same D on the labels alone (`--mode supervised`).
- labelspreading: scikit-learn's LabelSpreading (k-NN kernel) on the pixels, for reference.
Each run's test accuracy and minutes go to the table and the JSON. The runs of --jobs > 1 run side
by side, one thread each: their minutes are then not timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ganlearn.data import load_mnist

# each with images_ssl's network, views, optimizer and schedule
METHODS = {
    "images_ssl": ["-c", "images_ssl"],  # as shipped: FixMatch-style self-training
    "kplus1_consistency": ["-c", "images_ssl", "--mode", "ssl"],  # the K+1 GAN with the same term
    "kplus1": ["-c", "images_ssl", "--mode", "ssl", "--set", "consistency.threshold=null"],  # the K+1 GAN alone
    "supervised": ["-c", "images_ssl", "--mode", "supervised", "--set", "consistency.threshold=null"],
}
SIZES = {"colour": (100, 10_000, 2000), "fashion100": (100, None, None), "fashion1000": (1000, None, None)}
VAL_PER_CLASS = 50  # labelled pictures a class written beside the training labels and held out to validate on


def blend_into_photos(digits: np.ndarray, seed: int) -> np.ndarray:
    """MNIST-M's construction: each (28, 28) digit in [0, 1] against a random 28x28 patch of one of
    scikit-learn's two photographs, |patch - digit| per channel: (N, 28, 28, 3) uint8."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images  # two (427, 640, 3) uint8 photographs
    rng = np.random.default_rng(seed)
    out = np.empty((len(digits), 28, 28, 3), np.uint8)
    for i, digit in enumerate(digits):
        photo = photos[rng.integers(len(photos))]
        y, x = rng.integers(0, photo.shape[0] - 28), rng.integers(0, photo.shape[1] - 28)
        patch = photo[y : y + 28, x : x + 28].astype(np.float32)
        out[i] = np.abs(patch - 255 * digit[..., None]).round().astype(np.uint8)
    return out


def pictures(name: str, data_dir: str) -> dict:
    """The data set's pictures as uint8 arrays (N, H, W[, 3]) and labels: train, test."""
    source = load_mnist("mnist" if name == "colour" else "fashion", data_dir, download=False)
    x_train, x_test = source.x_train[:, 0], source.x_test[:, 0]  # (N, 28, 28) in [0, 1]
    if name == "colour":
        train_pick = np.random.default_rng(0).permutation(len(x_train))[:60_000]
        test_pick = np.random.default_rng(1).permutation(len(x_test))[: SIZES[name][2]]
        return {
            "x_train": blend_into_photos(x_train[train_pick], seed=2),
            "y_train": source.y_train[train_pick],
            "x_test": blend_into_photos(x_test[test_pick], seed=3),
            "y_test": source.y_test[test_pick],
        }
    grey = {k: (v * 255).round().astype(np.uint8) for k, v in (("x_train", x_train), ("x_test", x_test))}
    return {**grey, "y_train": source.y_train, "y_test": source.y_test}


def write_folders(name: str, arrays: dict, split: int, root: Path) -> Path:
    """labelled/CLASS/i.png (the split's labels), unlabelled/i.png and test/CLASS/i.png under root/name/split_s."""
    n_labels, n_unlabelled, _ = SIZES[name]
    folder = root / name / f"split_{split}_val{VAL_PER_CLASS}"
    if (folder / "done").exists():
        return folder
    y, rng = arrays["y_train"], np.random.default_rng(split)
    per_class = n_labels // 10 + VAL_PER_CLASS
    labelled = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class] for c in range(10)])
    others = np.setdiff1d(np.arange(len(y)), labelled)
    unlabelled = others if n_unlabelled is None else np.random.default_rng(0).permutation(others)[:n_unlabelled]
    for i in labelled:
        save(arrays["x_train"][i], folder / "labelled" / str(y[i]) / f"{i}.png")
    for i in unlabelled:
        save(arrays["x_train"][i], folder / "unlabelled" / str(i // 1000) / f"{i}.png")
    for i, (image, label) in enumerate(zip(arrays["x_test"], arrays["y_test"])):
        save(image, folder / "test" / str(label) / f"{i}.png")
    np.savez(folder / "labelled.npz", labelled=labelled, unlabelled=unlabelled)
    (folder / "done").touch()
    return folder


def save(image: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def train(method: str, folder: Path, split: int, threads: int, extra: list[str]) -> subprocess.Popen:
    """`ganlearn train` on the folders, in the background; its run folder is folder/runs/METHOD."""
    sets = [f"data.path={folder / 'labelled'}", f"data.unlabelled_path={folder / 'unlabelled'}"]
    sets += [f"data.test_path={folder / 'test'}", f"data.val_per_class={VAL_PER_CLASS}"]
    sets += [f"train.seed={split}", "train.progress=false"]
    sets += [f"train.out_dir={folder / 'runs' / method}", *extra]
    command = [sys.executable, "-m", "ganlearn.cli", "train", *METHODS[method], *sum((["--set", s] for s in sets), [])]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "XDG_CACHE_HOME": str(folder.parent / "cache")}
    log = (folder / f"{method}.log").open("w")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def train_result(folder: Path, method: str, seconds: float) -> dict:
    """The run's last test accuracy and its per-class accuracy (`ganlearn evaluate`), and the curve of
    validation accuracy against training minutes."""
    run = sorted((folder / "runs" / method).iterdir())[-1]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    subprocess.run([sys.executable, "-m", "ganlearn.cli", "evaluate", str(run)], check=True, capture_output=True)
    confusion = np.array(json.loads((run / "evaluation.json").read_text())["confusion"])
    return {
        "test_acc": records[-1]["test_acc"],
        "per_class_test_acc": (confusion.diagonal() / confusion.sum(1)).round(4).tolist(),
        "val_acc_curve": [[round(r["elapsed"] / 60, 2), r["val_acc"]] for r in records],  # (minutes, accuracy)
        "test_acc_per_epoch": [r["test_acc"] for r in records],
        "train_minutes": records[-1]["elapsed"] / 60,
        "wall_minutes": seconds / 60,
        "run": str(run),
    }


def label_spreading(arrays: dict, folder: Path) -> dict:
    """scikit-learn's LabelSpreading (k-NN kernel, 10 neighbours) on the pixels of the training labels (the
    first of each class's labelled pictures; the validation ones are not used) and the unlabelled
    pictures; its test accuracy."""
    from sklearn.semi_supervised import LabelSpreading

    start = time.perf_counter()
    picked = np.load(folder / "labelled.npz")
    labelled = picked["labelled"].reshape(10, -1)[:, :-VAL_PER_CLASS].ravel()  # written class by class
    idx = np.concatenate([labelled, picked["unlabelled"]])
    x = arrays["x_train"][idx].reshape(len(idx), -1) / 255.0
    y = np.r_[arrays["y_train"][labelled], np.full(len(picked["unlabelled"]), -1)]
    model = LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100).fit(x, y)
    predicted = model.predict(arrays["x_test"].reshape(len(arrays["x_test"]), -1) / 255.0)
    return {
        "test_acc": float((predicted == arrays["y_test"]).mean()),
        "wall_minutes": (time.perf_counter() - start) / 60,
    }


def run_jobs(jobs: list[dict], side_by_side: int, extra: list[str]) -> list[dict]:
    """Train each job (dataset, split, method, folder), `side_by_side` at a time; their results."""
    results, running, threads = [], [], 1 if side_by_side > 1 else 2
    while jobs or running:
        while jobs and len(running) < side_by_side:
            job = jobs.pop(0)
            job["start"], job["process"] = (
                time.perf_counter(),
                train(job["method"], job["folder"], job["split"], threads, extra),
            )
            running.append(job)
        time.sleep(5)
        for job in [job for job in running if job["process"].poll() is not None]:
            running.remove(job)
            seconds, folder, method = time.perf_counter() - job["start"], job["folder"], job["method"]
            if job["process"].returncode != 0:
                print(f"{job['dataset']} split {job['split']} {method}: failed, see {folder / (method + '.log')}")
                continue
            results.append({k: job[k] for k in ("dataset", "split", "method")} | train_result(folder, method, seconds))
            print({k: v for k, v in results[-1].items() if k != "test_acc_per_epoch"}, flush=True)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--work", default="/tmp/own_images", help="where the picture folders and runs go")
    p.add_argument("--datasets", nargs="+", default=["colour"], choices=list(SIZES))
    p.add_argument("--splits", type=int, nargs="+", default=[1])
    p.add_argument("--methods", nargs="+", default=["images_ssl", "supervised", "labelspreading"])
    p.add_argument("--jobs", type=int, default=1, help="training runs side by side, one thread each")
    p.add_argument("--set", action="append", default=[], help="extra config overrides of the training runs")
    p.add_argument("--out", default="bench/results/own_images.json")
    args = p.parse_args()
    results, jobs = [], []
    for name in args.datasets:
        arrays = pictures(name, args.data_dir)
        for split in args.splits:
            folder = write_folders(name, arrays, split, Path(args.work))
            for method in args.methods:
                job = {"dataset": name, "split": split, "method": method}
                if method == "labelspreading":
                    results.append(job | label_spreading(arrays, folder))
                    print(results[-1], flush=True)
                else:
                    jobs.append(job | {"folder": folder})
    report(args, results + run_jobs(jobs, args.jobs, args.set))


def report(args, results: list[dict]) -> None:
    """The table (mean ± sample sd over splits) and the JSON."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"{'data set':<12} {'method':<16} {'test accuracy':>18} {'minutes':>8}  n")
    for name in args.datasets:
        for method in args.methods:
            rows = [r for r in results if r["dataset"] == name and r["method"] == method]
            if rows:
                acc = np.array([r["test_acc"] for r in rows]) * 100
                sd = f" ± {acc.std(ddof=1):.2f}" if len(acc) > 1 else ""
                minutes = np.mean([r["wall_minutes"] for r in rows])
                print(f"{name:<12} {method:<16} {acc.mean():>9.2f}{sd:<9} {minutes:>8.1f}  {len(rows)}")
    command = "python bench/own_images.py " + " ".join(sys.argv[1:])
    Path(args.out).write_text(json.dumps({"command": command, "commit": commit, "runs": results}, indent=1))


if __name__ == "__main__":
    main()
