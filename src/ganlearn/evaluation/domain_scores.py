"""Scores of generated images that need no download, from small domain classifiers for 28x28 data sets
shipped in the package.

FID on MNIST with ImageNet Inception features says little (and needs a download); the FID-style
score here uses the penultimate features of a CNN trained on the data set's own training split
by `scripts/train_domain_classifier.py`. Its weights (safetensors, so loading runs no code) and a
JSON record (data checksums, test accuracy, command) live in `ganlearn/weights/`. The scores:

- fid: Fréchet distance between the classifier's penultimate features of the samples and of real
  images ("FID-style": the same formula as FID, but domain features instead of Inception's).
- inception_score: exp(E KL(p(y|x) || p(y))) of the classifier's class probabilities (at most K).
- coverage_kl: KL divergence of the predicted-class histogram to uniform; log K means one class only.
The score of real test images against real training images is the floor a perfect generator reaches.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file

from ..errors import ConfigError
from .metrics import class_coverage, feature_stats, frechet_distance, inception_score

FEATURE_DIM = 128


class DomainClassifier(nn.Module):
    """(B, 1, 28, 28) in [0, 1] -> conv 32 -> pool -> conv 64 -> pool -> 128 features -> K logits."""

    def __init__(self, n_classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, FEATURE_DIM),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(FEATURE_DIM, n_classes)

    def features(self, x):  # (B, 1, 28, 28) -> (B, 128)
        return self.body(x)

    def head(self, h):  # (B, 128) -> (B, K)
        return self.classifier(h)

    def forward(self, x):
        return self.head(self.features(x))


def available() -> list[str]:
    """Data sets with a shipped classifier."""
    folder = resources.files("ganlearn") / "weights"
    return sorted(
        p.name.removesuffix("_classifier.safetensors")
        for p in folder.iterdir()
        if p.name.endswith("_classifier.safetensors")
    )


def load_domain_classifier(dataset: str) -> tuple[DomainClassifier, dict]:
    """The shipped classifier for `dataset` (eval mode, CPU) and its training record."""
    if dataset not in available():
        raise ConfigError(
            f"no domain classifier for '{dataset}'; the FID-style scores exist for "
            f"{', '.join(available()) or 'no data set'}"
        )
    folder = resources.files("ganlearn") / "weights"
    record = json.loads((folder / f"{dataset}_classifier.json").read_text())
    net = DomainClassifier(record["n_classes"])
    with resources.as_file(folder / f"{dataset}_classifier.safetensors") as path:
        net.load_state_dict(load_file(str(path)))
    return net.eval().requires_grad_(False), record


@torch.no_grad()
def features_and_probs(
    net: DomainClassifier, images: np.ndarray | torch.Tensor, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 128) penultimate features and (N, K) class probabilities of images (N, 1, 28, 28) in [0, 1]."""
    images = torch.as_tensor(images, dtype=torch.float32)
    if images.shape[1:] != (1, 28, 28):
        raise ConfigError(f"the domain classifiers take (N, 1, 28, 28) images, got {tuple(images.shape)}")
    feats, probs = [], []
    for i in range(0, len(images), batch_size):
        h = net.features(images[i : i + batch_size])
        feats.append(h)
        probs.append(net.head(h).softmax(1))
    return torch.cat(feats).double().numpy(), torch.cat(probs).double().numpy()


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
