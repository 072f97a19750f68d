"""Nearest neighbours of the training images in pixel space, for `train.neighbour_weight`.

The K+1 discriminator gives each dense cluster of unlabelled images one class, and a cluster that
no labelled image touches (on some MNIST splits the sevens crossed in the middle) can go to the
wrong one. Pixel-space neighbours are evidence the discriminator does not produce itself: most
neighbours of a crossed seven are sevens. The neighbour term (losses.neighbour_loss) asks D to
give an image and one of its neighbours the same class distribution.
"""
from __future__ import annotations

import torch


@torch.no_grad()
def nearest_neighbours(x: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    """(N, k) indices of each row's k nearest other rows of `x` (N, ...) in Euclidean distance,
    nearest first. Exact, in fp32, `chunk` rows at a time: N^2 distances, none of them kept."""
    if not 0 < k < len(x):
        raise ValueError(f"k must be in [1, {len(x) - 1}] for {len(x)} images, got {k}")
    flat = x.reshape(len(x), -1).float()  # (N, P)
    sq_norms = flat.square().sum(1)  # (N,)
    rows = []
    for start in range(0, len(flat), chunk):
        block = flat[start:start + chunk]  # (C, P)
        dist = sq_norms[start:start + chunk, None] - 2 * block @ flat.T + sq_norms[None, :]  # (C, N)
        own = torch.arange(start, start + len(block), device=x.device)
        dist[torch.arange(len(block), device=x.device), own] = float("inf")  # not its own neighbour
        rows.append(dist.topk(k, dim=1, largest=False).indices)
    return torch.cat(rows)
