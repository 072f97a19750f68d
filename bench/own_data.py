"""Benchmark: MNIST as a user's own files, end to end through the command line.

    python bench/own_data.py --data-dir ../shared/data --work /tmp/mnist_png --out bench/results/own_data.json

Writes MNIST as PNG files: the 100 labelled images of the built-in `mnist_ssl` split (seed 1) in
class folders, the other 59 900 training images in one unlabelled folder, the 10 000 test images in
class folders. Then times the first load of the 70 000 files (decoded on every core) and the cached
one, trains `mnist_ssl` on the folders through `ganlearn train`, and times `ganlearn predict` over the
10 000 test files. The accuracy is to be read beside `mnist_ssl` on the built-in loader (docs/results.md).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ganlearn import config
from ganlearn.cli import main as cli
from ganlearn.data import load_dataset, load_mnist
from ganlearn.modes import MODES


def write_pngs(work: Path, data_dir: str) -> list[str]:
    """The folders, and the config overrides that read them."""
    mnist = load_mnist("mnist", data_dir, download=False)
    cfg, _ = config.load("mnist_ssl", ["train.seed=1"])
    labelled = set(MODES["ssl"].split(cfg, mnist).labelled.tolist())
    if not (work / "done").exists():
        for i, (image, label) in enumerate(zip(mnist.x_train, mnist.y_train)):
            folder = work / "labelled" / str(label) if i in labelled else work / "unlabelled" / str(i // 1000)
            save(image, folder / f"{i:05d}.png")
        for i, (image, label) in enumerate(zip(mnist.x_test, mnist.y_test)):
            save(image, work / "test" / str(label) / f"{i:05d}.png")
        (work / "done").touch()
    return [
        "data.dataset=folder",
        f"data.path={work / 'labelled'}",
        f"data.unlabelled_path={work / 'unlabelled'}",
        f"data.test_path={work / 'test'}",
        "data.labels_per_class=null",
    ]


def save(image: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((image[0] * 255).round().astype(np.uint8)).save(path)


def timed(fn) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--work", default="/tmp/mnist_png", help="where the PNG files and the run go")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--out", default="bench/results/own_data.json")
    args = p.parse_args()
    work = Path(args.work)
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # the decoded-image cache, timed from empty
    overrides = write_pngs(work, args.data_dir)
    cfg, _ = config.load("mnist_ssl", overrides)
    for cache in (work / "cache").glob("ganlearn/images/*"):
        cache.unlink()  # the first load decodes
    data, first = timed(lambda: load_dataset(cfg.data))
    _, cached = timed(lambda: load_dataset(cfg.data))
    print(f"70 000 PNG files: first load {first:.1f} s, cached {cached:.1f} s", flush=True)
    run_dir = work / "runs"
    sets = [x for o in overrides for x in ("--set", o)]
    args_train = ["train", "-c", "mnist_ssl", "--no-progress", "--epochs", str(args.epochs), "--out-dir", str(run_dir)]
    assert cli([*args_train, *sets]) == 0
    run = sorted(run_dir.iterdir())[-1]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    _, predict_seconds = timed(lambda: cli(["predict", str(run), str(work / "test"), "--out", str(work / "p.csv")]))
    result = {
        "command": f"python bench/own_data.py --data-dir {args.data_dir} --epochs {args.epochs}",
        "files": len(data.y_train) + len(data.y_test),
        "first_load_seconds": first,
        "cached_load_seconds": cached,
        "test_acc_per_epoch": [r["test_acc"] for r in records],
        "training_seconds": records[-1]["elapsed"],
        "predict_seconds_10000": predict_seconds,
        "predict_images_per_second": 10000 / predict_seconds,
    }
    print(json.dumps(result, indent=1))
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
