"""Benchmark: training samples per second with 1 and with N processes (torchrun, DDP).

    python bench/scaling.py --data-dir ../shared/data --procs 1 2

Trains `mnist_ssl` (batch 100, the improved-gan MLP pair) for 2 epochs of `--iters` iterations in a
fresh run folder per process count, and reads the second epoch's time from metrics.jsonl (the
first includes start-up). The CPU's threads are divided between the processes (OMP_NUM_THREADS =
cores / N). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def measure(nproc: int, args) -> dict:
    threads = max(1, args.cores // nproc)
    out = Path(tempfile.mkdtemp(prefix=f"scaling{nproc}-"))
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    cmd = [
        *launcher,
        "-m",
        "ganlearn.cli",
        "train",
        "-c",
        "mnist_ssl",
        "--data-dir",
        args.data_dir,
        "--no-progress",
        "--out-dir",
        str(out),
        "--set",
        "train.batch_size=100",
        "--set",
        "train.epochs=2",
        "--set",
        f"train.iters_per_epoch={args.iters}",
        "--set",
        "train.score_samples=0",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if result.returncode:
        sys.exit(result.stderr[-2000:])
    record = json.loads((next(out.iterdir()) / "metrics.jsonl").read_text().splitlines()[-1])
    samples = args.iters * 100
    return {
        "processes": nproc,
        "threads_each": threads,
        "epoch_seconds": record["epoch_seconds"],
        "samples_per_s": samples / record["epoch_seconds"],
        "test_acc": record["test_acc"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--iters", type=int, default=200, help="iterations (of 100 unlabelled images) per epoch")
    p.add_argument("--cores", type=int, default=os.cpu_count())
    p.add_argument("--out", default="bench/results/scaling.json")
    args = p.parse_args()
    rows = [measure(n, args) for n in args.procs]
    print(f"{'processes':>9} {'threads each':>12} {'s/epoch':>8} {'samples/s':>10} {'speed-up':>8}")
    for r in rows:
        print(
            f"{r['processes']:>9} {r['threads_each']:>12} {r['epoch_seconds']:8.1f} {r['samples_per_s']:10.0f} "
            f"{r['samples_per_s'] / rows[0]['samples_per_s']:8.2f}"
        )
    Path(args.out).write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
