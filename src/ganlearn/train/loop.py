"""The training loop shared by every mode: build, then epochs of iterations, each a D step, an update
of D's moving average and a G step; after each epoch evaluate, log and checkpoint.

An epoch is `iters_per_epoch` iterations (default: one pass over the unlabelled stream); the labelled
images are tiled to its length. Batch orders come from a generator seeded by (seed, epoch), and the
global RNG state is checkpointed with the weights (evaluation draws from a fork of it), so a run
resumed mid-epoch continues exactly where it stopped. A non-finite loss restarts from the last
checkpointed state with half the learning rate.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections import defaultdict
from functools import partial
from pathlib import Path

import torch
from tqdm import tqdm

from ..checkpoint import CHECKPOINT, check_same_config, load_checkpoint, save_checkpoint
from ..config import Config, from_dict
from ..data import Dataset, Split, load_dataset
from ..data.augment import strong_augment, weak_augment
from ..errors import ConfigError, NonFiniteLoss, TrainingError
from ..hardware import autocast, fork_rng, keep_freed_memory, resolve_device, resolve_precision
from ..models import MODELS, build_models
from ..models.gan import data_dependent_init
from ..models.techniques import HistoricalAverage
from ..modes import MODES, steps_for
from ..steps import Batch, StepLoss, update
from . import cuda_graphs, distributed
from .monitor import describe, epoch_pictures, evaluate_epoch
from .runlog import RunLog, new_run_dir
from .schedule import ema_decay_at, ema_update, epoch_orders, lr_factor, select_pseudo_labels
from .state import Training

INIT_EXAMPLES = 500  # unlabelled images for the data-dependent initialisation of D, as in the reference


def _optimizers(G, D, t) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """G's Adam and D's `train.optimizer`. adam_eps 1e-4 approximates the reference Adam's sqrt(v + 1e-8):
    it keeps tiny gradients (a saturated generator) from being blown up to full-size steps. fused: one
    kernel for all parameters instead of ~6 passes over each (12% of a step on CPU; torch >= 2.4 there)."""
    adam = dict(betas=(t.beta1, 0.999), eps=t.adam_eps, fused=True)
    opt_g = torch.optim.Adam(G.parameters(), lr=t.generator_lr, **adam)
    if t.optimizer == "sgd":  # FixMatch's: Nesterov momentum 0.9
        sgd = dict(momentum=0.9, nesterov=True, weight_decay=t.weight_decay, fused=True)
        return opt_g, torch.optim.SGD(D.parameters(), lr=t.lr, **sgd)
    return opt_g, torch.optim.Adam(D.parameters(), lr=t.lr, weight_decay=t.weight_decay, **adam)


def build(cfg: Config, data: Dataset | None = None, split: Split | None = None) -> Training:
    """Seed, split, build and initialise the models and optimizers for `cfg` on `data` (None: the data
    set `cfg.data` names)."""
    data = load_dataset(cfg.data) if data is None else data
    t, mode = cfg.train, MODES[cfg.train.mode]
    torch.manual_seed(t.seed)  # every random draw of training comes from torch's generators
    split = mode.split(cfg, data) if split is None else split
    unlabelled = torch.from_numpy(split.stream)
    if len(unlabelled) < t.batch_size:
        raise ConfigError(f"train.batch_size {t.batch_size} exceeds the {len(unlabelled)} training images")
    for key in ("batch_size", "labelled_batch_size"):  # before joining the group: a config error needs no peers
        distributed.check_batch(getattr(t, key), key)
    device = distributed.init(resolve_device(t.device))
    keep_freed_memory()
    G, D = (net.to(device) for net in build_models(cfg.model, data.image_shape, mode.d_outputs(data.n_classes)))
    x_train = torch.from_numpy(data.x_train).to(device)
    if MODELS[cfg.model.name].channels_last:
        D.to(memory_format=torch.channels_last)
        x_train = x_train.contiguous(memory_format=torch.channels_last)
    init_idx = unlabelled[torch.randperm(len(unlabelled))[:INIT_EXAMPLES]]
    for net in (D, getattr(G, "encoder", None)):  # D, and the encoder of a ClusterGAN generator
        if net is not None:
            data_dependent_init(net, x_train[init_idx])  # on unlabelled images only: no label is used
    D_ema = copy.deepcopy(D).eval().requires_grad_(False)
    opt_g, opt_d = _optimizers(G, D, t)
    rank = distributed.world()[0]
    if rank:  # the same initial weights everywhere, then each rank its own noise and samples
        torch.manual_seed(t.seed + 7919 * rank)
    steps = tuple(
        distributed.wrap(StepLoss(step, G, D, trains), device) if step else None
        for step, trains in zip(steps_for(cfg), ("D", "G"))
    )
    history = (
        torch.nn.ModuleDict({"G": HistoricalAverage(G), "D": HistoricalAverage(D)}) if t.historical_averaging else None
    )
    y_train, precision = torch.from_numpy(data.y_train).to(device), resolve_precision(t.precision, device)
    training = Training(
        cfg, data, split, device, G, D, D_ema, opt_g, opt_d, x_train, y_train, unlabelled, steps, precision, history
    )
    if t.cuda_graphs:
        cuda_graphs.check(cfg, device)
        training.graph = cuda_graphs.CapturedSteps(partial(run_steps, training), (opt_d, opt_g), device)
    return training


def train_iteration(t: Training, orders, i: int) -> dict[str, float]:
    """Batch `i` of `orders` (from `epoch_orders`): a D step (where the mode trains D), an EMA update of
    D and a G step (where it trains a G), at this step's learning rate."""
    cfg, x = t.cfg.train, t.x_train
    total_steps = cfg.epochs * t.iters_per_epoch
    factor = t.lr_scale * lr_factor(cfg, t.step, total_steps)
    for opt, lr in ((t.opt_d, cfg.lr), (t.opt_g, cfg.generator_lr)):
        for group in opt.param_groups:
            if torch.is_tensor(group["lr"]):  # read by a CUDA graph: set in place
                group["lr"].fill_(factor * lr)
            else:
                group["lr"] = factor * lr
    lab, unl, unl2, pseudo = orders
    weak = partial(weak_augment, max_shift=cfg.augment_shift, flip=cfg.augment_flip)
    consistency = t.cfg.consistency.threshold is not None
    # labelled images moved at random where augment_shift is set, the unlabelled ones with augment_unlabelled
    # (D's always with the consistency term: they are its weak views)
    unlabelled = x[unl[i]]  # (B, C, H, W): D's unlabelled batch, and the strong views' pictures
    x_unl = weak(unlabelled) if cfg.augment_unlabelled or consistency else unlabelled
    x_unl2 = weak(x[unl2[i]]) if cfg.augment_unlabelled else x[unl2[i]]
    batch = Batch(weak(x[lab[i]]), t.y_train[lab[i]], x_unl, x_unl2, progress=t.step / total_steps)
    if consistency:
        batch.x_strong = strong_augment(weak(unlabelled))
    if len(pseudo):
        batch.x_pseudo, batch.y_pseudo = x[t.pseudo_idx[pseudo[i]]], t.pseudo_y[pseudo[i]]
    t.G.train()
    t.D.train()
    ema_rate = 1 - ema_decay_at(cfg.ema_decay, t.step)
    stats = run_steps(t, batch, ema_rate) if t.graph is None else t.graph(batch, ema_rate)
    if t.history is not None:
        t.history["D"].update(t.D)
        t.history["G"].update(t.G)
    values = dict(zip(stats, torch.stack([v.float() for v in stats.values()]).tolist()))  # one sync on a GPU
    values["lr"] = factor * cfg.lr  # D's
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if distributed.any_rank(bool(bad), t.device):  # every process restarts together (or none does)
        raise NonFiniteLoss(f"non-finite {', '.join(bad) or 'loss on another process'} at step {t.step + 1}")
    return values


