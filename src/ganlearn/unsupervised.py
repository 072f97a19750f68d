"""What a GAN learns without labels, put to use: clustering, 2-D maps and anomaly detection.

Every function takes arrays, so it works on discriminator features (`D.features(x)`), raw pixels
or anything else; `pixel_baselines` gives the two baselines every report carries (pixels, PCA of pixels).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, roc_auc_score
from sklearn.neighbors import NearestNeighbors

from .errors import ConfigError
from .losses import real_logit
from .predict import predict_logits

EMBED_METHODS = ("pca", "tsne", "umap")


@torch.no_grad()
def d_anomaly_scores(D: torch.nn.Module, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """-log p(real | x) under D (softplus(-lse(logits))): high for images unlike the training data."""
    logits = predict_logits(D, torch.as_tensor(x).to(next(D.parameters()).device), batch_size).float().cpu()
    return torch.nn.functional.softplus(-real_logit(logits)).numpy()


@torch.no_grad()
def gan_latents(G, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """(N, z_dim) latents a ClusterGAN generator's encoder reads from images: the recovered noise, then
    the category probabilities (the last `G.categories` columns)."""
    G.eval()
    device = next(G.parameters()).device
    latents = [
        G.latent_of(torch.as_tensor(x[i : i + batch_size]).to(device)).cpu() for i in range(0, len(x), batch_size)
    ]
    return torch.cat(latents).numpy()


@torch.no_grad()
def reconstruction_scores(G, D, x: np.ndarray, kappa: float = 1.0, batch_size: int = 1000) -> np.ndarray:
    """f-AnoGAN's score (Schlegl et al. 2019): x's image residual to G(E(x)), its re-generation from the
    encoder's latent, plus kappa times their D-feature residual (mean squares each): high for images
    the GAN cannot reproduce."""
    G.eval(), D.eval()
    device = next(D.parameters()).device
    scores = []
    for i in range(0, len(x), batch_size):
        xb = torch.as_tensor(x[i : i + batch_size]).to(device)  # (B, C, H, W)
        x_hat = G(G.latent_of(xb)).float()
        residual = (xb - x_hat).square().flatten(1).mean(1)
        feature_residual = (D.features(xb).float() - D.features(x_hat).float()).square().mean(1)
        scores.append((residual + kappa * feature_residual).cpu())
    return torch.cat(scores).numpy()


def pixel_baselines(fit_pixels: np.ndarray, n_components: int = 50, seed: int = 0):
    """A function images -> {"pixels": flattened, "pcaN of pixels": projected}, with the PCA fitted
    once on `fit_pixels`: the baselines every report shows beside D features."""
    fit = fit_pixels.reshape(len(fit_pixels), -1)
    pca = PCA(min(n_components, *fit.shape), random_state=seed).fit(fit)

    def baselines(images: np.ndarray) -> dict[str, np.ndarray]:
        flat = images.reshape(len(images), -1)
        return {"pixels": flat, f"pca{pca.n_components_} of pixels": pca.transform(flat)}

    return baselines


def cluster_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Accuracy of cluster ids after the best one-to-one matching to labels (Hungarian algorithm)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes, clusters = np.unique(y_true), np.unique(y_pred)
    counts = np.array([[np.sum((y_pred == c) & (y_true == t)) for t in classes] for c in clusters])
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(y_true))


def kmeans(x: np.ndarray, k: int, seed: int = 0) -> KMeans:
    """k-means with 10 restarts fitted on x (Euclidean, on the features as they are: standardising each
    dimension would blow up near-constant ones, such as border pixels); `.labels_` are x's clusters
    and `.predict` assigns new points."""
    if not 2 <= k <= len(x):
        raise ConfigError(f"k must be between 2 and the number of points ({len(x)}), got {k}")
    return KMeans(k, n_init=10, random_state=seed).fit(x)


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


def _unit_rows(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def knn_anomaly_scores(normal: np.ndarray, x: np.ndarray | None, k: int = 5, metric: str = "euclidean") -> np.ndarray:
    """Mean distance from each row of x to its k nearest rows of `normal` (x None: from each row of
    `normal` to its k nearest others). metric "cosine" compares directions only (rows scaled to unit
    length first): the scale of a feature vector, which varies with stroke thickness and contrast,
    then does not count as distance."""
    if metric not in ("euclidean", "cosine"):
        raise ConfigError(f"unknown k-NN metric '{metric}'; choose euclidean or cosine")
    need = k + 1 if x is None else k  # each normal image's neighbours are the others
    if len(normal) < need:
        raise ConfigError(f"k-NN scores with k = {k} need at least {need} normal images, got {len(normal)}")
    if metric == "cosine":
        normal, x = _unit_rows(normal), None if x is None else _unit_rows(x)
    return NearestNeighbors(n_neighbors=k).fit(normal).kneighbors(x)[0].mean(1)


def knn_standardise(normal: np.ndarray, scores: np.ndarray, k: int = 5, metric: str = "euclidean") -> np.ndarray:
    """(scores - mean) / std of the normal images' own k-NN distances (each against the others), for
    `scores` from `knn_anomaly_scores(normal, x, k, metric)`: on one scale whatever the representation,
    so that scores in several can be summed."""
    own = knn_anomaly_scores(normal, None, k, metric)
    return (scores - own.mean()) / max(own.std(), 1e-12)


def auroc(is_anomaly: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of `scores` for telling anomalies (True) from normal examples."""
    is_anomaly = np.asarray(is_anomaly, dtype=bool)
    if is_anomaly.all() or not is_anomaly.any():
        raise ConfigError("AUROC needs both normal and anomalous examples")
    return float(roc_auc_score(is_anomaly, scores))
