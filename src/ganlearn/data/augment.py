"""Random augmentation of training images: shifts (`train.augment_shift`), flips (`train.augment_flip`)
and FixMatch's weak and strong views (the `consistency:` term).

With ten labels per class the class loss sees the same hundred images every epoch and fits them
within a few epochs. Moving each labelled image by a small random shift each time it is drawn gives
the class loss more varied examples of every class. By default only the labelled stream is moved,
so G still models the data as it is; `train.augment_unlabelled` moves the unlabelled images too, so
that labelled and unlabelled images come from one distribution (and G learns the moved one). G's
samples are never moved.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_shift(x: torch.Tensor, max_shift: float) -> torch.Tensor:
    """Each image of x (B, C, H, W) shifted by up to `max_shift` pixels along each axis, uniformly at
    random from torch's generator; bilinear, with the border pixels carried outwards (MNIST's black
    background stays black)."""
    if not max_shift:
        return x
    n, _, h, w = x.shape
    # grid_sample reads input coordinates in [-1, 1] (pixel centres at (2j + 1) / side - 1): a pixel is
    # 2 / side of that range. The grid is written out: F.affine_grid's batched product is 2x slower
    xs = (2 * torch.arange(w, device=x.device) + 1) / w - 1  # (W,)
    ys = (2 * torch.arange(h, device=x.device) + 1) / h - 1  # (H,)
    shift_x, shift_y = (
        (2 * torch.rand(n, 1, device=x.device) - 1) * (2 * max_shift / side) for side in (w, h)
    )  # (B, 1)
    grid = torch.stack(
        [(xs + shift_x)[:, None, :].expand(n, h, w), (ys + shift_y)[:, :, None].expand(n, h, w)], -1
    )  # (B, H, W, 2)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=False)


def weak_augment(x: torch.Tensor, max_shift: float, flip: bool) -> torch.Tensor:
    """FixMatch's weak view: a random horizontal flip of half the images (where `flip` is set; not for
    digits or text), then a random shift of up to `max_shift` pixels."""
    if flip:
        flipped = torch.rand(len(x), 1, 1, 1, device=x.device) < 0.5  # (B, 1, 1, 1)
        x = torch.where(flipped, x.flip(3), x)
    return random_shift(x, max_shift)


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """other + factor * (x - other): PIL's ImageEnhance (factor 1: x; 0: other), clipped to [0, 1]."""
    return (other + factor * (x - other)).clamp(0, 1)


def _grey(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, 1, H, W) luminance (ITU-R 601, as PIL's L mode); grey images are their own."""
    if x.shape[1] != 3:
        return x.mean(1, keepdim=True)
    return (x * torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)[:, None, None]).sum(1, keepdim=True)


def _colour_ops(x: torch.Tensor, m: torch.Tensor) -> list[torch.Tensor]:
    """RandAugment's colour operations (Equalize left out) on the whole batch, operation k at per-image
    magnitudes m[:, k] in [0, 1] (m: (B, 7))."""
    m = m[:, :, None, None, None]  # (B, 7, 1, 1, 1)
    factor = 0.05 + 1.9 * m  # PIL enhance factors in [0.05, 1.95] (FixMatch's RandAugment ports: [0.1, 1.9])
    low, high = x.amin((2, 3), keepdim=True), x.amax((2, 3), keepdim=True)  # (B, C, 1, 1)
    step = 2 ** (4 - (4 * m[:, 5]).round())  # posterize: keep 4 to 8 bits, a step of 16 to 1 of 255
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)  # PIL's smoothing, roughly
    grey = _grey(x)  # (B, 1, H, W)
    return [
        torch.where(high > low, (x - low) / (high - low).clamp_min(1e-6), x),  # autocontrast (a flat channel kept)
        _blend(x, torch.zeros_like(x), factor[:, 1]),  # brightness
        _blend(x, grey.expand_as(x), factor[:, 2]),  # colour (saturation)
        _blend(x, grey.mean((2, 3), keepdim=True).expand_as(x), factor[:, 3]),  # contrast
        _blend(x, blurred, factor[:, 4]),  # sharpness
        torch.floor((x * 255).round() / step) * step / 255,  # posterize
        torch.where(x >= m[:, 6], 1 - x, x),  # solarize above threshold m
    ]


def _affine(x: torch.Tensor, ops: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """RandAugment's geometric operations: image i rotated by up to 30 degrees, sheared by up to 0.3
    or translated by up to 30 % where ops[i, k] (B, 5) picks operation k, at magnitude m[i, k] (signs at
    random); one resampling for all of them, grey where the image moved away."""
    signed = m * torch.where(torch.rand_like(m) < 0.5, -1.0, 1.0) * ops  # (B, 5)
    angle, shear_x, shear_y, move_x, move_y = (
        signed * torch.tensor([math.radians(30), 0.3, 0.3, 0.6, 0.6], device=x.device)
    ).unbind(1)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack(
        [
            torch.stack([cos + shear_x * sin, -sin + shear_x * cos, move_x], 1),
            torch.stack([sin + shear_y * cos, cos - shear_y * sin, move_y], 1),
        ],
        1,
    )  # (B, 2, 3): output coordinates -> input coordinates, in grid_sample's [-1, 1]
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x - 0.5, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 0.5


def cutout(x: torch.Tensor, fraction: float = 0.5) -> torch.Tensor:
    """Each image with a grey square of `fraction` of its side at a random centre (DeVries & Taylor 2017)."""
    n, _, h, w = x.shape
    centre = torch.rand(n, 2, 1, device=x.device) * torch.tensor([[h], [w]], device=x.device)  # (B, 2, 1)
    rows = (torch.arange(h, device=x.device) - centre[:, 0]).abs() < fraction * h / 2  # (B, H)
    cols = (torch.arange(w, device=x.device) - centre[:, 1]).abs() < fraction * w / 2  # (B, W)
    hole = (rows[:, :, None] & cols[:, None, :])[:, None]  # (B, 1, H, W)
    return torch.where(hole, torch.full_like(x, 0.5), x)


def strong_augment(x: torch.Tensor, n_ops: int = 2) -> torch.Tensor:
    """FixMatch's strong view (Sohn et al. 2020, RandAugment with random magnitudes, then cutout): each
    image of x (B, C, H, W) in [0, 1] gets `n_ops` distinct operations drawn from identity, seven colour
    and five geometric ones, each at a random magnitude (the colour ones one after another, then the
    geometric ones as one resampling), then a grey square of half its side."""
    n = len(x)
    picked = torch.rand(n, 1 + 7 + 5, device=x.device).argsort(1)[:, :n_ops]  # (B, n_ops) distinct operations
    magnitude = torch.rand(n, 13, device=x.device)  # (B, 13)
    for slot in picked.T:  # (B,) each image's operation in this slot
        for k, changed in enumerate(_colour_ops(x, magnitude[:, 1:8]), start=1):
            x = torch.where((slot == k)[:, None, None, None], changed, x)
    chosen = torch.zeros(n, 13, device=x.device, dtype=torch.bool).scatter_(1, picked, True)  # (B, 13)
    geometric = chosen[:, 8:].float()  # (B, 5)
    if geometric.any():
        x = _affine(x, geometric, magnitude[:, 8:])
    return cutout(x)