def run_steps(t: Training, batch: Batch, ema_rate) -> dict[str, torch.Tensor]:
    """The D step, D's EMA update (`ema_rate` = 1 - decay: a float, or a () tensor in a CUDA graph) and
    the G step on `batch`, where the mode has them; their statistics."""
    stats, weight = {}, t.cfg.train.historical_averaging
    penalty = None if t.history is None else (lambda n: weight * t.history["D" if n is t.D else "G"].penalty(n))
    for step, net, opt in ((t.steps[0], t.D, t.opt_d), (t.steps[1], t.G, t.opt_g)):
        if step is None:
            continue
        # autocast's cache of cast weights is freed when the block ends: a graph would read freed memory
        with autocast(t.device, t.compute_dtype, cache=t.graph is None):
            loss, step_stats = step(batch, t.cfg)
        update(opt, loss, net, penalty)
        if net is t.D:
            ema_update(t.D_ema, t.D, ema_rate)
        stats |= step_stats
    return stats


def _save(t: Training, log: RunLog) -> None:
    """Checkpoint, and keep a copy in memory to restart from after a non-finite loss."""
    t.good_state = copy.deepcopy(t.state())  # state() holds the live weights: copy them
    if log.checkpoint_path is not None:
        save_checkpoint(log.checkpoint_path, t.good_state)


def _restart(t: Training, error: NonFiniteLoss) -> None:
    """Back to the last good state with half the learning rate, at most `train.nan_retries` times."""
    if t.restarts >= t.cfg.train.nan_retries:
        raise TrainingError(
            f"{error}; gave up after {t.restarts} restarts from the last good state with a "
            f"halved learning rate (the last checkpoint is kept; try a lower train.lr)"
        ) from None
    restarts, lr_scale = t.restarts + 1, t.lr_scale / 2
    t.load_state(t.good_state)
    t.restarts, t.lr_scale = restarts, lr_scale
    tqdm.write(
        f"{error}: restarting from epoch {t.epoch + 1}, iteration {t.iteration} with the learning "
        f"rate times {lr_scale:g} (restart {restarts} of at most {t.cfg.train.nan_retries})"
    )


