"""Random shifts of training images (`train.augment_shift`).

With ten labels per class the class loss sees the same hundred images every epoch and fits them
within a few epochs. Moving each labelled image by a small random shift each time it is drawn gives
the class loss more varied examples of every class. By default only the labelled stream is moved,
so G still models the data as it is; `train.augment_unlabelled` moves the unlabelled images too, so
that labelled and unlabelled images come from one distribution (and G learns the moved one). G's
samples are never moved.
"""

from __future__ import annotations

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
