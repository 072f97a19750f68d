"""What each training iteration draws and at which rates: the epoch's batch orders, self-training's
pseudo-labels, the learning-rate schedule and the moving average of D.

Batch orders come from a generator seeded by (seed, epoch), so a run resumed mid-epoch draws the
batches it would have drawn; the labelled images are tiled to the epoch's length.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from ..models.outputs import predict_probs
from . import distributed

if TYPE_CHECKING:
    from .state import Training


def _tiled_permutation(n: int, length: int, gen: torch.Generator) -> torch.Tensor:
    """Concatenated random permutations of range(n), cut to `length`."""
    return torch.cat([torch.randperm(n, generator=gen) for _ in range(math.ceil(length / n))])[:length]


def epoch_orders(t: Training, epoch: int) -> tuple[torch.Tensor, ...]:
    """The epoch's batches, each (iters, B): training-set indices of labelled, unlabelled (D step) and
    unlabelled (G step) images, then positions in the pseudo-labelled set (empty when there is none).
    Every process draws the same global batches and keeps its B / N columns (distributed.shard)."""
    cfg = t.cfg.train
    gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
    n, shape = t.iters_per_epoch * cfg.batch_size, (t.iters_per_epoch, cfg.batch_size)
    n_lab = cfg.labelled_batch_size or cfg.batch_size
    labelled = torch.from_numpy(t.split.labelled)
    lab = (
        labelled[_tiled_permutation(len(labelled), t.iters_per_epoch * n_lab, gen)].view(t.iters_per_epoch, n_lab)
        if len(labelled)
        else torch.empty((shape[0], 0), dtype=torch.long)
    )  # no labelled images (mode gan)
    unl = t.unlabelled[_tiled_permutation(len(t.unlabelled), n, gen)].view(shape)
    unl2 = t.unlabelled[_tiled_permutation(len(t.unlabelled), n, gen)].view(shape)
    n_pseudo = len(t.pseudo_idx)
    pseudo = _tiled_permutation(n_pseudo, n, gen).view(shape) if n_pseudo else torch.empty(0, dtype=torch.long)
    return tuple(distributed.shard(orders) for orders in (lab, unl, unl2, pseudo))  # this process's share


@torch.no_grad()
def ema_update(ema: torch.nn.Module, net: torch.nn.Module, rate: float | torch.Tensor) -> None:
    """ema <- ema + rate * (net - ema), rate = 1 - decay: a float, or a () tensor that a CUDA graph reads."""
    params, targets = list(ema.parameters()), list(net.parameters())
    if torch.is_tensor(rate):  # lerp takes no single tensor weight; mul does, in one fused pass
        torch._foreach_add_(params, torch._foreach_mul(torch._foreach_sub(targets, params), rate))
    else:
        torch._foreach_lerp_(params, targets, rate)
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


def select_pseudo_labels(t: Training) -> None:
    """Self-training: the unlabelled images that the EMA discriminator assigns to one class with
    probability >= self_training.threshold become labelled examples (with that class) for the epoch."""
    idx = torch.from_numpy(t.split.unlabelled).to(t.device)
    probs = predict_probs(t.D_ema, t.x_train[idx], t.cfg.train.eval_batch_size)  # (N_unl, K)
    confidence, classes = probs.max(1)
    keep = confidence >= t.cfg.self_training.threshold
    t.pseudo_idx, t.pseudo_y = idx[keep], classes[keep]
