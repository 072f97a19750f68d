"""Diagnosis on the training pool (not test): where a run puts the sevens, and their pixel-space neighbours."""
import sys
from collections import Counter

import numpy as np
import torch
from ganlearn.data import load_dataset
from ganlearn.evaluate import load_run, restore_models
from ganlearn.monitor import predict_probs
from ganlearn.trainer import make_split

torch.set_num_threads(1)
cfg, state = load_run(sys.argv[1], ["data.data_dir=../shared/data", "data.download=false"])
data = load_dataset(cfg.data)
split = make_split(cfg, data)  # the run's own labelled split
_, D = restore_models(cfg, state, torch.device("cpu"))
p = predict_probs(D, torch.from_numpy(data.x_train), 1000).numpy()
pred, y = p.argmax(1), data.y_train
print("epoch", state.get("epoch"), "training-set acc (labelled images included)", (pred == y).mean())
print("commonest pool errors", Counter(zip(y[pred != y], pred[pred != y])).most_common(5))
x = data.x_train.reshape(len(y), -1).astype(np.float32)
wrong7 = np.flatnonzero((y == 7) & (pred != 7))
lab = split.labelled
d = ((x[wrong7, None, :] - x[None, lab, :]) ** 2).sum(-1)
print("misread sevens:", len(wrong7), "1-NN among the labelled (pixels):", Counter(y[lab][d.argmin(1)]).most_common(4))
# k-NN among all other training images, true labels (diagnosis only)
sub = wrong7[:300]
xs = torch.from_numpy(x[sub]); xa = torch.from_numpy(x)
dist = torch.cdist(xs, xa); dist[torch.arange(len(sub)), torch.from_numpy(sub)] = 1e9
nn = dist.topk(10, largest=False).indices.numpy()
print("10-NN true labels of misread sevens:", Counter(y[nn].ravel()).most_common(4))
print("10-NN model predictions of misread sevens' neighbours:", Counter(pred[nn].ravel()).most_common(4))
