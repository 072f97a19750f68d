"""Evaluate a finished (or interrupted) run from its folder: test accuracy, confusion matrix, samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_run, restore_models
from ..data import load_dataset
from ..errors import GanlearnError
from ..hardware import resolve_device
from ..models.outputs import generate, picture, predict_label_maps, predict_logits, predict_probs
from ..modes import MODES
from .domain_scores import available as domain_classifiers
from .domain_scores import load_domain_classifier, reference_stats, score_images
from .inception_fid import inception_extractor, inception_fids
from .metrics import accuracy, confusion_matrix, segmentation_scores
from .plots import overlays, plot_confusion, save_grid


def _classification_report(cfg, D, data, run_dir: Path, device) -> dict:
    x = torch.from_numpy(data.x_test).to(device)
    pred = predict_logits(D, x, cfg.train.eval_batch_size).argmax(1).cpu().numpy()
    counts = confusion_matrix(data.y_test, pred, data.n_classes)
    return {
        "n_test": len(pred),
        "test_acc": accuracy(data.y_test, pred),
        "confusion": counts.tolist(),
        "confusion_png": str(plot_confusion(counts, data.classes, run_dir / "confusion.png")),
    }


def _segmentation_report(cfg, segmenter, data, run_dir: Path, device, n_overlays: int = 32) -> dict:
    """Pixel accuracy, mean and per-class IoU of the segmenter on the test set; overlays.png beside."""
    x = torch.from_numpy(data.x_test).to(device)
    pred = predict_label_maps(segmenter, x, cfg.train.eval_batch_size)
    picture = overlays(data.x_test[:n_overlays], data.y_test[:n_overlays], pred[:n_overlays])
    return {
        "n_test": len(pred),
        **segmentation_scores(data.y_test, pred, data.classes),
        "overlays_png": str(save_grid(picture, run_dir / "overlays.png", nrow=4)),
    }


def _sample_report(data, fake: np.ndarray, real: np.ndarray) -> dict:
    """Scores of generated images, and of as many real training images (the floor), against the test
    set's features under the shipped domain classifier."""
    net, record = load_domain_classifier(data.name)
    reference = reference_stats(net, data.x_test)
    return {
        "samples": score_images(net, fake, reference),
        "real_train_floor": score_images(net, real, reference),
        "domain_classifier": {"dataset": record["dataset"], "test_accuracy": record["test_accuracy"]},
    }


def evaluate_run(
    run_dir: str | Path, overrides: list[str] = (), n_samples: int = 10_000, inception_weights: str | Path | None = None
) -> dict:
    """Evaluate a run: test accuracy and confusion matrix (confusion.png) of the EMA discriminator for
    classifier modes; pixel accuracy and IoU of the segmenter (overlays.png) in mode seg; FID-style,
    Inception-Score-style and class-coverage scores of the generator where a domain classifier ships
    for the data set, and the standard FID where `inception_weights` is given (inception_fid.py).
    Writes evaluation.json into the run folder."""
    run_dir = Path(run_dir)
    cfg, state = load_run(run_dir, overrides)
    mode = MODES[cfg.train.mode]
    extractor = None
    if inception_weights is not None:
        if not mode.generates:
            raise GanlearnError(
                f"{run_dir} was trained in mode '{cfg.train.mode}': no generator to score with Inception"
            )
        extractor = inception_extractor(inception_weights)  # before any work: checks the file and the package
    data = load_dataset(cfg.data)
    device = resolve_device(cfg.train.device)
    G, D = restore_models(cfg, state, device)
    report = {"run": str(run_dir), "mode": cfg.train.mode, "epoch": state["epoch"], "step": state["step"]}
    if mode.kind == "segmentation":
        report |= _segmentation_report(cfg, G, data, run_dir, device)
    if mode.classifies:
        report |= _classification_report(cfg, D, data, run_dir, device)
    has_domain = data.name in domain_classifiers()
    if mode.generates and (has_domain or extractor is not None):
        rng = np.random.default_rng(0)
        real = data.x_train[rng.choice(len(data.x_train), min(n_samples, len(data.x_train)), replace=False)]
        fake = generate(G, n_samples, seed=0)
        report["n_samples"] = n_samples
        if has_domain:
            report |= _sample_report(data, fake, real)
        if extractor is not None:  # generated and real training images (the floor) against the test set
            report["inception_fid"] = inception_fids(
                extractor, data.x_test, {"samples": fake, "real_train_floor": real}
            )
    report["report_json"] = str(run_dir / "evaluation.json")
    Path(report["report_json"]).write_text(json.dumps(report, indent=1))
    return report


