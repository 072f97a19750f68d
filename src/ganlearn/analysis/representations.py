"""What the analysis commands share, and `ganlearn features`: a run whose D learned as a GAN, loaded;
a split of its data or new images; the representations the methods work on (D features, pixels and
PCA of pixels, a ClusterGAN encoder's latents); the CSV that the commands on new images write.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from ..checkpoint import load_run, restore_models
from ..data import load_dataset
from ..data.inputs import InputReader, report_skipped, skipped_beside
from ..errors import ConfigError, DataError, GanlearnError
from ..hardware import resolve_device
from ..models.outputs import d_features
from ..modes import MODES

SPLITS = ("train", "test")


def load_gan_run(run_dir, overrides, command: str):
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


def pick_split(data, split: str, n: int | None, seed: int = 0):
    if split not in SPLITS:
        raise GanlearnError(f"--split must be one of {', '.join(SPLITS)}, got '{split}'")
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    if not len(x):
        raise GanlearnError(f"the {split} split of {data.name} is empty (images without a test set: --split train)")
    if n is not None and n < len(x):
        pick = np.sort(np.random.default_rng(seed).choice(len(x), n, replace=False))
        x, y = x[pick], y[pick]
    return x, y


def input_images(cfg, state, inputs, out, skip_bad=False, max_pixels=None) -> tuple[np.ndarray, list[str]]:
    """New images (files, folders, .npz) converted as `ganlearn predict` converts them, and their names;
    files skipped as unreadable (`skip_bad`) are listed in OUT_skipped.csv beside the CSV `out`;
    `max_pixels` None: the run's data.max_image_pixels."""
    max_pixels = cfg.data.max_image_pixels if max_pixels is None else max_pixels
    reader = InputReader(state["image_shape"], state.get("conversion"), "input images", skip_bad, max_pixels)
    x, names = reader.read(inputs)
    report_skipped(reader.skipped, skipped_beside(out))
    if not len(x):
        raise DataError("none of the inputs could be read" if reader.skipped else "no input images")
    return x, names


def write_csv(out: Path, header: list[str], names: list[str], columns: list[np.ndarray]) -> Path:
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, name in enumerate(names):
            writer.writerow([name, *(c[i] if c.dtype.kind in "iu" else f"{c[i]:.6g}" for c in columns)])
    return out


def pixel_baselines(fit_pixels: np.ndarray, n_components: int = 50, seed: int = 0):
    """A function images -> {"pixels": flattened, "pcaN of pixels": projected}, with the PCA fitted
    once on `fit_pixels`: the baselines every report shows beside D features."""
    fit = fit_pixels.reshape(len(fit_pixels), -1)
    pca = PCA(min(n_components, *fit.shape), random_state=seed).fit(fit)

    def baselines(images: np.ndarray) -> dict[str, np.ndarray]:
        flat = images.reshape(len(images), -1)
        return {"pixels": flat, f"pca{pca.n_components_} of pixels": pca.transform(flat)}

    return baselines


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


def kmeans(x: np.ndarray, k: int, seed: int = 0) -> KMeans:
    """k-means with 10 restarts fitted on x (Euclidean, on the features as they are: standardising each
    dimension would blow up near-constant ones, such as border pixels); `.labels_` are x's clusters
    and `.predict` assigns new points."""
    if not 2 <= k <= len(x):
        raise ConfigError(f"k must be between 2 and the number of points ({len(x)}), got {k}")
    return KMeans(k, n_init=10, random_state=seed).fit(x)


def features_run(run_dir, split: str = "test", out: str | None = None, overrides=()) -> Path:
    """Write D features and labels of a split to an .npz file."""
    cfg, _, _, D = load_gan_run(run_dir, overrides, "features")
    data = load_dataset(cfg.data)
    x, y = pick_split(data, split, None)
    out = Path(out or Path(run_dir) / f"features_{split}.npz")
    np.savez_compressed(out, features=d_features(D, x), labels=y)
    return out
