"""Anomaly detection from what a GAN learned (`ganlearn anomaly`): D's -log p(real | x), f-AnoGAN's
reconstruction score (ClusterGAN runs), and k-NN distances to normal images in D features, pixels and
PCA of pixels; AUROC against the held-out classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from ..data import load_dataset
from ..errors import ConfigError, GanlearnError
from ..evaluation.plots import plot_score_histograms
from ..losses import real_logit
from ..models.outputs import d_features, predict_logits
from .representations import input_images, load_gan_run, pick_split, pixel_baselines, write_csv


@torch.no_grad()
def d_anomaly_scores(D: torch.nn.Module, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """-log p(real | x) under D (softplus(-lse(logits))): high for images unlike the training data."""
    logits = predict_logits(D, torch.as_tensor(x).to(next(D.parameters()).device), batch_size).float().cpu()
    return torch.nn.functional.softplus(-real_logit(logits)).numpy()


@torch.no_grad()
def reconstruction_scores(G, D, x: np.ndarray, kappa: float = 1.0, batch_size: int = 1000) -> np.ndarray:
    """f-AnoGAN's score (Schlegl et al. 2019): x's image residual to G(E(x)), its re-generation from the
    encoder's latent, plus kappa times their D-feature residual (mean squares each): high for images
    the GAN cannot reproduce."""
    G.eval(), D.eval()
    device = next(D.parameters()).device
    scores = []
    for i in range(0, len(x), batch_size):
        xb = torch.as_tensor(x[i : i + batch_size]).to(device)  # (B, C, H, W)
        x_hat = G(G.latent_of(xb)).float()
        residual = (xb - x_hat).square().flatten(1).mean(1)
        feature_residual = (D.features(xb).float() - D.features(x_hat).float()).square().mean(1)
        scores.append((residual + kappa * feature_residual).cpu())
    return torch.cat(scores).numpy()


def _unit_rows(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def knn_anomaly_scores(normal: np.ndarray, x: np.ndarray | None, k: int = 5, metric: str = "euclidean") -> np.ndarray:
    """Mean distance from each row of x to its k nearest rows of `normal` (x None: from each row of
    `normal` to its k nearest others). metric "cosine" compares directions only (rows scaled to unit
    length first): the scale of a feature vector, which varies with stroke thickness and contrast,
    then does not count as distance."""
    if metric not in ("euclidean", "cosine"):
        raise ConfigError(f"unknown k-NN metric '{metric}'; choose euclidean or cosine")
    need = k + 1 if x is None else k  # each normal image's neighbours are the others
    if len(normal) < need:
        raise ConfigError(f"k-NN scores with k = {k} need at least {need} normal images, got {len(normal)}")
    if metric == "cosine":
        normal, x = _unit_rows(normal), None if x is None else _unit_rows(x)
    return NearestNeighbors(n_neighbors=k).fit(normal).kneighbors(x)[0].mean(1)


def knn_standardise(normal: np.ndarray, scores: np.ndarray, k: int = 5, metric: str = "euclidean") -> np.ndarray:
    """(scores - mean) / std of the normal images' own k-NN distances (each against the others), for
    `scores` from `knn_anomaly_scores(normal, x, k, metric)`: on one scale whatever the representation,
    so that scores in several can be summed."""
    own = knn_anomaly_scores(normal, None, k, metric)
    return (scores - own.mean()) / max(own.std(), 1e-12)


def auroc(is_anomaly: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of `scores` for telling anomalies (True) from normal examples."""
    is_anomaly = np.asarray(is_anomaly, dtype=bool)
    if is_anomaly.all() or not is_anomaly.any():
        raise ConfigError("AUROC needs both normal and anomalous examples")
    return float(roc_auc_score(is_anomaly, scores))


def _anomaly_scores(G, D, normal: np.ndarray, x: np.ndarray, k: int, seed: int) -> dict:
    """name -> (N,) anomaly scores of images x against `normal` images: f-AnoGAN's reconstruction score
    (ClusterGAN runs), D's -log p(real | x), and k-NN distance (Euclidean, cosine) to the normal
    images in D features, pixels and PCA of pixels (fitted on the normal images), and the sum of the
    standardised cosine distances in D features and in pixels."""
    scores = {"GAN reconstruction": reconstruction_scores(G, D, x)} if hasattr(G, "encode") else {}
    scores["D output"] = d_anomaly_scores(D, x)
    baselines = pixel_baselines(normal, seed=seed)
    normal_reps = {"D features": d_features(D, normal), **baselines(normal)}
    test_reps = {"D features": d_features(D, x), **baselines(x)}
    for metric, label in (("euclidean", ""), ("cosine", " cosine")):
        scores |= {
            f"{k}-NN{label}, {name}": knn_anomaly_scores(normal_reps[name], test_reps[name], k, metric)
            for name in test_reps
        }
    # D features and pixels miss different anomalies; their standardised cosine distances add up
    scores[f"{k}-NN cosine, D features + pixels"] = sum(
        knn_standardise(normal_reps[name], scores[f"{k}-NN cosine, {name}"], k, "cosine")
        for name in ("D features", "pixels")
    )
    return scores


def anomaly_run(run_dir, k: int = 5, n_normal: int = 10_000, overrides=()) -> dict:
    """AUROC of anomaly scores (`_anomaly_scores`) for the test images of the classes the run was
    trained without, the normal ones being those of the classes it was trained on."""
    cfg, _, G, D = load_gan_run(run_dir, overrides, "anomaly")
    data = load_dataset(cfg.data)
    held_out = cfg.data.exclude_classes
    if not held_out:
        raise GanlearnError(
            f"{run_dir} was trained on every class; for anomaly detection train on normal "
            f"data only, e.g. --set data.exclude_classes=[3]"
        )
    normal, _ = pick_split(data, "train", n_normal, cfg.train.seed)
    x, y = data.x_test, data.y_test
    is_anomaly = np.isin(y, held_out)
    scores = _anomaly_scores(G, D, normal, x, k, cfg.train.seed)
    report = {
        "run": str(run_dir),
        "held_out": held_out,
        "n_test": len(x),
        "n_anomalies": int(is_anomaly.sum()),
        "auroc": {name: auroc(is_anomaly, s) for name, s in scores.items()},
        "histogram_png": str(Path(run_dir) / "anomaly_scores.png"),
    }
    plot_score_histograms(
        {name: (s[~is_anomaly], s[is_anomaly]) for name, s in scores.items()}, report["histogram_png"]
    )
    (Path(run_dir) / "anomaly.json").write_text(json.dumps(report, indent=1))
    return report


def anomaly_inputs(run_dir, inputs, out, k: int = 5, n_normal: int = 10_000, overrides=(), **reading) -> Path:
    """Score new images against the run's training images (its normal data), as a CSV of file and
    one column per score of `_anomaly_scores`; higher is more anomalous in every column. `reading`:
    input_images' skip_bad, max_pixels."""
    cfg, state, G, D = load_gan_run(run_dir, overrides, "anomaly")
    x, names = input_images(cfg, state, inputs, out, **reading)
    normal, _ = pick_split(load_dataset(cfg.data), "train", n_normal, cfg.train.seed)
    scores = _anomaly_scores(G, D, normal, x, k, cfg.train.seed)
    return write_csv(Path(out), ["file", *scores], names, list(scores.values()))
