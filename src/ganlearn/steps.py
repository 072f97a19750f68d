"""One function per training step: d_step / g_step(G, D, batch, cfg) -> (loss, dict of statistics),
`cfg` the run's Config.

modes.py says which steps each mode takes. A step computes the loss of one network (D for a
d_step, G for a g_step); `update` backpropagates it into that network alone and steps its optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .data.arrays import IGNORE
from .losses import (
    confident_self_training_loss,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
    kplus1_unlabelled_loss,
    latent_recovery_loss,
    one_hot_maps,
    pixel_adversarial_loss,
    pseudo_label_loss,
    real_logit,
    segmentation_loss,
    supervised_loss,
)
from .models.techniques import batch_dependent


@dataclass
class Batch:
    x_lab: torch.Tensor  # (B_lab, C, H, W) labelled images
    y_lab: torch.Tensor  # (B_lab,) their labels
    x_unl: torch.Tensor  # (B, C, H, W) unlabelled images for the D step
    x_unl2: torch.Tensor  # (B, C, H, W) another unlabelled batch for the G step (as in the reference)
    x_pseudo: torch.Tensor | None = None  # (B, C, H, W) pseudo-labelled images (self-training), if any
    y_pseudo: torch.Tensor | None = None  # (B,) their pseudo-labels
    x_strong: torch.Tensor | None = None  # (B, C, H, W) strongly augmented views of x_unl's images (consistency)
    progress: float = 0.0  # the fraction of training done before this step (for schedules within a step)


class StepLoss(torch.nn.Module):
    """One step as a module, `forward(batch, cfg) -> (loss, stats)`, registering only the network it
    trains. This is what DistributedDataParallel wraps: it then sees one forward per backward and
    averages that network's gradients; the other network is held, not registered."""

    def __init__(self, step, G, D, trains: str):
        super().__init__()
        self.step = step
        self.net = D if trains == "D" else G
        object.__setattr__(self, "pair", (G, D))  # plain attribute: not a submodule

    def forward(self, batch: Batch, cfg):
        return self.step(*self.pair, batch, cfg)


def update(optimizer, loss, net, penalty=None) -> None:
    """One optimizer step on `net`'s parameters only: autograd skips every other weight gradient.
    `penalty(net)` is an extra loss term on its weights (historical averaging), or None."""
    if penalty is not None:
        loss = loss + penalty(net)
    optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=list(net.parameters()))
    optimizer.step()


def d_logits(D, batches: list[torch.Tensor]) -> list[torch.Tensor]:
    """D's fp32 logits for each batch. One forward over their concatenation where D treats examples
    independently (fewer, larger matrix products); separate passes where its output depends on the
    batch (batch norm, minibatch discrimination), so real and generated data never share statistics."""
    if batch_dependent(D):
        return [D(x).float() for x in batches]
    return list(D(torch.cat(batches)).float().split([len(x) for x in batches]))


def _fake(G, n: int) -> torch.Tensor:
    with torch.no_grad():
        return G(G.sample_z(n))  # (B, C, H, W)


def ssl_d_step(G, D, batch: Batch, cfg) -> tuple[torch.Tensor, dict]:
    """K+1 discriminator step on labelled, unlabelled and generated examples, and on pseudo-labelled
    ones when self-training has selected some."""
    inputs = {"lab": batch.x_lab, "unl": batch.x_unl, "fake": _fake(G, len(batch.x_unl))}
    if batch.x_pseudo is not None:
        inputs["pseudo"] = batch.x_pseudo
    if batch.x_strong is not None:
        inputs["strong"] = batch.x_strong
    logits = dict(zip(inputs, d_logits(D, list(inputs.values()))))
    loss_lab = supervised_loss(logits["lab"], batch.y_lab)
    loss_unl = kplus1_unlabelled_loss(logits["unl"], logits["fake"], cfg.train.real_label)
    loss = loss_lab + cfg.train.unlabelled_weight * loss_unl
    stats = {
        "loss_lab": loss_lab.detach(),
        "loss_unl": loss_unl.detach(),
        "train_acc": (logits["lab"].argmax(1) == batch.y_lab).float().mean(),
    }
    if "pseudo" in logits:
        loss_pseudo = supervised_loss(logits["pseudo"], batch.y_pseudo)
        loss = loss + cfg.self_training.weight * loss_pseudo
        stats["loss_pseudo"] = loss_pseudo.detach()
    if "strong" in logits:
        loss = loss + _consistency(logits["unl"], logits["strong"], cfg, stats)
    return loss, stats


