"""Counts of chosen (true -> read) pairs of a run's EMA D on its validation images and unlabelled pool (no test)."""
import sys
import torch
from ganlearn.data import load_dataset
from ganlearn.evaluate import load_run, restore_models
from ganlearn.monitor import predict_probs
from ganlearn.trainer import make_split
torch.set_num_threads(1)
PAIRS = [(9, 3), (7, 9), (7, 2), (4, 9), (9, 4), (1, 2)]
for run in sys.argv[1:]:
    cfg, state = load_run(run, ["data.data_dir=../shared/data", "data.download=false"])
    data = load_dataset(cfg.data)
    split = make_split(cfg, data)
    _, D = restore_models(cfg, state, torch.device("cpu"))
    for name, idx in (("val", split.val), ("pool", split.unlabelled)):
        if not len(idx):  # a run without a validation split (data.val_per_class 0)
            continue
        pred = predict_probs(D, torch.from_numpy(data.x_train[idx]), 1000).numpy().argmax(1)
        y = data.y_train[idx]
        counts = ", ".join(f"{a}->{b} {int(((y == a) & (pred == b)).sum())}" for a, b in PAIRS)
        print(f"{run} epoch {state['epoch']} {name}: acc {100 * (pred == y).mean():.2f} %; {counts}")
