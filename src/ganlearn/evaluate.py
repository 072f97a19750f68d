"""Evaluate a finished (or interrupted) run from its folder: test accuracy, confusion matrix, samples."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from . import config as config_mod
from .checkpoint import load_checkpoint
from .data import load_dataset
from .errors import GanlearnError
from .hardware import resolve_device
from .metrics import accuracy, confusion_matrix
from .nets import build_models
from .plots import plot_confusion, save_grid
from .runlog import CHECKPOINT
from .trainer import predict_logits


def load_run(run_dir: str | Path, overrides: list[str] = ()):
    """(config, checkpoint state) of a run folder; `overrides` may point data.data_dir elsewhere."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise GanlearnError(f"run folder does not exist: {run_dir}")
    state = load_checkpoint(run_dir / CHECKPOINT)
    raw = state["config"]
    for section, key, value in map(config_mod.parse_override, overrides):
        raw[section][key] = value
    return config_mod.from_dict(raw), state


def restore_models(cfg, state, device: torch.device):
    """The run's generator and EMA discriminator, in evaluation mode."""
    G, D = build_models(cfg.model, state["image_shape"], len(state["classes"]))
    G.load_state_dict(state["G"])
    D.load_state_dict(state["D_ema"])
    return G.to(device).eval(), D.to(device).eval()


def evaluate_run(run_dir: str | Path, overrides: list[str] = ()) -> dict:
    """Test accuracy and confusion matrix of the run's EMA discriminator; writes confusion.png and
    evaluation.json into the run folder."""
    run_dir = Path(run_dir)
    cfg, state = load_run(run_dir, overrides)
    data = load_dataset(cfg.data)
    device = resolve_device(cfg.train.device)
    _, D = restore_models(cfg, state, device)
    x = torch.from_numpy(data.x_test).to(device)
    pred = predict_logits(D, x, cfg.train.eval_batch_size).argmax(1).cpu().numpy()
    counts = confusion_matrix(data.y_test, pred, data.n_classes)
    report = {"run": str(run_dir), "epoch": state["epoch"], "step": state["step"], "n_test": len(pred),
              "test_acc": accuracy(data.y_test, pred), "confusion": counts.tolist(),
              "confusion_png": str(plot_confusion(counts, data.classes, run_dir / "confusion.png")),
              "report_json": str(run_dir / "evaluation.json")}
    Path(report["report_json"]).write_text(json.dumps(report, indent=1))
    return report


def sample_run(run_dir: str | Path, n: int = 64, seed: int = 0, out: str | None = None) -> Path:
    """Save a grid of `n` generated images (PNG) and return its path."""
    if n < 1:
        raise GanlearnError(f"-n must be at least 1, got {n}")
    cfg, state = load_run(run_dir)
    if cfg.train.mode == "supervised":
        raise GanlearnError(f"{run_dir} was trained in mode 'supervised', which has no generator")
    device = resolve_device(cfg.train.device)
    G, _ = restore_models(cfg, state, device)
    with torch.no_grad():
        images = G(G.sample_z(n, generator=torch.Generator(device).manual_seed(seed))).cpu().numpy()
    return save_grid(images, out or Path(run_dir) / "sample.png")
