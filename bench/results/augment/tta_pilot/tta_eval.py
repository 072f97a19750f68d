"""Validation accuracy of a run's EMA D with and without test-time shifts (averaged softmax)."""
import sys

import torch
import torch.nn.functional as F
from ganlearn.evaluate import load_run, restore_models
from ganlearn.data import load_dataset
from ganlearn.monitor import predict_probs
from ganlearn.trainer import make_split

def shifted(x, dx, dy, s=2):  # integer shift, border pixels replicated (as random_affine's padding)
    h, w = x.shape[-2:]
    p = F.pad(x, (s, s, s, s), mode="replicate")
    return p[..., s - dy:s - dy + h, s - dx:s - dx + w]

cfg, state = load_run(sys.argv[1], ["data.data_dir=../shared/data", "data.download=false"])
data = load_dataset(cfg.data)
split = make_split(cfg, data)
_, D = restore_models(cfg, state, torch.device("cpu"))
sets = {"val": (torch.from_numpy(data.x_train[split.val]), data.y_train[split.val]),
        "test": (torch.from_numpy(data.x_test), data.y_test)}
views = {"none": [(0, 0)], "cross5": [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)],
         "grid9": [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)],
         "grid25": [(a, b) for a in range(-2, 3) for b in range(-2, 3)]}
which = sys.argv[2:] or ["val"]
for name in which:
    x, y = sets[name]
    for v, shifts in views.items():
        p = sum(predict_probs(D, shifted(x, dx, dy), 1000) for dx, dy in shifts) / len(shifts)
        print(f"{name} {v:7s} {100 * (p.argmax(1).numpy() == y).mean():.2f} % ({(p.argmax(1).numpy() != y).sum()} errors of {len(y)})", flush=True)
