"""Losses as pure functions of logits and features.

The K+1 discriminator has K class logits l and a fake logit fixed at 0 (Salimans et al. 2016), so
with Z = sum_k exp(l_k):  p(real | x) = Z / (Z + 1) = sigmoid(lse(l)),  lse = logsumexp over K.
Its real/fake decision is therefore an ordinary GAN logit, `real_logit(l) = lse(l)`, and the
unlabelled K+1 loss is the usual GAN discriminator loss on that logit. Everything is written with
logsumexp and softplus: log sigmoid(x) = -softplus(-x), never log(sigmoid(x) + eps).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .data.arrays import IGNORE


def real_logit(logits: torch.Tensor) -> torch.Tensor:
    """(B, K) class logits -> (B,) logit of 'real' against the implicit fake class."""
    return logits.logsumexp(dim=1)  # with K = 1 this is the logit itself: a plain GAN


def supervised_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the K real classes; on labelled data the fake class has probability 0."""
    return F.cross_entropy(logits, labels)


def discriminator_loss(logit_real: torch.Tensor, logit_fake: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """-[t log D(x) + (1-t) log(1-D(x))] - log(1-D(G(z))), with D = sigmoid(logit) and target t = real_label.

    real_label < 1 is one-sided label smoothing (Salimans et al. 2016, section 3.4).
    """
    loss_real = real_label * F.softplus(-logit_real) + (1 - real_label) * F.softplus(logit_real)
    return loss_real.mean() + F.softplus(logit_fake).mean()


def kplus1_unlabelled_loss(
    logits_unl: torch.Tensor, logits_fake: torch.Tensor, real_label: float = 1.0
) -> torch.Tensor:
    """-E log p(real | x_unl) - E log p(fake | G(z)) for the K+1 discriminator (real_label < 1: smoothed)."""
    return discriminator_loss(real_logit(logits_unl), real_logit(logits_fake), real_label)


def generator_loss(logit_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: -E log D(G(z)) = E softplus(-logit)."""
    return F.softplus(-logit_fake).mean()


def feature_matching_loss(features_real: torch.Tensor, features_fake: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the batch-mean features of real and generated data (Salimans et al. 2016)."""
    return (features_real.mean(0) - features_fake.mean(0)).square().mean()


def latent_recovery_loss(
    category_logits: torch.Tensor, noise_hat: torch.Tensor, category: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """ClusterGAN's encoder loss on generated images: cross-entropy of the category plus squared error of the noise."""
    return F.cross_entropy(category_logits, category) + F.mse_loss(noise_hat, noise)


def segmentation_loss(logits: torch.Tensor, label_maps: torch.Tensor, ignore: int = IGNORE) -> torch.Tensor:
    """Per-pixel cross-entropy of (B, K, H, W) logits against (B, H, W) label maps, skipping `ignore` pixels."""
    return F.cross_entropy(logits, label_maps.long(), ignore_index=ignore)


def pixel_adversarial_loss(logit_map: torch.Tensor, truth: float, valid: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of (B, 1, H, W) per-pixel logits against `truth` (1: ground truth, 0: predicted),
    averaged over the (B, H, W) `valid` pixels (Hung et al. 2018)."""
    bce = F.binary_cross_entropy_with_logits(
        logit_map.squeeze(1), torch.full_like(valid, truth, dtype=logit_map.dtype), reduction="none"
    )
    return (bce * valid).sum() / valid.sum().clamp(min=1)


def confident_self_training_loss(
    logits: torch.Tensor, confidence_logit: torch.Tensor, threshold: float
) -> torch.Tensor:
    """Hung et al.'s semi-supervised term: cross-entropy of (B, K, H, W) logits against their own argmax,
    on the pixels whose (B, 1, H, W) adversary confidence sigmoid(c) exceeds `threshold`."""
    confident = confidence_logit.detach().squeeze(1).sigmoid() > threshold  # (B, H, W)
    ce = F.cross_entropy(logits, logits.argmax(1).detach(), reduction="none")
    return (ce * confident).sum() / confident.sum().clamp(min=1)


def pseudo_label_loss(logits_strong: torch.Tensor, logits_weak: torch.Tensor, threshold: float) -> torch.Tensor:
    """FixMatch's term (Sohn et al. 2020): cross-entropy of the strong views' (B, K) logits against the weak
    views' predicted class, on the images whose weak-view class probability is at least `threshold`."""
    confidence, pseudo = logits_weak.detach().softmax(1).max(1)  # (B,), (B,)
    return (F.cross_entropy(logits_strong, pseudo, reduction="none") * (confidence >= threshold)).mean()


def one_hot_maps(label_maps: torch.Tensor, n_classes: int, ignore: int = IGNORE) -> torch.Tensor:
    """(B, H, W) label maps -> (B, K, H, W) one-hot maps, the adversary's ground truth (ignored pixels all 0)."""
    valid = label_maps != ignore
    onehot = F.one_hot(torch.where(valid, label_maps, 0).long(), n_classes).permute(0, 3, 1, 2)
    return (onehot * valid[:, None]).float()