def _consistency(logits_weak, logits_strong, cfg, stats: dict) -> torch.Tensor:
    """`consistency.weight` times FixMatch's term; its value and the share of confident weak views go to `stats`."""
    loss_cons = pseudo_label_loss(logits_strong, logits_weak, cfg.consistency.threshold)
    stats["loss_cons"] = loss_cons.detach()
    stats["confident"] = (logits_weak.detach().softmax(1).amax(1) >= cfg.consistency.threshold).float().mean()
    return cfg.consistency.weight * loss_cons


def fixmatch_d_step(G, D, batch: Batch, cfg) -> tuple[torch.Tensor, dict]:
    """The non-GAN self-training method (FixMatch, Sohn et al. 2020): cross-entropy on the labelled batch
    plus the consistency term on the unlabelled one (weak views x_unl, strong views x_strong); no G."""
    # with batch norm, a pass per view (FixMatch concatenates them): a step 25 % faster here on 2 CPU cores
    logits_lab, logits_weak, logits_strong = d_logits(D, [batch.x_lab, batch.x_unl, batch.x_strong])
    loss_lab = supervised_loss(logits_lab, batch.y_lab)
    stats = {"loss_lab": loss_lab.detach(), "train_acc": (logits_lab.argmax(1) == batch.y_lab).float().mean()}
    return loss_lab + _consistency(logits_weak, logits_strong, cfg, stats), stats


def feature_matching_g_step(G, D, batch: Batch, cfg) -> tuple[torch.Tensor, dict]:
    """Generator step by feature matching on D's last hidden layer (the reference's semi-supervised G)."""
    x_fake = G(G.sample_z(len(batch.x_unl2)))  # (B, C, H, W)
    # D's weights keep requires_grad (so autocast casts each once, not per call); `update` computes G's gradients only
    features_fake = D.features(x_fake).float()  # (B, F)
    with torch.no_grad():
        features_real = D.features(batch.x_unl2).float()
    loss_gen = feature_matching_loss(features_real, features_fake)
    return loss_gen, {"loss_gen": loss_gen.detach()}


def nonsaturating_g_step(G, D, batch: Batch, cfg) -> tuple[torch.Tensor, dict]:
    """Generator step on -log D(G(z)) (Goodfellow et al. 2014), D's real logit being lse of its logits."""
    x_fake = G(G.sample_z(len(batch.x_unl2)))  # (B, C, H, W)
    loss_gen = generator_loss(real_logit(D(x_fake).float()))
    return loss_gen, {"loss_gen": loss_gen.detach()}


def clustergan_g_step(G, D, batch: Batch, cfg) -> tuple[torch.Tensor, dict]:
    """ClusterGAN's step of G and its encoder together: -log D(G(z)) plus `cluster.latent_weight` times the
    encoder's error recovering z's category and noise from G(z) (Mukherjee et al. 2019)."""
    z = G.sample_z(len(batch.x_unl2))  # (B, noise_dim + categories)
    x_fake = G(z)  # (B, C, H, W)
    loss_gen = generator_loss(real_logit(D(x_fake).float()))
    noise, category = G.split_z(z)
    category_logits, noise_hat = G.encode(x_fake)
    loss_latent = latent_recovery_loss(category_logits, noise_hat, category, noise)
    return loss_gen + cfg.cluster.latent_weight * loss_latent, {
        "loss_gen": loss_gen.detach(),
        "loss_latent": loss_latent.detach(),
        "latent_acc": (category_logits.argmax(1) == category).float().mean().detach(),
    }


def gan_d_step(G, D, batch: Batch, cfg) -> tuple[torch.Tensor, dict]:
    """Unconditional GAN discriminator step: real (the unlabelled stream) against generated."""
    logits_real, logits_fake = d_logits(D, [batch.x_unl, _fake(G, len(batch.x_unl))])
    logit_real, logit_fake = real_logit(logits_real), real_logit(logits_fake)
    loss_d = discriminator_loss(logit_real, logit_fake, cfg.train.real_label)
    return loss_d, {
        "loss_d": loss_d.detach(),
        "d_real": torch.sigmoid(logit_real).mean().detach(),
        "d_fake": torch.sigmoid(logit_fake).mean().detach(),
    }


