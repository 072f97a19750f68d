"""Benchmark: which moving average of D to evaluate, compared on one training run.

    python bench/averaging.py --data-dir ../shared/data --decays 0.9995 0.9999 0.99997 --set data.split_seed=3 \
        --set train.seed=3 --set data.val_per_class=500 --out bench/results/averaging/split3.json

Trains `--config` (default mnist_ssl_full) once, exactly as `ganlearn train` does, and keeps, beside
the config's own EMA of D (`train.ema_decay`), one more EMA per `--decays`, each with the same
warm-up. Every `--eval-every` epochs it prints the validation accuracy of each average and of the
raw D. Since every average follows the same weights, the comparison is paired: it carries no
training-seed noise, only the validation set's. The test accuracy of each is measured once, at the
end, and written to the JSON for the record: choose on the validation column alone.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch

from ganlearn import config
from ganlearn.data import load_dataset
from ganlearn.iteration import ema_decay_at, ema_update, epoch_orders, train_iteration
from ganlearn.metrics import accuracy
from ganlearn.monitor import predict_logits
from ganlearn.trainer import build


def accuracies(nets: dict, x: torch.Tensor, y) -> dict[str, float]:
    """name -> accuracy (%) on (x, y) of each net in evaluation mode (the raw D is put back in train mode)."""
    out = {name: 100 * accuracy(y, predict_logits(net, x, 1000).argmax(1).numpy()) for name, net in nets.items()}
    nets["raw"].train()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="mnist_ssl_full")
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--decays", nargs="+", type=float, default=[0.9995, 0.9999, 0.99997])
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--set", action="append", default=[], help="config override, as for ganlearn train")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    overrides = [f"data.data_dir={args.data_dir}", "data.download=false", "train.progress=false"] + args.set
    overrides += [f"train.epochs={args.epochs}"] if args.epochs else []
    cfg, _ = config.load(args.config, overrides)
    data = load_dataset(cfg.data)
    t = build(cfg, data)
    if not len(t.split.val):
        raise SystemExit("error: set data.val_per_class: the averages are compared on validation images")
    extra = {d: copy.deepcopy(t.D_ema) for d in args.decays if d != cfg.train.ema_decay}
    nets = {f"ema {cfg.train.ema_decay:g}": t.D_ema} | {f"ema {d:g}": m for d, m in extra.items()} | {"raw": t.D}
    val = torch.from_numpy(t.split.val)
    x_val, y_val = t.x_train[val], t.y_train[val].numpy()
    curve, start = [], time.perf_counter()
    for epoch in range(cfg.train.epochs):
        orders = epoch_orders(t, epoch)
        for i in range(t.iters_per_epoch):
            train_iteration(t, orders, i)
            for decay, ema in extra.items():  # with the warm-up of train_iteration's own EMA
                ema_update(ema, t.D, ema_decay_at(decay, t.step))
            t.step += 1
        t.epoch = epoch + 1
        if t.epoch % args.eval_every == 0 or t.epoch == cfg.train.epochs:
            row = {"epoch": t.epoch, "minutes": (time.perf_counter() - start) / 60} | accuracies(nets, x_val, y_val)
            curve.append(row)
            print("  ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True)
    test = accuracies(nets, torch.from_numpy(data.x_test), data.y_test)
    print("test (for the record, not for choosing): " + "  ".join(f"{k} {v:.2f}" for k, v in test.items()))
    result = {"command_overrides": overrides, "config": args.config, "val_images": len(val),
              "val_curve": curve, "final_val": curve[-1], "final_test": test}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
