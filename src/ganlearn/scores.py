"""Scores of generated images that need no download, from the shipped domain classifier (domain.py).

- fid: Fréchet distance between the classifier's penultimate features of the samples and of real
  images ("FID-style": the same formula as FID, but domain features instead of Inception's).
- inception_score: exp(E KL(p(y|x) || p(y))) of the classifier's class probabilities (at most K).
- coverage_kl: KL divergence of the predicted-class histogram to uniform; log K means one class only.
The score of real test images against real training images is the floor a perfect generator reaches.
"""

from __future__ import annotations

import numpy as np

from .domain import features_and_probs
from .metrics import class_coverage, feature_stats, frechet_distance, inception_score


def score_images(net, images: np.ndarray, reference: tuple[np.ndarray, np.ndarray]) -> dict:
    """Scores of images (N, 1, 28, 28) against the (mean, covariance) of real features."""
    feats, probs = features_and_probs(net, images)
    hist, kl = class_coverage(probs.argmax(1), probs.shape[1])
    return {
        "fid": frechet_distance(*feature_stats(feats), *reference),
        "inception_score": inception_score(probs),
        "coverage_kl": kl,
        "class_histogram": hist.round(4).tolist(),
    }


def reference_stats(net, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of the classifier features of real images."""
    return feature_stats(features_and_probs(net, images)[0])
