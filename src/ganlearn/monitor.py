"""What is measured and pictured after each epoch: test accuracy or mean IoU, the FID-style score of
samples, self-training's pseudo-labels, the sample grid or overlay picture, the one-line summary."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from .domain import available as domain_classifiers
from .domain import load_domain_classifier
from .metrics import accuracy
from .scores import generate, reference_stats, score_images
from .segmentation import overlays, predict_label_maps, segmentation_scores
from .steps import steps_for

if TYPE_CHECKING:
    from .trainer import Training

N_SAMPLES = 100  # images in each sample grid
N_OVERLAYS = 16  # test examples in each overlay picture (mode seg)


@torch.no_grad()
def predict_logits(D: torch.nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(N, K) class logits of `D` in evaluation mode, for N >= 1 inputs."""
    D.eval()
    return torch.cat([D(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def predict_probs(D: torch.nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(N, K) fp32 class probabilities given that x is real: the softmax of predict_logits."""
    return predict_logits(D, x, batch_size).float().softmax(1)


def accuracy_of(t: Training, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Accuracy of the EMA discriminator on a non-empty set."""
    x = torch.as_tensor(x).to(t.device)
    pred = predict_logits(t.D_ema, x, t.cfg.train.eval_batch_size).argmax(1).cpu().numpy()
    return accuracy(torch.as_tensor(y).cpu().numpy(), pred)


def epoch_pictures(t: Training) -> np.ndarray | None:
    """The picture logged after each epoch: generator output for the run's fixed noise (N_SAMPLES, C, H, W);
    in mode seg test images beside their true and predicted label maps (N_OVERLAYS, 3, H, 3W)."""
    if t.cfg.train.mode == "seg":
        x, y = t.data.x_test[:N_OVERLAYS], t.data.y_test[:N_OVERLAYS]
        pictures = overlays(x, y, predict_label_maps(t.G, torch.from_numpy(x).to(t.device), N_OVERLAYS))
    elif steps_for(t.cfg.train)[1] is not None:
        pictures = generate(t.G, N_SAMPLES, seed=t.cfg.train.seed)
    else:
        return None
    t.G.train()  # both left G in evaluation mode
    return pictures


def select_pseudo_labels(t: Training) -> None:
    """Self-training: the unlabelled images that the EMA discriminator assigns to one class with
    probability >= train.pseudo_label_threshold become labelled examples (with that class) for the epoch."""
    idx = torch.from_numpy(t.split.unlabelled).to(t.device)
    probs = predict_probs(t.D_ema, t.x_train[idx], t.cfg.train.eval_batch_size)  # (N_unl, K)
    confidence, classes = probs.max(1)
    keep = confidence >= t.cfg.train.pseudo_label_threshold
    t.pseudo_idx, t.pseudo_y = idx[keep], classes[keep]


def sample_fid(t: Training) -> float:
    """FID-style score of `train.score_samples` generated images against the test set (scores.py)."""
    if t.scorer is None:
        net, _ = load_domain_classifier(t.data.name)
        t.scorer = net, reference_stats(net, t.data.x_test)
    net, reference = t.scorer
    images = generate(t.G, t.cfg.train.score_samples, seed=t.cfg.train.seed)
    t.G.train()
    return score_images(net, images, reference)["fid"]


def evaluate_epoch(t: Training) -> dict:
    record, mode = {}, t.cfg.train.mode
    if mode == "seg":  # the segmenter (G) on the test canvases
        pred = predict_label_maps(t.G, torch.from_numpy(t.data.x_test).to(t.device), t.cfg.train.eval_batch_size)
        scores = segmentation_scores(t.data.y_test, pred, t.data.classes)
        return {"test_pixel_acc": scores["pixel_acc"], "test_miou": scores["miou"]}
    if mode != "gan" and len(t.data.x_test):  # an unconditional D classifies nothing
        record["test_acc"] = accuracy_of(t, t.data.x_test, t.data.y_test)
    if mode != "gan" and len(t.split.val):
        val = torch.from_numpy(t.split.val).to(t.device)
        record["val_acc"] = accuracy_of(t, t.x_train[val], t.y_train[val])
    if len(t.pseudo_idx):  # how many pseudo-labels, and how many right (a diagnostic: never used to train)
        record["pseudo_labels"] = len(t.pseudo_idx)
        record["pseudo_label_acc"] = (t.pseudo_y == t.y_train[t.pseudo_idx]).float().mean().item()
    if mode != "supervised" and t.cfg.train.score_samples and t.data.name in domain_classifiers():
        record["fid"] = sample_fid(t)
    return record


# the statistics on the epoch line
SHOWN_PREFIXES = ("loss", "d_", "entropy", "manifold", "consistency", "low_density", "dense_")


def describe(record: dict, epochs: int) -> str:
    parts = [f"epoch {record['epoch']}/{epochs}"]
    for k, v in record.items():
        if k.endswith("_acc"):
            parts.append(f"{k} {100 * v:.2f}%")
        elif k.startswith(SHOWN_PREFIXES) or k in ("fid", "test_miou"):
            parts.append(f"{k} {v:.4f}")
    return "  ".join(parts + [f"{record['epoch_seconds']:.1f}s"])
