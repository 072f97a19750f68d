"""Per-class errors of a run's EMA D on its validation images and on its unlabelled training pool (no test)."""
import sys
from collections import Counter
import torch
from ganlearn.data import load_dataset
from ganlearn.evaluate import load_run, restore_models
from ganlearn.monitor import predict_probs
from ganlearn.trainer import make_split
torch.set_num_threads(1)
for run in sys.argv[1:]:
    cfg, state = load_run(run, ["data.data_dir=../shared/data", "data.download=false"])
    data = load_dataset(cfg.data)
    split = make_split(cfg, data)
    _, D = restore_models(cfg, state, torch.device("cpu"))
    out = [f"{run} epoch {state['epoch']}"]
    for name, idx in (("val", split.val), ("pool", split.unlabelled)):
        pred = predict_probs(D, torch.from_numpy(data.x_train[idx]), 1000).numpy().argmax(1)
        y = data.y_train[idx]
        wrong = pred != y
        out.append(f"{name}: acc {100 * (1 - wrong.mean()):.2f} % sevens wrong {int((wrong & (y == 7)).sum())}/{int((y == 7).sum())} "
                   f"top errors {Counter(zip(y[wrong].tolist(), pred[wrong].tolist())).most_common(3)}")
    print("\n  ".join(out))
