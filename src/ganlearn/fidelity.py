"""Standard FID (Inception-v3 features, torch-fidelity) for users who have the Inception weights on disk.

The FID-style score of scores.py needs nothing but the package. Papers on CIFAR-like images report
the standard FID, so `ganlearn evaluate RUN --inception-weights FILE` adds it through torch-fidelity
(`pip install 'ganlearn[fidelity]'`; it needs torchvision). Nothing is downloaded: the weights are the
file torch-fidelity would fetch (weights-inception-2015-12-05-6726825d.pth), given by path.
torch-fidelity loads that file with `weights_only=False`, which can run code; so it is first loaded
here with `weights_only=True` (checkpoint.load_plain) and refused unless it is a dict of tensors.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_plain
from .errors import GanlearnError


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


def inception_fid(generated: np.ndarray, real: np.ndarray, weights: str | Path) -> float:
    """Standard FID between generated and real images ((N, C, H, W) in [0, 1], C = 1 or 3)."""
    weights = check_inception_weights(weights)
    try:
        import torch_fidelity
    except ImportError as e:
        raise GanlearnError(f"--inception-weights needs torch-fidelity "
                            f"(pip install 'ganlearn[fidelity]'): {e}") from None
    # save_cpu_ram: no DataLoader worker processes, each of which would copy the in-memory images
    metrics = torch_fidelity.calculate_metrics(
        input1=_Uint8Images(generated), input2=_Uint8Images(real), fid=True,
        feature_extractor="inception-v3-compat", feature_extractor_weights_path=str(weights),
        cuda=torch.cuda.is_available(), cache=False, datasets_download=False, save_cpu_ram=True, verbose=False)
    return float(metrics["frechet_inception_distance"])
