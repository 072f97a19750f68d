"""What is measured and pictured after each epoch, as the run's mode declares (modes.py): test and
validation accuracy or mean IoU, the FID-style score of samples, self-training's pseudo-labels, the
sample grid or overlay picture, and the one-line summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..evaluation.domain_scores import available as domain_classifiers
from ..evaluation.domain_scores import load_domain_classifier, reference_stats, score_images
from ..evaluation.metrics import accuracy, segmentation_scores
from ..evaluation.plots import overlays
from ..models.outputs import generate, picture, predict_label_maps, predict_logits
from ..modes import MODES

if TYPE_CHECKING:
    from .state import Training

N_SAMPLES = 100  # images in each sample grid
N_OVERLAYS = 16  # test examples in each overlay picture (mode seg)


def accuracy_of(t: Training, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Accuracy of the EMA discriminator on a non-empty set."""
    x = torch.as_tensor(x).to(t.device)
    pred = predict_logits(t.D_ema, x, t.cfg.train.eval_batch_size).argmax(1).cpu().numpy()
    return accuracy(torch.as_tensor(y).cpu().numpy(), pred)


def epoch_pictures(t: Training) -> np.ndarray | None:
    """The picture logged after each epoch: generator output for the run's fixed noise (N_SAMPLES, C, H, W);
    in mode seg test images beside their true and predicted label maps (N_OVERLAYS, 3, H, 3W)."""
    mode = MODES[t.cfg.train.mode]
    if mode.kind == "segmentation":
        x, y = t.data.x_test[:N_OVERLAYS], t.data.y_test[:N_OVERLAYS]
        pictures = overlays(x, y, predict_label_maps(t.G, torch.from_numpy(x).to(t.device), N_OVERLAYS))
    elif mode.generates:
        pictures = picture(t.G, N_SAMPLES, seed=t.cfg.train.seed)
    else:
        return None
    t.G.train()  # both left G in evaluation mode
    return pictures


def sample_fid(t: Training) -> float:
    """FID-style score of `train.score_samples` generated images against the test set (evaluation/domain_scores.py)."""
    if t.scorer is None:
        net, _ = load_domain_classifier(t.data.name)
        t.scorer = net, reference_stats(net, t.data.x_test)
    net, reference = t.scorer
    images = generate(t.G, t.cfg.train.score_samples, seed=t.cfg.train.seed)
    t.G.train()
    return score_images(net, images, reference)["fid"]


def evaluate_epoch(t: Training) -> dict:
    """The epoch's metrics: mean IoU (segmenters), accuracy (classifiers), pseudo-labels, the FID-style score."""
    record, mode = {}, MODES[t.cfg.train.mode]
    if mode.kind == "segmentation":  # the segmenter (G) on the test images, and on validation images
        val = t.split.val
        for name, x, y in (("test", t.data.x_test, t.data.y_test), ("val", t.data.x_train[val], t.data.y_train[val])):
            if len(x):
                pred = predict_label_maps(t.G, torch.from_numpy(x).to(t.device), t.cfg.train.eval_batch_size)
                scores = segmentation_scores(y, pred, t.data.classes)
                record |= {f"{name}_pixel_acc": scores["pixel_acc"], f"{name}_miou": scores["miou"]}
    if mode.classifies and len(t.data.x_test):
        record["test_acc"] = accuracy_of(t, t.data.x_test, t.data.y_test)
    if mode.classifies and len(t.split.val):
        val = torch.from_numpy(t.split.val).to(t.device)
        record["val_acc"] = accuracy_of(t, t.x_train[val], t.y_train[val])
    if len(t.pseudo_idx):  # how many pseudo-labels, and how many right (a diagnostic: never used to train)
        record["pseudo_labels"] = len(t.pseudo_idx)
        record["pseudo_label_acc"] = (t.pseudo_y == t.y_train[t.pseudo_idx]).float().mean().item()
    if mode.generates and t.cfg.train.score_samples and t.data.name in domain_classifiers():
        record["fid"] = sample_fid(t)
    return record


# the statistics on the epoch line
SHOWN_PREFIXES = ("loss", "d_")


def describe(record: dict, epochs: int) -> str:
    parts = [f"epoch {record['epoch']}/{epochs}"]
    for k, v in record.items():
        if k.endswith("_acc"):
            parts.append(f"{k} {100 * v:.2f}%")
        elif k.startswith(SHOWN_PREFIXES) or k in ("fid", "test_miou", "val_miou"):
            parts.append(f"{k} {v:.4f}")
    return "  ".join(parts + [f"{record['epoch_seconds']:.1f}s"])
