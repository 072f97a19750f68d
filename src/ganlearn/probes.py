"""The unsupervised commands on a trained run: features, cluster, embed, anomaly.

Each loads the run's EMA discriminator and data set, computes D features for a split, and reports
the same method on raw pixels and on PCA of pixels beside them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from .data import load_dataset
from .errors import GanlearnError
from .evaluate import load_run, restore_models
from .hardware import resolve_device
from .inference import Model
from .modes import MODES
from .plots import plot_embedding, plot_score_histograms
from .predict import d_features
from .unsupervised import (
    auroc,
    cluster_report,
    d_anomaly_scores,
    embed_2d,
    gan_latents,
    kmeans,
    knn_anomaly_scores,
    knn_standardise,
    map_colours,
    pixel_baselines,
    reconstruction_scores,
)

SPLITS = ("train", "test")


def _load(run_dir, overrides, command: str):
    """(cfg, checkpoint state, G, D) of a run whose D was trained as a GAN (not on labels alone)."""
    cfg, state = load_run(run_dir, overrides)
    if not MODES[cfg.train.mode].gan_features:
        raise GanlearnError(
            f"{run_dir} was trained in mode '{cfg.train.mode}', not as an image GAN; "
            f"`ganlearn {command}` needs a run of mode "
            f"{' or '.join(name for name, mode in MODES.items() if mode.gan_features)}"
        )
    G, D = restore_models(cfg, state, resolve_device(cfg.train.device))
    return cfg, state, G, D


def _split(data, split: str, n: int | None, seed: int = 0):
    if split not in SPLITS:
        raise GanlearnError(f"--split must be one of {', '.join(SPLITS)}, got '{split}'")
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    if not len(x):
        raise GanlearnError(f"the {split} split of {data.name} is empty (images without a test set: --split train)")
    if n is not None and n < len(x):
        pick = np.sort(np.random.default_rng(seed).choice(len(x), n, replace=False))
        x, y = x[pick], y[pick]
    return x, y


def features_run(run_dir, split: str = "test", out: str | None = None, overrides=()) -> Path:
    """Write D features and labels of a split to an .npz file."""
    cfg, _, _, D = _load(run_dir, overrides, "features")
    data = load_dataset(cfg.data)
    x, y = _split(data, split, None)
    out = Path(out or Path(run_dir) / f"features_{split}.npz")
    np.savez_compressed(out, features=d_features(D, x), labels=y)
    return out


def _clusterings(G, D, x: np.ndarray, k: int, seed: int) -> tuple[dict, np.ndarray]:
    """(name -> (N,) cluster ids of images x, the representation the first method clusters): the GAN's
    own categories and k-means on its encoder's latent (ClusterGAN runs), then k-means on D features,
    pixels and PCA of pixels."""
    reps = {"D features": d_features(D, x), **pixel_baselines(x, seed=seed)(x)}
    own, first_rep = {}, reps["D features"]
    if hasattr(G, "encode"):
        first_rep = gan_latents(G, x)
        categories = first_rep[:, -G.categories :].argmax(1)
        own = {"GAN categories": categories, "k-means, encoder latent": kmeans(first_rep, k, seed).labels_}
    return own | {f"k-means, {name}": kmeans(r, k, seed).labels_ for name, r in reps.items()}, first_rep


def cluster_run(run_dir, k: int = 10, split: str = "test", n: int | None = None, overrides=()) -> dict:
    """Cluster a split: the GAN's own categories (a ClusterGAN run, mode cluster) beside k-means on
    D features, pixels and PCA of pixels; NMI / ARI / accuracy against the labels. Writes
    clusters.json, clusters.npz (the first method's assignments) and clusters_map.png (a t-SNE
    map of up to 2000 of the images, coloured by those clusters) into the run folder."""
    cfg, _, G, D = _load(run_dir, overrides, "cluster")
    x, y = _split(load_dataset(cfg.data), split, n)
    labels = y if (y >= 0).all() else None  # some images unlabelled: cluster sizes only
    assignments, first_rep = _clusterings(G, D, x, k, cfg.train.seed)
    first = next(iter(assignments))
    report = {
        "run": str(run_dir),
        "split": split,
        "n": len(x),
        "k": k,
        "results": {name: cluster_report(labels, a) for name, a in assignments.items()},
        "map_png": str(Path(run_dir) / "clusters_map.png"),
    }
    np.savez_compressed(Path(run_dir) / "clusters.npz", clusters=assignments[first], labels=y)
    (Path(run_dir) / "clusters.json").write_text(json.dumps(report, indent=1))
    shown = slice(0, 2000)
    rep, ids = first_rep[shown], assignments[first][shown]
    names = [f"cluster {i}" for i in range(int(ids.max()) + 1)]
    title = f"{len(ids)} {split} images, t-SNE, coloured by {first}"
    plot_embedding(embed_2d(rep, "tsne", cfg.train.seed), ids, names, report["map_png"], size=700, title=title)
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
    cfg, _, _, D = _load(run_dir, overrides, "embed")
    data = load_dataset(cfg.data)
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


def _anomaly_scores(G, D, normal: np.ndarray, x: np.ndarray, k: int, seed: int) -> dict:
    """name -> (N,) anomaly scores of images x against `normal` images: f-AnoGAN's reconstruction score
    (ClusterGAN runs), D's -log p(real | x), and k-NN distance (Euclidean, cosine) to the normal
    images in D features, pixels and PCA of pixels (fitted on the normal images), and the sum of the
    standardised cosine distances in D features and in pixels."""
    scores = {"GAN reconstruction": reconstruction_scores(G, D, x)} if hasattr(G, "encode") else {}
    scores["D output"] = d_anomaly_scores(D, x)
    baselines = pixel_baselines(normal, seed=seed)
    normal_reps = {"D features": d_features(D, normal), **baselines(normal)}
    test_reps = {"D features": d_features(D, x), **baselines(x)}
    for metric, label in (("euclidean", ""), ("cosine", " cosine")):
        scores |= {
            f"{k}-NN{label}, {name}": knn_anomaly_scores(normal_reps[name], test_reps[name], k, metric)
            for name in test_reps
        }
    # D features and pixels miss different anomalies; their standardised cosine distances add up
    scores[f"{k}-NN cosine, D features + pixels"] = sum(
        knn_standardise(normal_reps[name], scores[f"{k}-NN cosine, {name}"], k, "cosine")
        for name in ("D features", "pixels")
    )
    return scores


def anomaly_run(run_dir, k: int = 5, n_normal: int = 10_000, overrides=()) -> dict:
    """AUROC of anomaly scores (`_anomaly_scores`) for the test images of the classes the run was
    trained without, the normal ones being those of the classes it was trained on."""
    cfg, _, G, D = _load(run_dir, overrides, "anomaly")
    data = load_dataset(cfg.data)
    held_out = cfg.data.exclude_classes
    if not held_out:
        raise GanlearnError(
            f"{run_dir} was trained on every class; for anomaly detection train on normal "
            f"data only, e.g. --set data.exclude_classes=[3]"
        )
    normal, _ = _split(data, "train", n_normal, cfg.train.seed)
    x, y = data.x_test, data.y_test
    is_anomaly = np.isin(y, held_out)
    scores = _anomaly_scores(G, D, normal, x, k, cfg.train.seed)
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


def _input_images(state, D, inputs) -> tuple[np.ndarray, list[str]]:
    """New images (files, folders, .npz) converted as `ganlearn predict` converts them, and their names."""
    x, names = Model(D, state["classes"], state["image_shape"], state.get("conversion"), kplus1=False).images(inputs)
    if not len(x):
        raise GanlearnError("no input images")
    return x.numpy(), names


def _write_csv(out: Path, header: list[str], names: list[str], columns: list[np.ndarray]) -> Path:
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, name in enumerate(names):
            writer.writerow([name, *(c[i] if c.dtype.kind in "iu" else f"{c[i]:.6g}" for c in columns)])
    return out


def cluster_inputs(run_dir, inputs, out, k: int = 10, n_fit: int = 10_000, overrides=()) -> Path:
    """Assign new images to clusters, as a CSV of file, cluster (and each category's probability):
    the GAN's own categories for a ClusterGAN run, else the nearest of k k-means centres fitted on
    the D features of up to `n_fit` training images."""
    cfg, state, G, D = _load(run_dir, overrides, "cluster")
    x, names = _input_images(state, D, inputs)
    if hasattr(G, "encode"):
        probs = gan_latents(G, x)[:, -G.categories :]
        header = ["file", "cluster", *(f"p_{c}" for c in range(probs.shape[1]))]
        return _write_csv(Path(out), header, names, [probs.argmax(1), *probs.T])
    fit, _ = _split(load_dataset(cfg.data), "train", n_fit, cfg.train.seed)
    centres = kmeans(d_features(D, fit), k, cfg.train.seed)
    return _write_csv(Path(out), ["file", "cluster"], names, [centres.predict(d_features(D, x))])


def anomaly_inputs(run_dir, inputs, out, k: int = 5, n_normal: int = 10_000, overrides=()) -> Path:
    """Score new images against the run's training images (its normal data), as a CSV of file and
    one column per score of `_anomaly_scores`; higher is more anomalous in every column."""
    cfg, state, G, D = _load(run_dir, overrides, "anomaly")
    x, names = _input_images(state, D, inputs)
    normal, _ = _split(load_dataset(cfg.data), "train", n_normal, cfg.train.seed)
    scores = _anomaly_scores(G, D, normal, x, k, cfg.train.seed)
    return _write_csv(Path(out), ["file", *scores], names, list(scores.values()))