def _run_epoch(t: Training, log: RunLog) -> dict:
    """The rest of the current epoch's iterations; their mean statistics and the epoch's seconds."""
    cfg, self_training = t.cfg.train, t.cfg.self_training
    if self_training.threshold is not None and t.epoch >= self_training.start and t.iteration == 0:
        select_pseudo_labels(t)
    orders = epoch_orders(t, t.epoch)
    sums, counts = defaultdict(float), defaultdict(int)  # per statistic: some start mid-epoch (semi_start)
    epoch_start = last = time.perf_counter()

    def save():  # account the time trained so far before checkpointing it
        nonlocal last
        now = time.perf_counter()
        t.elapsed, last = t.elapsed + now - last, now
        _save(t, log)

    bar = tqdm(
        range(t.iteration, t.iters_per_epoch),
        desc=f"epoch {t.epoch + 1}/{cfg.epochs}",
        disable=not cfg.progress,
        leave=False,
        dynamic_ncols=True,
    )
    try:
        for i in bar:
            for k, v in train_iteration(t, orders, i).items():
                sums[k], counts[k] = sums[k] + v, counts[k] + 1
            t.iteration, t.step = i + 1, t.step + 1
            if i % 20 == 0:
                bar.set_postfix({k: f"{v / counts[k]:.3f}" for k, v in sums.items()})
            if cfg.checkpoint_every and t.step % cfg.checkpoint_every == 0:
                save()
    except KeyboardInterrupt:
        save()
        raise
    finally:
        bar.close()
    t.elapsed += time.perf_counter() - last
    return {k: v / counts[k] for k, v in sums.items()} | {"epoch_seconds": time.perf_counter() - epoch_start}


def fit(t: Training, log: RunLog | None = None, verbose: bool = True) -> list[dict]:
    """Train until `train.epochs`; after each epoch evaluate, log, then checkpoint (in that order, so a
    resumed run drops metrics newer than its checkpoint). `log`: the run folder's RunLog (None: no
    files). Returns one record per epoch (as in metrics.jsonl)."""
    log = log or RunLog(None)
    log.start(t.cfg, t.epoch, t.data.skipped)
    records = []
    if t.good_state is None:
        t.good_state = copy.deepcopy(t.state())
    try:
        while t.epoch < t.cfg.train.epochs:
            try:
                losses = _run_epoch(t, log)
            except NonFiniteLoss as e:
                _restart(t, e)
                continue
            t.epoch, t.iteration = t.epoch + 1, 0
            main = distributed.is_main()  # the other ranks hold the same weights: rank 0 evaluates
            # on a fork of the RNG: evaluation draws nothing from training's stream
            with fork_rng(t.device):
                record = {
                    "epoch": t.epoch,
                    "step": t.step,
                    **losses,
                    **(evaluate_epoch(t) if main else {}),
                    "elapsed": t.elapsed,
                }
                log.log_epoch(record, epoch_pictures(t) if main else None)
            _save(t, log)
            if verbose and main:
                tqdm.write(describe(record, t.cfg.train.epochs))
                sys.stdout.flush()  # a log redirected to a file shows each epoch as it ends
            records.append(record)
    finally:
        log.close()
    return records


def run(cfg: Config, name: str, resume: str | Path | None = None) -> Path:
    """Train `cfg` in a new numbered run folder, or continue the run in folder `resume`. Under torchrun
    every rank trains; rank 0 alone makes and writes the folder."""
    state = None
    if resume is not None:
        run_dir = Path(resume)
        state = load_checkpoint(run_dir / CHECKPOINT)
        saved = from_dict(state["config"]).to_dict()  # a config of an earlier version, as this one reads it
        check_same_config(saved, cfg.to_dict())
    t = build(cfg, load_dataset(cfg.data))
    main = distributed.is_main()
    if state is not None:
        t.load_state(state)
        message = f"resuming {run_dir} at epoch {t.epoch + 1}, iteration {t.iteration} (step {t.step})"
        saved_threads, threads = state.get("threads"), torch.get_num_threads()  # older checkpoints: None
        if saved_threads not in (None, threads):  # sums are split differently: the floats change slightly
            message += (
                f"; it was saved with {saved_threads} CPU threads and resumes with {threads}, so it "
                f"will not repeat a straight run bit for bit (set OMP_NUM_THREADS={saved_threads})"
            )
    else:
        run_dir = distributed.broadcast(new_run_dir(cfg.train.out_dir, cfg.train.name or name) if main else None)
        message = f"run folder: {run_dir}"
    if main:
        print(message + (f" ({distributed.world()[1]} processes)" if distributed.world()[1] > 1 else ""))
    fit(t, RunLog(run_dir if main else None))
    distributed.close()
    return run_dir
