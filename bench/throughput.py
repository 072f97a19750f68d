"""Benchmark: training throughput of the improved-gan MNIST pair, and achieved against peak GFLOP/s.

    python bench/throughput.py --data-dir ../shared/data --precisions fp32 bf16   # --device cuda on a GPU

For each precision, times one epoch's worth of training iterations (600 at the reference batch of
100: one D step on 100 labelled + 100 unlabelled + 100 generated images, one G step) after a
warm-up, and prints images per second and seconds per 1000 unlabelled images. With `--port`, the
public PyTorch port of the reference code (Sleepychord/ImprovedGAN-pytorch at 8aca302, a folder or
a git directory) is timed in the same run, before and after ganlearn's steps, by
`--port-script` (../shared/tools/port_throughput.py), and the speed-up is printed as the range
over those two timings: a ratio measured side by side, never against a stored constant. The
matrix-multiply FLOPs of one iteration are counted with torch's FlopCounterMode;
the same script measures what torch.mm reaches at the step's largest layer shape and at 2048^3,
in fp32 and bf16, so the step's GFLOP/s can be read against the machine's matmul peak (the better of
the two). `--profile N` profiles 50 more iterations per precision and prints the N operators that
take the most time, and the share of the step spent in matrix products (mm, addmm, convolutions).
`--channels-last` times a convolutional config (`--config mnist_dcgan`) with its networks and
images in channels-last memory format. `--cuda-graphs` (with `--device cuda`) replays each
iteration's steps as one CUDA graph (`train.cuda_graphs`).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.profiler import profile
from torch.utils.flop_counter import FlopCounterMode

from ganlearn import config
from ganlearn.data import load_dataset
from ganlearn.hardware import cpu_name, resolve_device
from ganlearn.train import build
from ganlearn.train.loop import train_iteration
from ganlearn.train.schedule import epoch_orders

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
PRODUCTS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::mkldnn_convolution", "aten::convolution_backward")


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that wall-clock timings cover it (a no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(m: int, k: int, n: int, dtype: torch.dtype, device: torch.device, seconds: float = 1.0) -> float:
    """Best-of-runs GFLOP/s of torch.mm for (m, k) @ (k, n) in `dtype` on `device`."""
    a, b = torch.randn(m, k, device=device).to(dtype), torch.randn(k, n, device=device).to(dtype)
    a @ b
    sync(device)
    best, start = float("inf"), time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * m * k * n / best / 1e9


def step_throughput(config_name: str, cfg_overrides: list[str], data, args) -> dict:
    cfg, _ = config.load(config_name, cfg_overrides)
    t = build(cfg, data)
    if args.channels_last:
        for net in (t.G, t.D, t.D_ema):
            net.to(memory_format=torch.channels_last)
        t.x_train = t.x_train.contiguous(memory_format=torch.channels_last)
    orders = epoch_orders(t, 0)
    with FlopCounterMode(display=False) as counter:
        train_iteration(t, orders, 0)
    for i in range(1, args.warmup + 1):
        train_iteration(t, orders, i)
    sync(t.device)
    start = time.perf_counter()
    for i in range(args.iters):
        train_iteration(t, orders, i % t.iters_per_epoch)
    sync(t.device)
    seconds = time.perf_counter() - start
    images = args.iters * cfg.train.batch_size  # unlabelled images (the port's unit)
    flops = counter.get_total_flops()
    result = {
        "iterations": args.iters,
        "seconds": seconds,
        "images_per_second": images / seconds,
        "seconds_per_1000_images": 1000 * seconds / images,
        "gflop_per_iteration": flops / 1e9,
        "gflops": flops * args.iters / seconds / 1e9,
    }
    return result | (profile_step(t, orders, args.profile) if args.profile else {})


def profile_step(t, orders, top: int, iters: int = 50) -> dict:
    """The `top` operators by own time over `iters` iterations (ms per iteration), and the share of
    all operator time spent in matrix products."""
    with profile() as prof:
        for i in range(iters):
            train_iteration(t, orders, i)
        sync(t.device)
    ops = sorted(prof.key_averages(), key=lambda e: e.self_device_time_total + e.self_cpu_time_total, reverse=True)
    ms = {e.key: (e.self_device_time_total + e.self_cpu_time_total) / 1000 / iters for e in ops}
    return {
        "profile_ms_per_iteration": dict(list(ms.items())[:top]),
        "matrix_product_share": sum(ms.get(k, 0.0) for k in PRODUCTS) / sum(ms.values()),
    }


def port_seconds_per_1000(script: str, port: str, data_dir: str, threads: int) -> float:
    """The reference port's seconds per 1000 unlabelled images, timed now by its script."""
    command = [sys.executable, script, port, f"{data_dir}/mnist", "--threads", str(threads), "--json"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:  # a wrong path or a port that does not run: say so in one line
        sys.exit(f"the reference port could not be timed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds_per_1000_images"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument(
        "--config",
        default="mnist_ssl",
        help="an MNIST config of the MLP pair (mnist_ssl_full adds its random shifts to the step)",
    )
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=list(DTYPES))
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--iters", type=int, default=600, help="timed iterations (600 = one epoch at batch 100)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (the matmul peak is measured there too)")
    p.add_argument("--port", help="the reference port's source (a folder or a git directory) to time beside ours")
    p.add_argument("--port-script", default="../shared/tools/port_throughput.py")
    p.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest operators per precision")
    p.add_argument("--channels-last", action="store_true", help="networks and images in channels-last format")
    p.add_argument("--cuda-graphs", action="store_true", help="train.cuda_graphs=true (a GPU only)")
    p.add_argument("--out", default="bench/results/throughput.json")
    args = p.parse_args()

    base = [
        f"data.data_dir={args.data_dir}",
        "data.download=false",
        "train.progress=false",
        f"train.batch_size={args.batch_size}",
        "train.seed=1",
        f"train.device={args.device}",
        f"train.cuda_graphs={str(args.cuda_graphs).lower()}",
    ]
    data = load_dataset(config.load(args.config, base)[0].data)
    n = 3 * args.batch_size  # the D step's concatenated batch
    device = resolve_device(args.device)
    peaks = {
        name: {
            "step_layer": matmul_gflops(n, 784, 1000, dtype, device),
            "square_2048": matmul_gflops(2048, 2048, 2048, dtype, device),
        }
        for name, dtype in DTYPES.items()
    }
    threads = torch.get_num_threads()
    port = [port_seconds_per_1000(args.port_script, args.port, args.data_dir, threads)] if args.port else []
    steps = {
        name: step_throughput(args.config, base + [f"train.precision={name}"], data, args) for name in args.precisions
    }
    if args.port:  # the port again: machines drift, and the ratio's range shows by how much
        port.append(port_seconds_per_1000(args.port_script, args.port, args.data_dir, threads))

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {where}")
    print(
        "matmul peak GFLOP/s: "
        + ", ".join(
            f"{k} {v['step_layer']:.0f} ({n}x784x1000) / {v['square_2048']:.0f} (2048^3)" for k, v in peaks.items()
        )
    )
    print(
        f"{'precision':<9} {'img/s':>7} {'s/1000 img':>10} {'s/epoch':>8} {'vs port':>10} {'GFLOP/it':>8} "
        f"{'GFLOP/s':>8} {'% of mm peak':>12}"
    )
    if port:
        print(f"reference port: {min(port):.3f}-{max(port):.3f} s per 1000 images (before and after)")
    for name, r in steps.items():
        speedup = sorted(seconds / r["seconds_per_1000_images"] for seconds in port)
        r["speedup_vs_port"] = speedup
        r["fraction_of_matmul_peak"] = r["gflops"] / max(peaks[name].values())
        ratio = f"{speedup[0]:4.1f}-{speedup[-1]:3.1f}x" if speedup else "not timed"
        print(
            f"{name:<9} {r['images_per_second']:7.0f} {r['seconds_per_1000_images']:10.3f} "
            f"{60 * r['seconds_per_1000_images']:8.1f} {ratio:>10} "
            f"{r['gflop_per_iteration']:8.2f} {r['gflops']:8.0f} {100 * r['fraction_of_matmul_peak']:11.0f}%"
        )
    for name, r in steps.items():
        if "profile_ms_per_iteration" in r:
            print(
                f"\n{name}: matrix products {100 * r['matrix_product_share']:.0f}% of operator time; ms per iteration:"
            )
            print("\n".join(f"  {ms:7.2f}  {op}" for op, ms in r["profile_ms_per_iteration"].items()))
    result = {
        "command": " ".join(["python"] + sys.argv),
        "config": args.config,
        "channels_last": args.channels_last,
        "cuda_graphs": args.cuda_graphs,
        "threads": torch.get_num_threads(),
        "device": where,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "matmul_peak_gflops": peaks,
        "port_seconds_per_1000_images": port,
        "steps": steps,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
