"""Checkpoints: written atomically, read with weights_only=True, refused when the config differs; and
a run folder read back (`load_run`: its config and checkpoint; `restore_models`: its networks)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from . import config as config_mod
from .errors import CheckpointError, GanlearnError, first_line
from .models import build_models
from .modes import MODES

CHECKPOINT = "checkpoint.pt"  # a run folder's checkpoint file

# keys that may change between a run and its resumption: where data lives, how long to train, display
RESUMABLE_CHANGES = {
    "data.data_dir",
    "data.download",
    "train.epochs",
    "train.device",
    "train.precision",
    "train.cuda_graphs",
    "train.progress",
    "train.checkpoint_every",
    "train.out_dir",
    "train.nan_retries",
}


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write `state` to a temporary file, fsync it, then rename it over `path`: a crash or a full
    disk leaves the previous checkpoint intact."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise CheckpointError(
            f"could not write checkpoint {path} ({e.strerror or e}); the previous checkpoint is unchanged"
        ) from None


def load_plain(path: str | Path, what: str = "checkpoint"):
    """torch.load of tensors and plain data only: a file that would run code when unpickled is refused
    with a one-line error that calls it `what`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" in str(e).lower():  # the weights-only unpickler met a class or function reference
            raise CheckpointError(
                f"refusing to load {path}: it holds objects other than tensors and plain data, which could run code"
            ) from None
        raise CheckpointError(f"{path} is not a readable {what} (not a torch file)") from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable {what} ({first_line(e)})") from None


def load_checkpoint(path: str | Path) -> dict:
    """A ganlearn checkpoint (a dict with its config), loaded by `load_plain`."""
    state = load_plain(path)
    if not isinstance(state, dict) or "config" not in state:
        raise CheckpointError(f"{path} is not a ganlearn checkpoint")
    return state


def load_weights(module: torch.nn.Module, weights: dict, what: str) -> None:
    """`module.load_state_dict(weights)`, or one line saying the saved networks do not fit this version's."""
    try:
        module.load_state_dict(weights)
    except (RuntimeError, KeyError, ValueError) as e:
        raise CheckpointError(
            f"the saved {what} does not fit this ganlearn version's networks ({first_line(e)}); "
            f"train again, or use the ganlearn version that wrote it"
        ) from None


def _flatten(cfg: dict) -> dict:
    return {f"{section}.{key}": value for section, values in cfg.items() for key, value in values.items()}


def check_same_config(saved: dict, current: dict, defaults: dict | None = None) -> None:
    """Refuse to resume a run with a config that changes what is being trained. A key the saved
    config lacks (a checkpoint older than the key) counts as its value in `defaults`."""
    old, new = _flatten(defaults or {}) | _flatten(saved), _flatten(current)
    diffs = [
        f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
        for k in sorted(set(old) | set(new))
        if k not in RESUMABLE_CHANGES and old.get(k) != new.get(k)
    ]
    if diffs:
        raise CheckpointError("the config differs from the checkpoint's: " + "; ".join(diffs))


def load_run(run_dir: str | Path, overrides: list[str] = ()):
    """(config, checkpoint state) of a run folder; `overrides` may point data.data_dir elsewhere. The
    run is evaluated where it is: on a GPU if there is one, else on the CPU (train.device: auto)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise GanlearnError(f"run folder does not exist: {run_dir}")
    state = load_checkpoint(run_dir / CHECKPOINT)
    return config_mod.with_overrides(state["config"], ["train.device=auto", *overrides]), state


def restore_models(cfg, state, device: torch.device):
    """The run's generator and EMA discriminator, in evaluation mode."""
    n_out = MODES[cfg.train.mode].d_outputs(len(state["classes"]))
    G, D = build_models(cfg.model, state["image_shape"], n_out)
    load_weights(G, state["G"], "generator")
    load_weights(D, state["D_ema"], "discriminator")
    return G.to(device).eval(), D.to(device).eval()
