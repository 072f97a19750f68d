"""Evaluation metrics on numpy arrays: accuracy and confusion, the Fréchet distance and Inception-Score
formulas, class coverage, and the segmentation scores (pixel accuracy, IoU)."""

from __future__ import annotations

import numpy as np

from ..data.arrays import IGNORE


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of predictions equal to the labels."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and covariance (F, F) of (N, F) features, in float64."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (the FID formula, Heusel et al. 2017):
    ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)).

    Tr (sigma1 sigma2)^(1/2) is computed as the sum of square roots of the eigenvalues of the
    symmetric matrix s1 sigma2 s1, s1 = sigma1^(1/2), which stays real and stable for singular inputs.
    """
    vals, vecs = np.linalg.eigh(sigma1)
    s1 = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    middle = np.linalg.eigvalsh(s1 @ sigma2 @ s1)
    trace_sqrt = np.sqrt(np.clip(middle, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def inception_score(probs: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))) from (N, K) class probabilities (Salimans et al. 2016): high when
    each sample is confidently one class and the classes are evenly used; at most K."""
    probs = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1)
    marginal = probs.mean(0)
    return float(np.exp((probs * (np.log(probs) - np.log(marginal))).sum(1).mean()))


def class_coverage(pred: np.ndarray, n_classes: int) -> tuple[np.ndarray, float]:
    """Fraction of samples predicted as each class, and its KL divergence to uniform (0: every class
    equally often; log K: a single class — mode collapse)."""
    hist = np.bincount(np.asarray(pred), minlength=n_classes) / max(len(pred), 1)
    nonzero = hist > 0
    return hist, float((hist[nonzero] * np.log(hist[nonzero] * n_classes)).sum())


def segmentation_confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, ignore: int = IGNORE) -> np.ndarray:
    """(K, K) pixel counts of label maps (row = true class), skipping pixels whose truth is `ignore`."""
    y_true, y_pred = np.asarray(y_true).ravel().astype(np.int64), np.asarray(y_pred).ravel().astype(np.int64)
    keep = y_true != ignore
    return np.bincount(y_true[keep] * n_classes + y_pred[keep], minlength=n_classes**2).reshape(n_classes, n_classes)


def iou_per_class(counts: np.ndarray) -> np.ndarray:
    """Intersection over union of each class from a (K, K) confusion matrix: TP / (TP + FP + FN);
    NaN for a class absent from both truth and prediction (left out of the mean IoU)."""
    tp = np.diag(counts).astype(np.float64)
    union = counts.sum(0) + counts.sum(1) - tp
    return np.divide(tp, union, out=np.full_like(tp, np.nan), where=union > 0)


def segmentation_scores(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict:
    """Pixel accuracy, mean IoU over the classes present (in truth or prediction), and per-class IoU."""
    counts = segmentation_confusion(y_true, y_pred, len(classes))
    iou = iou_per_class(counts)
    return {
        "pixel_acc": float(np.trace(counts) / max(counts.sum(), 1)),
        "miou": float(np.nanmean(iou)),
        "iou": {name: (None if np.isnan(v) else float(v)) for name, v in zip(classes, iou)},
    }
