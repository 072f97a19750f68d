"""2-D maps of what a GAN learned (`ganlearn embed`): PCA, t-SNE or UMAP of D features, coloured by
label or by k-means cluster.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from ..data import load_dataset
from ..errors import ConfigError
from ..evaluation.plots import plot_embedding
from ..models.outputs import d_features
from .representations import kmeans, load_gan_run, pick_split

EMBED_METHODS = ("pca", "tsne", "umap")


def map_colours(
    features: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    colour_by: str = "auto",
    k: int = 10,
    seed: int = 0,
) -> tuple[np.ndarray, list[str], str]:
    """(colour ids, their names, what they are) for a 2-D map: the labels, or k-means clusters of the
    features. "auto" takes clusters when the labels carry no information (one class only)."""
    if colour_by not in ("auto", "label", "cluster"):
        raise ConfigError(f"unknown colouring '{colour_by}'; choose auto, label or cluster")
    if colour_by == "label" or (colour_by == "auto" and len(np.unique(labels)) > 1):
        return labels, class_names, "label"
    k = min(k, len(features))
    return kmeans(features, k, seed).labels_, [f"cluster {i}" for i in range(k)], f"k-means cluster, k = {k}"


def embed_2d(x: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(N, 2) map of (N, F) features by PCA, t-SNE or UMAP (UMAP needs the umap-learn package)."""
    if method == "pca":
        return PCA(2, random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(2, init="pca", random_state=seed).fit_transform(
            PCA(min(50, *x.shape), random_state=seed).fit_transform(x)
        )
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise ConfigError("--method umap needs the umap-learn package (pip install umap-learn)") from None
        return umap.UMAP(random_state=seed).fit_transform(x)
    raise ConfigError(f"unknown embedding method '{method}'; choose one of {', '.join(EMBED_METHODS)}")


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
    cfg, _, _, D = load_gan_run(run_dir, overrides, "embed")
    data = load_dataset(cfg.data)
    x, y = pick_split(data, split, n)
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