def supervised_d_step(G, D, batch: Batch, cfg) -> tuple[torch.Tensor, dict]:
    """The labels-only baseline: the same D trained by cross-entropy on the labelled split alone."""
    logits = D(batch.x_lab).float()
    loss_lab = supervised_loss(logits, batch.y_lab)
    return loss_lab, {"loss_lab": loss_lab.detach(), "train_acc": (logits.argmax(1) == batch.y_lab).float().mean()}


def _seg_unlabelled(cfg) -> bool:
    """Whether mode seg's unlabelled terms are on: they feed the unlabelled stream to both networks."""
    return cfg.seg.adv_unlabelled_weight > 0 or cfg.seg.semi_weight > 0


def seg_adversary_step(G, D, batch: Batch, cfg) -> tuple[torch.Tensor, dict]:
    """Mode seg, G the segmenter and D the adversary (Hung et al. 2018): per pixel, one-hot ground-truth
    label maps against the segmenter's softmax maps of the labelled batch (and of the unlabelled one
    when the unlabelled terms are on). Not run when no term needs it (plain cross-entropy)."""
    x = torch.cat([batch.x_lab, batch.x_unl]) if _seg_unlabelled(cfg) else batch.x_lab
    with torch.no_grad():
        probs = G(x).float().softmax(1)  # (B, K, H, W)
    valid_lab = batch.y_lab != IGNORE  # (B_lab, H, W)
    valid_pred = torch.cat([valid_lab, torch.ones_like(valid_lab[:1]).expand(len(x) - len(valid_lab), -1, -1)])
    logit_true, logit_pred = d_logits(D, [one_hot_maps(batch.y_lab, probs.shape[1]), probs])  # (B, 1, H, W)
    loss_true = pixel_adversarial_loss(logit_true, cfg.train.real_label, valid_lab)
    loss_d = (loss_true + pixel_adversarial_loss(logit_pred, 0.0, valid_pred)) / 2
    return loss_d, {
        "loss_d": loss_d.detach(),
        "d_real": torch.sigmoid(logit_true)[valid_lab[:, None]].mean().detach(),
        "d_fake": torch.sigmoid(logit_pred)[valid_pred[:, None]].mean().detach(),
    }


def segmenter_step(G, D, batch: Batch, cfg) -> tuple[torch.Tensor, dict]:
    """Mode seg (Hung et al. 2018): per-pixel cross-entropy on the labelled batch, plus `seg.adv_weight` times
    the adversarial loss on its predicted maps; with the unlabelled terms on, on an unlabelled batch also
    `seg.adv_unlabelled_weight` times the adversarial loss and, from `seg.semi_start` of training on,
    `seg.semi_weight` times cross-entropy against its own prediction where the adversary is confident."""
    unlabelled = _seg_unlabelled(cfg)
    n_lab = len(batch.x_lab)
    logits = G(torch.cat([batch.x_lab, batch.x_unl2]) if unlabelled else batch.x_lab).float()  # (B, K, H, W)
    loss = loss_seg = segmentation_loss(logits[:n_lab], batch.y_lab)
    valid = batch.y_lab != IGNORE
    stats = {
        "loss_seg": loss_seg.detach(),
        "train_pixel_acc": (logits[:n_lab].argmax(1) == batch.y_lab)[valid].float().mean().detach(),
    }
    if not (cfg.seg.adv_weight or unlabelled):
        return loss, stats
    confidence_logits = D(logits.softmax(1)).float()  # (B, 1, H, W) logits of "ground truth"
    loss_adv = pixel_adversarial_loss(confidence_logits[:n_lab], 1.0, valid)
    loss = loss + cfg.seg.adv_weight * loss_adv
    stats["loss_adv"] = loss_adv.detach()
    if unlabelled:
        everywhere = torch.ones_like(logits[n_lab:, 0], dtype=torch.bool)  # (B, H, W)
        loss_adv_unl = pixel_adversarial_loss(confidence_logits[n_lab:], 1.0, everywhere)
        loss = loss + cfg.seg.adv_unlabelled_weight * loss_adv_unl
        stats["loss_adv_unl"] = loss_adv_unl.detach()
    if unlabelled and batch.progress >= cfg.seg.semi_start:
        loss_semi = confident_self_training_loss(logits[n_lab:], confidence_logits[n_lab:], cfg.seg.semi_threshold)
        loss = loss + cfg.seg.semi_weight * loss_semi
        stats["loss_semi"] = loss_semi.detach()
        stats["semi_pixels"] = (confidence_logits[n_lab:].sigmoid() > cfg.seg.semi_threshold).float().mean().detach()
    return loss, stats