def _check_one_split(run_dirs: list, cfgs: list, data) -> None:
    """A one-line error unless every run is a classifier trained on the same data and labelled split."""
    first, cfg0 = run_dirs[0], cfgs[0]
    for run_dir, cfg in zip(run_dirs, cfgs):
        if not MODES[cfg.train.mode].classifies:
            raise GanlearnError(f"{run_dir} was trained in mode '{cfg.train.mode}', which has no classifier")
        if (cfg.data.dataset, cfg.data.path) != (cfg0.data.dataset, cfg0.data.path):
            raise GanlearnError(
                f"{run_dir} was trained on {cfg.data.path or cfg.data.dataset}, "
                f"{first} on {cfg0.data.path or cfg0.data.dataset}"
            )
    labelled = MODES[cfg0.train.mode].split(cfg0, data).labelled
    for run_dir, cfg in zip(run_dirs[1:], cfgs[1:]):
        if not np.array_equal(MODES[cfg.train.mode].split(cfg, data).labelled, labelled):
            raise GanlearnError(
                f"{run_dir} and {first} were trained on different labelled splits, so their "
                f"ensemble would use more labels than either (give them the same data.split_seed)"
            )


def evaluate_ensemble(run_dirs: list[str | Path], overrides: list[str] = ()) -> dict:
    """Test accuracy of classifier runs trained on one labelled split with different training seeds,
    and of their ensemble: the class of highest mean probability p(y | x, real) over their EMA
    discriminators. Salimans et al. (2016) ensemble 10 models on CIFAR-10. A run may give a whole group
    of one class to another; the average outvotes that group where the other members have it right.
    Refuses runs on different labelled splits: their ensemble would have seen more labels."""
    if len(run_dirs) < 2:
        raise GanlearnError("an ensemble needs at least 2 run folders")
    runs = [load_run(run_dir, overrides) for run_dir in run_dirs]
    cfgs = [cfg for cfg, _ in runs]
    data = load_dataset(cfgs[0].data)
    _check_one_split(run_dirs, cfgs, data)
    device = resolve_device(cfgs[0].train.device)
    x = torch.from_numpy(data.x_test).to(device)
    probs = [
        predict_probs(restore_models(cfg, state, device)[1], x, cfg.train.eval_batch_size) for cfg, state in runs
    ]  # M x (N, K)
    members = [
        {"run": str(run_dir), "test_acc": accuracy(data.y_test, p.argmax(1).cpu().numpy())}
        for run_dir, p in zip(run_dirs, probs)
    ]
    pred = torch.stack(probs).mean(0).argmax(1).cpu().numpy()
    return {"members": members, "n_test": len(pred), "test_acc": accuracy(data.y_test, pred)}


def sample_run(run_dir: str | Path, n: int = 64, seed: int = 0, out: str | None = None) -> Path:
    """Save a grid of `n` generated images (PNG) and return its path."""
    if n < 1:
        raise GanlearnError(f"-n must be at least 1, got {n}")
    cfg, state = load_run(run_dir)
    if not MODES[cfg.train.mode].generates:
        raise GanlearnError(f"{run_dir} was trained in mode '{cfg.train.mode}', which has no image generator")
    G, _ = restore_models(cfg, state, resolve_device(cfg.train.device))
    images = picture(G, n, seed)
    nrow = len(images) // G.categories if getattr(G, "categories", 0) else None  # one row per category
    return save_grid(images, out or Path(run_dir) / "sample.png", nrow)
