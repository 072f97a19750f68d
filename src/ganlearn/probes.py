"""The unsupervised commands on a trained run: features, cluster, embed, anomaly.

Each loads the run's EMA discriminator and data set, computes D features for a split, and reports
the same method on raw pixels and on PCA of pixels beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .data import load_dataset
from .errors import GanlearnError
from .evaluate import load_run, restore_models
from .hardware import resolve_device
from .modes import MODES
from .plots import plot_embedding, plot_score_histograms
from .predict import d_features
from .unsupervised import (
    auroc,
    cluster_report,
    d_anomaly_scores,
    embed_2d,
    kmeans,
    knn_anomaly_scores,
    map_colours,
    pixel_baselines,
)

SPLITS = ("train", "test")


def _load(run_dir, overrides, command: str):
    """(cfg, data, D) of a run whose D was trained as a GAN (not on labels alone)."""
    cfg, state = load_run(run_dir, overrides)
    if not MODES[cfg.train.mode].gan_features:
        raise GanlearnError(
            f"{run_dir} was trained in mode '{cfg.train.mode}', not as an image GAN; "
            f"`ganlearn {command}` needs a run of mode "
            f"{' or '.join(name for name, mode in MODES.items() if mode.gan_features)}"
        )
    _, D = restore_models(cfg, state, resolve_device(cfg.train.device))
    return cfg, load_dataset(cfg.data), D


def _split(data, split: str, n: int | None, seed: int = 0):
    if split not in SPLITS:
        raise GanlearnError(f"--split must be one of {', '.join(SPLITS)}, got '{split}'")
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    if n is not None and n < len(x):
        pick = np.sort(np.random.default_rng(seed).choice(len(x), n, replace=False))
        x, y = x[pick], y[pick]
    return x, y


def features_run(run_dir, split: str = "test", out: str | None = None, overrides=()) -> Path:
    """Write D features and labels of a split to an .npz file."""
    cfg, data, D = _load(run_dir, overrides, "features")
    x, y = _split(data, split, None)
    out = Path(out or Path(run_dir) / f"features_{split}.npz")
    np.savez_compressed(out, features=d_features(D, x), labels=y)
    return out


def cluster_run(run_dir, k: int = 10, split: str = "test", n: int | None = None, overrides=()) -> dict:
    """k-means on D features, pixels and PCA of pixels; NMI / ARI / accuracy against the labels.
    Writes clusters.json and clusters.npz (the D-feature assignments) into the run folder."""
    cfg, data, D = _load(run_dir, overrides, "cluster")
    x, y = _split(data, split, n)
    reps = {"D features": d_features(D, x), **pixel_baselines(x, seed=cfg.train.seed)(x)}
    assignments = {name: kmeans(r, k, cfg.train.seed) for name, r in reps.items()}
    report = {
        "run": str(run_dir),
        "split": split,
        "n": len(x),
        "k": k,
        "results": {name: cluster_report(y, a) for name, a in assignments.items()},
    }
    np.savez_compressed(Path(run_dir) / "clusters.npz", clusters=assignments["D features"], labels=y)
    (Path(run_dir) / "clusters.json").write_text(json.dumps(report, indent=1))
    return report


def embed_run(
    run_dir,
    method: str = "pca",
    split: str = "test",
    n: int = 2000,
    out: str | None = None,
    thumbnails: bool = False,
    size: int = 800,
    colour_by: str = "auto",
    overrides=(),
) -> Path:
    """A 2-D map (PNG, size x size pixels) of D features, coloured by label, or by k-means cluster
    (`colour_by` "cluster"; "auto" does so when the data has a single class, i.e. no labels)."""
    cfg, data, D = _load(run_dir, overrides, "embed")
    x, y = _split(data, split, n)
    features = d_features(D, x)
    colours, names, what = map_colours(features, y, data.classes, colour_by, seed=cfg.train.seed)
    points = embed_2d(features, method, cfg.train.seed)
    out = Path(out or Path(run_dir) / f"embed_{method}.png")
    return plot_embedding(
        points,
        colours,
        names,
        out,
        images=x if thumbnails else None,
        size=size,
        title=f"D features of {len(x)} {split} images, {method}, coloured by {what}",
    )


def anomaly_run(run_dir, k: int = 5, n_normal: int = 10_000, overrides=()) -> dict:
    """AUROC of anomaly scores for the test images of the classes the run was trained without:
    D's -log p(real | x), and k-NN distance (Euclidean and cosine) in D features, pixels and PCA of pixels."""
    cfg, data, D = _load(run_dir, overrides, "anomaly")
    held_out = cfg.data.exclude_classes
    if not held_out:
        raise GanlearnError(
            f"{run_dir} was trained on every class; for anomaly detection train on normal "
            f"data only, e.g. --set data.exclude_classes=[3]"
        )
    normal, _ = _split(data, "train", n_normal, cfg.train.seed)
    x, y = data.x_test, data.y_test
    is_anomaly = np.isin(y, held_out)
    baselines = pixel_baselines(normal, seed=cfg.train.seed)
    normal_reps = {"D features": d_features(D, normal), **baselines(normal)}
    test_reps = {"D features": d_features(D, x), **baselines(x)}
    scores = {"D output": d_anomaly_scores(D, x)}
    for metric, label in (("euclidean", ""), ("cosine", " cosine")):
        scores |= {
            f"{k}-NN{label}, {name}": knn_anomaly_scores(normal_reps[name], test_reps[name], k, metric)
            for name in test_reps
        }
    report = {
        "run": str(run_dir),
        "held_out": held_out,
        "n_test": len(x),
        "n_anomalies": int(is_anomaly.sum()),
        "auroc": {name: auroc(is_anomaly, s) for name, s in scores.items()},
        "histogram_png": str(Path(run_dir) / "anomaly_scores.png"),
    }
    plot_score_histograms(
        {name: (s[~is_anomaly], s[is_anomaly]) for name, s in scores.items()}, report["histogram_png"]
    )
    (Path(run_dir) / "anomaly.json").write_text(json.dumps(report, indent=1))
    return report
