"""Clustering what a GAN learned (`ganlearn cluster`): the GAN's own categories (ClusterGAN) beside
k-means on D features, pixels and PCA of pixels, scored against the labels (NMI, ARI, accuracy after
the best matching of clusters to classes).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from ..data import load_dataset
from ..evaluation.plots import plot_embedding
from ..models.outputs import d_features
from .maps import embed_2d
from .representations import gan_latents, input_images, kmeans, load_gan_run, pick_split, pixel_baselines, write_csv


def cluster_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Accuracy of cluster ids after the best one-to-one matching to labels (Hungarian algorithm)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes, clusters = np.unique(y_true), np.unique(y_pred)
    counts = np.array([[np.sum((y_pred == c) & (y_true == t)) for t in classes] for c in clusters])
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(y_true))


def cluster_report(y_true: np.ndarray | None, y_pred: np.ndarray) -> dict:
    """NMI, ARI and Hungarian cluster accuracy when labels exist; the cluster sizes always."""
    report = {"cluster_sizes": np.bincount(y_pred).tolist()}
    if y_true is not None:
        report |= {
            "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
            "ari": float(adjusted_rand_score(y_true, y_pred)),
            "acc": cluster_accuracy(y_true, y_pred),
        }
    return report


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
    cfg, _, G, D = load_gan_run(run_dir, overrides, "cluster")
    x, y = pick_split(load_dataset(cfg.data), split, n)
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


def cluster_inputs(run_dir, inputs, out, k: int = 10, n_fit: int = 10_000, overrides=(), **reading) -> Path:
    """Assign new images to clusters, as a CSV of file, cluster (and each category's probability):
    the GAN's own categories for a ClusterGAN run, else the nearest of k k-means centres fitted on
    the D features of up to `n_fit` training images. `reading`: input_images' skip_bad, max_pixels."""
    cfg, state, G, D = load_gan_run(run_dir, overrides, "cluster")
    x, names = input_images(cfg, state, inputs, out, **reading)
    if hasattr(G, "encode"):
        probs = gan_latents(G, x)[:, -G.categories :]
        header = ["file", "cluster", *(f"p_{c}" for c in range(probs.shape[1]))]
        return write_csv(Path(out), header, names, [probs.argmax(1), *probs.T])
    fit, _ = pick_split(load_dataset(cfg.data), "train", n_fit, cfg.train.seed)
    centres = kmeans(d_features(D, fit), k, cfg.train.seed)
    return write_csv(Path(out), ["file", "cluster"], names, [centres.predict(d_features(D, x))])
