"""One training iteration: the epoch's batch orders, the learning-rate and ramp-up schedules, the D
and G steps, the moving average of D and the historical averages.

An epoch is `iters_per_epoch` iterations; each is one D step and, in GAN modes, one G step. The
labelled split is tiled to the epoch's length. Batch orders come from a generator seeded by
(seed, epoch), so a run resumed mid-epoch continues exactly where it stopped.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .augment import random_affine
from .distributed import any_rank, shard
from .errors import NonFiniteLoss
from .hardware import autocast
from .steps import Batch, update

if TYPE_CHECKING:
    from .trainer import Training


def _tiled_permutation(n: int, length: int, gen: torch.Generator) -> torch.Tensor:
    """Concatenated random permutations of range(n), cut to `length`."""
    return torch.cat([torch.randperm(n, generator=gen) for _ in range(math.ceil(length / n))])[:length]


def epoch_orders(t: Training, epoch: int) -> tuple[torch.Tensor, ...]:
    """The epoch's batches, each (iters, B): training-set indices of labelled, unlabelled (D step) and
    unlabelled (G step) images, then positions in the pseudo-labelled set (empty when there is none).
    Every process draws the same global batches and keeps its B / N columns (distributed.shard)."""
    gen = torch.Generator().manual_seed(t.cfg.train.seed * 1_000_003 + epoch)
    n, shape = t.iters_per_epoch * t.cfg.train.batch_size, (t.iters_per_epoch, t.cfg.train.batch_size)
    labelled = torch.from_numpy(t.split.labelled)
    lab = (labelled[_tiled_permutation(len(labelled), n, gen)].view(shape) if len(labelled)
           else torch.empty((shape[0], 0), dtype=torch.long))  # gan mode: no labelled images
    unl = t.unlabelled[_tiled_permutation(len(t.unlabelled), n, gen)].view(shape)
    unl2 = t.unlabelled[_tiled_permutation(len(t.unlabelled), n, gen)].view(shape)
    n_pseudo = len(t.pseudo_idx)
    pseudo = _tiled_permutation(n_pseudo, n, gen).view(shape) if n_pseudo else torch.empty(0, dtype=torch.long)
    return tuple(shard(orders) for orders in (lab, unl, unl2, pseudo))  # this process's share of each batch


@torch.no_grad()
def ema_update(ema: torch.nn.Module, net: torch.nn.Module, decay: float) -> None:
    torch._foreach_lerp_(list(ema.parameters()), list(net.parameters()), 1 - decay)
    for b_ema, b in zip(ema.buffers(), net.buffers()):
        b_ema.copy_(b)


def ema_decay_at(decay: float, step: int) -> float:
    """The EMA's decay at `step`: `decay`, or less while (1 + step) / (10 + step) is below it, so that
    early on the average follows the recent weights instead of the random initial ones."""
    return min(decay, (1 + step) / (10 + step))


def lr_factor(cfg, step: int, total_steps: int) -> float:
    """1, then linear decay to 0 over the last (1 - lr_decay_start) of training."""
    start = cfg.lr_decay_start * total_steps
    if step < start:
        return 1.0
    return max(0.0, (total_steps - step) / max(total_steps - start, 1.0))


def rampup(step: int, length: float) -> float:
    """exp(-5 (1 - step / length)^2) for the first `length` steps, then 1: Laine & Aila's (2017) ramp-up,
    so that a consistency term does not fix D's early, mostly wrong classes in place."""
    if step >= length:
        return 1.0
    return math.exp(-5 * (1 - step / length) ** 2)


def _history_penalty(t: Training):
    """net -> weight * ||theta - running mean||^2 for G or D, or None when historical averaging is off."""
    if t.history is None:
        return None
    weight = t.cfg.train.historical_averaging
    return lambda net: weight * t.history["D" if net is t.D else "G"].penalty(net)


def _batch(t: Training, orders, i: int) -> Batch:
    """Batch `i` of `orders`: the labelled images moved at random where `augment_shift` or
    `augment_rotation` is set (the unlabelled ones too with `augment_unlabelled`), the
    pseudo-labelled images when self-training has selected some, and the low-density term's model."""
    cfg, x = t.cfg.train, t.x_train
    lab, unl, unl2, pseudo = orders

    def move(images):  # the images as drawn when both settings are 0
        return random_affine(images, cfg.augment_shift, cfg.augment_rotation)

    x_unl, x_unl2 = (move(x[u[i]]) if cfg.augment_unlabelled else x[u[i]] for u in (unl, unl2))
    batch = Batch(move(x[lab[i]]), t.y_train[lab[i]], x_unl, x_unl2, density=t.density)
    if len(pseudo):
        batch.x_pseudo, batch.y_pseudo = x[t.pseudo_idx[pseudo[i]]], t.pseudo_y[pseudo[i]]
    return batch


def train_iteration(t: Training, orders, i: int) -> dict[str, float]:
    """Batch `i` of `orders` (from `epoch_orders`): a D step (none in mode seg without the adversarial
    term), an EMA update of D and, in GAN modes, a G step."""
    d_step, g_step = t.steps
    cfg = t.cfg.train
    total_steps = cfg.epochs * t.iters_per_epoch
    factor = t.lr_scale * lr_factor(cfg, t.step, total_steps)
    for opt, lr in ((t.opt_d, cfg.lr), (t.opt_g, cfg.generator_lr)):
        for group in opt.param_groups:
            group["lr"] = factor * lr
    batch = _batch(t, orders, i)
    batch.manifold_weight = cfg.manifold_weight if t.step < cfg.manifold_until * total_steps else 0.0
    if cfg.mean_teacher_weight:
        batch.teacher = t.D_ema
        batch.teacher_weight = cfg.mean_teacher_weight * rampup(t.step, cfg.mean_teacher_rampup * total_steps)
    t.G.train()
    t.D.train()
    penalty, stats = _history_penalty(t), {}
    if d_step is not None:
        with autocast(t.device, t.compute_dtype):
            loss, stats = d_step(batch, cfg)
        update(t.opt_d, loss, t.D, penalty)
        ema_update(t.D_ema, t.D, ema_decay_at(cfg.ema_decay, t.step))
    if g_step is not None:
        with autocast(t.device, t.compute_dtype):
            loss, g_stats = g_step(batch, cfg)
        update(t.opt_g, loss, t.G, penalty)
        stats |= g_stats
    if t.history is not None:
        t.history["D"].update(t.D)
        t.history["G"].update(t.G)
    values = {k: float(v) for k, v in stats.items()} | {"lr": factor * cfg.lr}  # D's
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if any_rank(bool(bad), t.device):  # every process restarts together (or none does)
        raise NonFiniteLoss(f"non-finite {', '.join(bad) or 'loss on another process'} at step {t.step + 1}")
    return values
