"""What trained networks output, in evaluation mode and in batches: a discriminator's class logits,
probabilities and features, a segmenter's label maps, a generator's images."""

from __future__ import annotations

import numpy as np
import torch


@torch.no_grad()
def predict_logits(D: torch.nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(N, K) class logits of `D` in evaluation mode ((N, K, H, W) of a segmenter); N may be 0."""
    D.eval()
    if not len(x):  # no inputs (every file skipped): the outputs' shape from one blank image
        return D(torch.zeros((1, *x.shape[1:]), dtype=x.dtype, device=x.device))[:0]
    return torch.cat([D(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def predict_probs(D: torch.nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(N, K) fp32 class probabilities given that x is real: the softmax of predict_logits."""
    return predict_logits(D, x, batch_size).float().softmax(1)


@torch.no_grad()
def d_features(D: torch.nn.Module, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """(N, F) discriminator features of images (N, C, H, W), in evaluation mode."""
    D.eval()
    device = next(D.parameters()).device
    out = [
        D.features(torch.as_tensor(x[i : i + batch_size]).to(device)).float().cpu()
        for i in range(0, len(x), batch_size)
    ]
    return torch.cat(out).numpy()


@torch.no_grad()
def predict_label_maps(segmenter: torch.nn.Module, x: torch.Tensor, batch_size: int) -> np.ndarray:
    """(N, H, W) uint8 class of each pixel, the segmenter in evaluation mode; N may be 0."""
    segmenter.eval()
    if not len(x):
        return np.zeros((0, *x.shape[2:]), np.uint8)
    return torch.cat(
        [segmenter(x[i : i + batch_size]).argmax(1).to(torch.uint8).cpu() for i in range(0, len(x), batch_size)]
    ).numpy()


@torch.no_grad()
def generate(G, n: int, seed: int, batch_size: int = 500, **latent) -> np.ndarray:
    """n images from G in evaluation mode, from noise seeded by `seed`: (n, C, H, W) float32.
    `latent` goes to G.sample_z (`category=c` for a ClusterGAN generator)."""
    G.eval()
    device = next(G.parameters()).device
    gen = torch.Generator(device).manual_seed(seed)
    images = [
        G(G.sample_z(min(batch_size, n - i), generator=gen, **latent)).float().cpu() for i in range(0, n, batch_size)
    ]
    return torch.cat(images).numpy()


def picture(G, n: int, seed: int) -> np.ndarray:
    """About n images of G for a grid: for a ClusterGAN generator one row per category, the same
    noise down each column (ceil(n / categories) a row), else `generate`'s n images."""
    categories = getattr(G, "categories", 0)
    if not categories:
        return generate(G, n, seed)
    per_row = -(-n // categories)
    return np.concatenate([generate(G, per_row, seed, category=c) for c in range(categories)])
