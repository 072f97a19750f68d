"""The training loop shared by every mode: seed, build, loop, evaluate, log, checkpoint, resume.

An epoch is `iters_per_epoch` iterations (default: one pass over the unlabelled data); each
iteration is one D step and, in GAN modes, one G step. The labelled split is tiled to the epoch's
length. Batch orders come from a generator seeded by (seed, epoch), and the global RNG state is
checkpointed, so a run resumed mid-epoch continues exactly where it stopped.
"""
from __future__ import annotations

import copy
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .checkpoint import check_same_config, load_checkpoint, save_checkpoint
from .config import Config
from .data import Dataset, Split, labelled_split, load_dataset
from .errors import ConfigError, TrainingError
from .hardware import autocast, keep_freed_memory, resolve_device, resolve_precision
from .metrics import accuracy
from .nets import build_models, data_dependent_init
from .runlog import RunLog, new_run_dir
from .steps import STEPS, Batch

N_SAMPLES = 100  # images in each sample grid


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
    unlabelled: torch.Tensor  # indices of the unlabelled stream: every training image outside validation
    compute_dtype: torch.dtype = torch.float32  # autocast dtype of the training steps
    epoch: int = 0  # completed epochs
    iteration: int = 0  # iterations done in the current epoch
    step: int = 0  # iterations done in all
    elapsed: float = 0.0  # training seconds, across resumptions

    @property
    def iters_per_epoch(self) -> int:
        t = self.cfg.train
        return t.iters_per_epoch or max(1, len(self.unlabelled) // t.batch_size)

    def state(self) -> dict:
        return {"config": self.cfg.to_dict(), "classes": self.data.classes,
                "image_shape": list(self.data.image_shape), "epoch": self.epoch,
                "iteration": self.iteration, "step": self.step, "elapsed": self.elapsed,
                "G": self.G.state_dict(), "D": self.D.state_dict(), "D_ema": self.D_ema.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else []}

    def load_state(self, state: dict) -> None:
        for name in ("G", "D", "D_ema", "opt_g", "opt_d"):
            getattr(self, name).load_state_dict(state[name])
        self.epoch, self.iteration, self.step = state["epoch"], state["iteration"], state["step"]
        self.elapsed = state["elapsed"]
        torch.set_rng_state(state["rng_cpu"])
        if self.device.type == "cuda" and state["rng_cuda"]:
            torch.cuda.set_rng_state_all(state["rng_cuda"])


def build(cfg: Config, data: Dataset, split: Split | None = None) -> Training:
    """Seed, split, build and initialise the models and optimizers for `cfg` on `data`."""
    t = cfg.train
    torch.manual_seed(t.seed)  # every random draw of training comes from torch's generators
    split = split or labelled_split(data.y_train, data.n_classes, cfg.data.labels_per_class,
                                    cfg.data.label_rate, cfg.data.val_per_class, seed=t.seed)
    unlabelled = torch.from_numpy(np.sort(np.concatenate([split.labelled, split.unlabelled])))
    if len(unlabelled) < t.batch_size:
        raise ConfigError(f"train.batch_size {t.batch_size} exceeds the {len(unlabelled)} training images")
    device = resolve_device(t.device)
    keep_freed_memory()
    G, D = (net.to(device) for net in build_models(cfg.model, data.image_shape, data.n_classes))
    x_train = torch.from_numpy(data.x_train).to(device)
    init_idx = unlabelled[torch.randperm(len(unlabelled))[: t.init_examples]]
    data_dependent_init(D, x_train[init_idx])  # on unlabelled images only: no label is used
    D_ema = copy.deepcopy(D).eval().requires_grad_(False)
    # eps 1e-4 approximates the reference Adam's sqrt(v + 1e-8): it keeps tiny gradients (a saturated
    # generator) from being blown up to full-size steps
    # fused: one kernel for all parameters instead of ~6 passes over each (12% of a step on CPU)
    adam = dict(lr=t.lr, betas=(t.beta1, 0.999), eps=1e-4, fused=True)
    return Training(cfg, data, split, device, G, D, D_ema,
                    torch.optim.Adam(G.parameters(), **adam), torch.optim.Adam(D.parameters(), **adam),
                    x_train, torch.from_numpy(data.y_train).to(device), unlabelled,
                    resolve_precision(t.precision, device))


def _tiled_permutation(n: int, length: int, gen: torch.Generator) -> torch.Tensor:
    """Concatenated random permutations of range(n), cut to `length`."""
    return torch.cat([torch.randperm(n, generator=gen) for _ in range(math.ceil(length / n))])[:length]


def epoch_orders(t: Training, epoch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training-set indices of the epoch's batches: labelled, unlabelled (D), unlabelled (G); each (iters, B)."""
    gen = torch.Generator().manual_seed(t.cfg.train.seed * 1_000_003 + epoch)
    n, shape = t.iters_per_epoch * t.cfg.train.batch_size, (t.iters_per_epoch, t.cfg.train.batch_size)
    labelled = torch.from_numpy(t.split.labelled)
    lab = labelled[_tiled_permutation(len(labelled), n, gen)].view(shape)
    unl = t.unlabelled[_tiled_permutation(len(t.unlabelled), n, gen)].view(shape)
    unl2 = t.unlabelled[_tiled_permutation(len(t.unlabelled), n, gen)].view(shape)
    return lab, unl, unl2


@torch.no_grad()
def ema_update(ema: torch.nn.Module, net: torch.nn.Module, decay: float) -> None:
    torch._foreach_lerp_(list(ema.parameters()), list(net.parameters()), 1 - decay)
    for b_ema, b in zip(ema.buffers(), net.buffers()):
        b_ema.copy_(b)


@torch.no_grad()
def predict_logits(D: torch.nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(N, K) class logits of `D` in evaluation mode, for N >= 1 inputs."""
    D.eval()
    return torch.cat([D(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def accuracy_of(t: Training, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Accuracy of the EMA discriminator on a non-empty set."""
    x = torch.as_tensor(x).to(t.device)
    pred = predict_logits(t.D_ema, x, t.cfg.train.eval_batch_size).argmax(1).cpu().numpy()
    return accuracy(torch.as_tensor(y).cpu().numpy(), pred)


@torch.no_grad()
def fixed_samples(t: Training) -> np.ndarray:
    """Generator output for the run's fixed noise: (N_SAMPLES, C, H, W)."""
    z = t.G.sample_z(N_SAMPLES, generator=torch.Generator(t.device).manual_seed(t.cfg.train.seed))
    t.G.eval()
    samples = t.G(z).float().cpu().numpy()
    t.G.train()
    return samples


def learning_rate(cfg, step: int, total_steps: int) -> float:
    """Constant, then linear decay to 0 over the last (1 - lr_decay_start) of training."""
    start = cfg.lr_decay_start * total_steps
    if step < start:
        return cfg.lr
    return cfg.lr * max(0.0, (total_steps - step) / max(total_steps - start, 1.0))


def train_iteration(t: Training, orders, i: int) -> dict[str, float]:
    """Batch `i` of `orders` (from `epoch_orders`): one D step, an EMA update and, in GAN modes, one G step."""
    d_step, g_step = STEPS[t.cfg.train.mode]
    lr = learning_rate(t.cfg.train, t.step, t.cfg.train.epochs * t.iters_per_epoch)
    for group in t.opt_d.param_groups + t.opt_g.param_groups:
        group["lr"] = lr
    lab, unl, unl2 = (o[i] for o in orders)
    x = t.x_train
    batch = Batch(x[lab], t.y_train[lab], x[unl], x[unl2])
    t.G.train()
    t.D.train()
    with autocast(t.device, t.compute_dtype):
        stats = d_step(t.G, t.D, t.opt_d, batch, t.cfg.train)
    ema_update(t.D_ema, t.D, min(t.cfg.train.ema_decay, (1 + t.step) / (10 + t.step)))
    if g_step is not None:
        with autocast(t.device, t.compute_dtype):
            stats |= g_step(t.G, t.D, t.opt_g, batch, t.cfg.train)
    values = {k: float(v) for k, v in stats.items()} | {"lr": lr}
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise TrainingError(f"non-finite {', '.join(bad)} at step {t.step + 1}; stopping (the last checkpoint "
                            f"is kept; try a lower train.lr)")
    return values


def _save(t: Training, log: RunLog) -> None:
    if log.checkpoint_path is not None:
        save_checkpoint(log.checkpoint_path, t.state())


def _run_epoch(t: Training, log: RunLog) -> dict:
    orders = epoch_orders(t, t.epoch)
    sums, count, cfg = defaultdict(float), 0, t.cfg.train
    epoch_start = last = time.perf_counter()

    def save():  # account the time trained so far before checkpointing it
        nonlocal last
        now = time.perf_counter()
        t.elapsed, last = t.elapsed + now - last, now
        _save(t, log)

    bar = tqdm(range(t.iteration, t.iters_per_epoch), desc=f"epoch {t.epoch + 1}/{cfg.epochs}",
               disable=not cfg.progress, leave=False, dynamic_ncols=True)
    try:
        for i in bar:
            for k, v in train_iteration(t, orders, i).items():
                sums[k] += v
            count, t.iteration, t.step = count + 1, i + 1, t.step + 1
            if i % 20 == 0:
                bar.set_postfix({k: f"{v / count:.3f}" for k, v in sums.items()})
            if cfg.checkpoint_every and t.step % cfg.checkpoint_every == 0:
                save()
    except KeyboardInterrupt:
        save()
        raise
    finally:
        bar.close()
    t.elapsed += time.perf_counter() - last
    return {k: v / max(count, 1) for k, v in sums.items()} | {"epoch_seconds": time.perf_counter() - epoch_start}


def _evaluate_epoch(t: Training) -> dict:
    record = {}
    if len(t.data.x_test):
        record["test_acc"] = accuracy_of(t, t.data.x_test, t.data.y_test)
    if len(t.split.val):
        val = torch.from_numpy(t.split.val).to(t.device)
        record["val_acc"] = accuracy_of(t, t.x_train[val], t.y_train[val])
    return record


def _describe(record: dict, epochs: int) -> str:
    parts = [f"epoch {record['epoch']}/{epochs}"]
    for k, v in record.items():
        if k.endswith("_acc"):
            parts.append(f"{k} {100 * v:.2f}%")
        elif k.startswith("loss"):
            parts.append(f"{k} {v:.4f}")
    return "  ".join(parts + [f"{record['epoch_seconds']:.1f}s"])


def fit(t: Training, log: RunLog, verbose: bool = True) -> list[dict]:
    """Train until `train.epochs`; after each epoch evaluate, log, then checkpoint (in that order, so a
    resumed run drops metrics newer than its checkpoint)."""
    log.start(t.cfg, t.epoch)
    has_generator = STEPS[t.cfg.train.mode][1] is not None
    records = []
    try:
        while t.epoch < t.cfg.train.epochs:
            losses = _run_epoch(t, log)
            t.epoch, t.iteration = t.epoch + 1, 0
            record = {"epoch": t.epoch, "step": t.step, **losses, **_evaluate_epoch(t), "elapsed": t.elapsed}
            log.log_epoch(record, fixed_samples(t) if has_generator else None)
            _save(t, log)
            if verbose:
                tqdm.write(_describe(record, t.cfg.train.epochs))
            records.append(record)
    finally:
        log.close()
    return records


def run(cfg: Config, name: str, resume: str | Path | None = None) -> Path:
    """Train `cfg` in a new numbered run folder, or continue the run in folder `resume`."""
    state = None
    if resume is not None:
        run_dir = Path(resume)
        state = load_checkpoint(run_dir / "checkpoint.pt")
        check_same_config(state["config"], cfg.to_dict())
    t = build(cfg, load_dataset(cfg.data))
    if state is not None:
        t.load_state(state)
        print(f"resuming {run_dir} at epoch {t.epoch + 1}, iteration {t.iteration} (step {t.step})")
    else:
        run_dir = new_run_dir(cfg.train.out_dir, cfg.train.name or name)
        print(f"run folder: {run_dir}")
    fit(t, RunLog(run_dir))
    return run_dir
