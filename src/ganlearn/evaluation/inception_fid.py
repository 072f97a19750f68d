"""Standard FID (Inception-v3 features, torch-fidelity) for users who have the Inception weights on disk.

The FID-style score of domain_scores.py needs nothing but the package. Papers on CIFAR-like images report
the standard FID, so `ganlearn evaluate RUN --inception-weights FILE` adds it through torch-fidelity
(`pip install 'ganlearn[fidelity]'`; it needs torchvision). Nothing is downloaded: the weights are the
file torch-fidelity would fetch (weights-inception-2015-12-05-6726825d.pth), given by path.
torch-fidelity loads that file with `weights_only=False`, which can run code; so it is first loaded
here with `weights_only=True` (checkpoint.load_plain) and refused unless it is a dict of tensors.

Only torch-fidelity's Inception feature extractor is used: it is built once, each set of images goes
through it once, and the distance is metrics.frechet_distance, the same formula as the FID-style score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_plain
from ..errors import GanlearnError
from .metrics import feature_stats, frechet_distance

EXTRACTOR = "inception-v3-compat"  # torch-fidelity's port of the TensorFlow Inception the FID paper used
FEATURES = "2048"  # the pool3 features FID is defined on


class _Uint8Images(torch.utils.data.Dataset):
    """(N, C, H, W) floats in [0, 1] as the (3, H, W) uint8 tensors torch-fidelity reads (grey -> RGB)."""

    def __init__(self, images: np.ndarray):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        x = torch.from_numpy(np.clip(self.images[i] * 255 + 0.5, 0, 255).astype(np.uint8))  # (C, H, W)
        return x.expand(3, -1, -1).contiguous() if x.shape[0] == 1 else x


def check_inception_weights(path: str | Path) -> Path:
    """The path, once its file loads with weights_only=True as a dict of tensors; else a one-line error."""
    state = load_plain(path, "Inception weights file")
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise GanlearnError(f"{path} is not a state dict of tensors")
    return Path(path)


def _fidelity_utils():
    try:
        from torch_fidelity import utils
    except ImportError as e:
        raise GanlearnError(
            f"--inception-weights needs torch-fidelity (pip install 'ganlearn[fidelity]'): {e}"
        ) from None
    return utils


def inception_extractor(weights: str | Path):
    """torch-fidelity's Inception-v3 feature extractor with the weights file at `weights` (checked first)."""
    weights = check_inception_weights(weights)
    return _fidelity_utils().create_feature_extractor(
        EXTRACTOR,
        [FEATURES],
        cuda=torch.cuda.is_available(),
        feature_extractor_weights_path=str(weights),
        verbose=False,
    )


def inception_features(extractor, images: np.ndarray) -> np.ndarray:
    """(N, 2048) Inception features of (N, C, H, W) images in [0, 1], C = 1 or 3."""
    # save_cpu_ram: no DataLoader worker processes, each of which would copy the in-memory images
    features = _fidelity_utils().get_featuresdict_from_dataset(
        _Uint8Images(images), extractor, batch_size=64, cuda=torch.cuda.is_available(), save_cpu_ram=True, verbose=False
    )
    return features[FEATURES].double().numpy()


def inception_fids(extractor, reference: np.ndarray, image_sets: dict[str, np.ndarray]) -> dict[str, float]:
    """Standard FID of each named set of images against the `reference` images; the reference's
    features are computed once for all of them."""
    reference_stats = feature_stats(inception_features(extractor, reference))
    return {
        name: frechet_distance(*feature_stats(inception_features(extractor, images)), *reference_stats)
        for name, images in image_sets.items()
    }


def inception_fid(generated: np.ndarray, real: np.ndarray, weights: str | Path) -> float:
    """Standard FID between generated and real images ((N, C, H, W) in [0, 1], C = 1 or 3)."""
    return inception_fids(inception_extractor(weights), real, {"generated": generated})["generated"]
