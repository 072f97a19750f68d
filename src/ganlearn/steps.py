"""One function per training step: d_step / g_step(G, D, optimizer, batch, cfg) -> dict of losses.

Modes differ only here; the trainer, config, checkpoints and logging are shared.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .losses import feature_matching_loss, kplus1_unlabelled_loss, supervised_loss


@dataclass
class Batch:
    x_lab: torch.Tensor  # (B_lab, C, H, W) labelled images
    y_lab: torch.Tensor  # (B_lab,) their labels
    x_unl: torch.Tensor  # (B, C, H, W) unlabelled images for the D step
    x_unl2: torch.Tensor  # (B, C, H, W) another unlabelled batch for the G step (as in the reference)


def _update(optimizer, loss, net):
    """One optimizer step on `net`'s parameters only: autograd skips every other weight gradient."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=list(net.parameters()))
    optimizer.step()


def ssl_d_step(G, D, opt_d, batch: Batch, cfg) -> dict:
    """K+1 discriminator step on labelled, unlabelled and generated examples."""
    n_lab, n_unl = len(batch.x_lab), len(batch.x_unl)
    with torch.no_grad():
        x_fake = G(G.sample_z(n_unl))  # (B, C, H, W)
    # one forward over the concatenation: the MLP D has no batch statistics, so this equals three passes
    logits = D(torch.cat([batch.x_lab, batch.x_unl, x_fake])).float()  # (B_lab + 2B, K); fp32 under autocast
    logits_lab, logits_unl, logits_fake = logits.split([n_lab, n_unl, n_unl])
    loss_lab = supervised_loss(logits_lab, batch.y_lab)
    loss_unl = kplus1_unlabelled_loss(logits_unl, logits_fake)
    _update(opt_d, loss_lab + cfg.unlabelled_weight * loss_unl, D)
    train_acc = (logits_lab.argmax(1) == batch.y_lab).float().mean()
    return {"loss_lab": loss_lab.detach(), "loss_unl": loss_unl.detach(), "train_acc": train_acc}


def ssl_g_step(G, D, opt_g, batch: Batch, cfg) -> dict:
    """Generator step by feature matching on D's last hidden layer."""
    # D's weights keep requires_grad (so autocast casts each once, not per call); _update computes G's gradients only
    features_fake = D.features(G(G.sample_z(len(batch.x_unl2)))).float()  # (B, F)
    with torch.no_grad():
        features_real = D.features(batch.x_unl2).float()
    loss_gen = feature_matching_loss(features_real, features_fake)
    _update(opt_g, loss_gen, G)
    return {"loss_gen": loss_gen.detach()}


def supervised_d_step(G, D, opt_d, batch: Batch, cfg) -> dict:
    """The labels-only baseline: the same D trained by cross-entropy on the labelled split alone."""
    logits = D(batch.x_lab).float()
    loss_lab = supervised_loss(logits, batch.y_lab)
    _update(opt_d, loss_lab, D)
    return {"loss_lab": loss_lab.detach(), "train_acc": (logits.argmax(1) == batch.y_lab).float().mean()}


STEPS = {  # mode -> (d_step, g_step or None)
    "ssl": (ssl_d_step, ssl_g_step),
    "supervised": (supervised_d_step, None),
}
