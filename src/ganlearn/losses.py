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

from .metrics import IGNORE


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


def encode_label_maps(
    label_maps: torch.Tensor, probs: torch.Tensor, tau: float = 0.9, ignore: int = IGNORE
) -> torch.Tensor:
    """Ground-truth label maps (B, H, W) as the adversary's (B, K, H, W) input (Luc et al. 2016, 'scaling').

    One-hot maps are told from softmax outputs by their hard 0/1 values alone. So the true class l of
    pixel i gets a_il = max(tau, s_il) and the other classes share 1 - a_il in the proportions of the
    prediction s = `probs`; tau = 1 gives one-hot. Ignored pixels copy the prediction, so they carry no signal.
    """
    valid = label_maps != ignore
    target = torch.where(valid, label_maps, 0).long()
    onehot = F.one_hot(target, probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)  # (B, K, H, W)
    s_true = (probs * onehot).sum(1, keepdim=True)  # (B, 1, H, W)
    a_true = s_true.clamp(min=tau)
    rest = probs * (1 - a_true) / (1 - s_true).clamp(min=1e-6)  # the others, rescaled to sum to 1 - a_true
    encoded = onehot * a_true + (1 - onehot) * rest
    return torch.where(valid[:, None], encoded, probs)
