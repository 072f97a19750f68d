"""The `Training` record: everything a run holds (config, data, networks, optimizers, counters), and
its checkpoint: `state()` gives it as a dict of tensors and plain values, `load_state()` puts it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..checkpoint import load_weights
from ..config import Config
from ..data import Dataset, Split
from . import cuda_graphs, distributed


def _no_indices() -> torch.Tensor:
    return torch.empty(0, dtype=torch.long)


@dataclass
class Training:
    """Everything a run holds; `state()` / `load_state()` are its checkpoint."""

    cfg: Config
    data: Dataset
    split: Split
    device: torch.device
    G: torch.nn.Module
    D: torch.nn.Module
    D_ema: torch.nn.Module  # exponential moving average of D: what evaluation and prediction use
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    x_train: torch.Tensor  # (N, C, H, W) on the device
    y_train: torch.Tensor  # (N,)
    unlabelled: torch.Tensor  # (M,) indices of the unlabelled stream: split.stream
    steps: tuple  # (D step, G step): steps.StepLoss modules (under DDP with torchrun), or None
    compute_dtype: torch.dtype = torch.float32  # autocast dtype of the training steps
    history: torch.nn.ModuleDict | None = None  # historical averages of G and D, when that penalty is on
    scorer: tuple | None = None  # (domain classifier, test-set feature stats), loaded at the first evaluation
    pseudo_idx: torch.Tensor = field(default_factory=_no_indices)  # self-training: pseudo-labelled training images
    pseudo_y: torch.Tensor = field(default_factory=_no_indices)  # ... and their pseudo-labels
    lr_scale: float = 1.0  # halved at each restart after a non-finite loss
    restarts: int = 0  # restarts after non-finite losses so far
    good_state: dict | None = None  # a copy of the last checkpointed state, to restart from
    graph: cuda_graphs.CapturedSteps | None = None  # the steps as a CUDA graph (train.cuda_graphs), or None
    epoch: int = 0  # completed epochs
    iteration: int = 0  # iterations done in the current epoch
    step: int = 0  # iterations done in all
    elapsed: float = 0.0  # training seconds, across resumptions

    @property
    def iters_per_epoch(self) -> int:
        t = self.cfg.train
        return t.iters_per_epoch or max(1, len(self.unlabelled) // t.batch_size)

    def state(self) -> dict:
        return {
            "config": self.cfg.to_dict(),
            "classes": self.data.classes,
            "image_shape": list(self.data.image_shape),
            "conversion": self.data.conversion,
            "epoch": self.epoch,
            "iteration": self.iteration,
            "step": self.step,
            "elapsed": self.elapsed,
            "lr_scale": self.lr_scale,
            "restarts": self.restarts,
            "threads": torch.get_num_threads(),
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "D_ema": self.D_ema.state_dict(),
            "history": self.history.state_dict() if self.history is not None else {},
            "pseudo_idx": self.pseudo_idx,
            "pseudo_y": self.pseudo_y,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_ranks": distributed.gather_rng_states(),
            "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
        }

    def load_state(self, state: dict) -> None:
        for name in ("G", "D", "D_ema", "opt_g", "opt_d"):
            load_weights(getattr(self, name), state[name], name)
        if self.history is not None:
            self.history.load_state_dict(state["history"])
        self.epoch, self.iteration, self.step = state["epoch"], state["iteration"], state["step"]
        if "pseudo_idx" in state:  # checkpoints from before self-training existed have none
            self.pseudo_idx, self.pseudo_y = state["pseudo_idx"].to(self.device), state["pseudo_y"].to(self.device)
        self.elapsed = state["elapsed"]
        self.lr_scale, self.restarts = state.get("lr_scale", 1.0), state.get("restarts", 0)  # older checkpoints: none
        rank, size = distributed.world()
        ranks = state.get("rng_ranks", [])  # every rank's generator (older checkpoints: rank 0's only)
        torch.set_rng_state(ranks[rank] if len(ranks) == size else state["rng_cpu"])
        if rank and len(ranks) != size:  # resumed with another number of processes: fresh streams
            torch.manual_seed(self.cfg.train.seed + 7919 * rank + self.step)
        if self.device.type == "cuda" and state["rng_cuda"]:
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        for group in (*self.opt_d.param_groups, *self.opt_g.param_groups):  # as saved by a run with or without graphs
            group["lr"], group["capturable"] = float(group["lr"]), False
        if self.graph is not None:  # the optimizers' state is new: capture again
            self.graph.reset()
