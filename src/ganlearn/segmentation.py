"""Evaluation of segmentation runs: predicted label maps, pixel accuracy and IoU, overlay pictures."""

from __future__ import annotations

import numpy as np

from .metrics import IGNORE, iou_per_class, segmentation_confusion

# background black, then ten distinct colours (matplotlib's tab10), cycled for more classes
PALETTE = (
    np.array(
        [
            (0, 0, 0),
            (31, 119, 180),
            (255, 127, 14),
            (44, 160, 44),
            (214, 39, 40),
            (148, 103, 189),
            (140, 86, 75),
            (227, 119, 194),
            (127, 127, 127),
            (188, 189, 34),
            (23, 190, 207),
        ]
    )
    / 255.0
)


def segmentation_scores(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict:
    """Pixel accuracy, mean IoU over the classes present (in truth or prediction), and per-class IoU."""
    counts = segmentation_confusion(y_true, y_pred, len(classes))
    iou = iou_per_class(counts)
    return {
        "pixel_acc": float(np.trace(counts) / max(counts.sum(), 1)),
        "miou": float(np.nanmean(iou)),
        "iou": {name: (None if np.isnan(v) else float(v)) for name, v in zip(classes, iou)},
    }


def colour_maps(label_maps: np.ndarray) -> np.ndarray:
    """(N, H, W) class numbers -> (N, 3, H, W) colours in [0, 1]; ignored pixels are white."""
    maps = label_maps.astype(np.int64)
    colours = PALETTE[np.where(maps == 0, 0, 1 + (maps - 1) % (len(PALETTE) - 1))]  # (N, H, W, 3)
    colours[maps == IGNORE] = 1.0
    return colours.transpose(0, 3, 1, 2)


def overlays(images: np.ndarray, truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Side by side for each example: the image, its true and its predicted label map: (N, 3, H, 3W)."""
    rgb = np.repeat(images, 3, axis=1) if images.shape[1] == 1 else images
    return np.concatenate([rgb, colour_maps(truth), colour_maps(pred)], axis=3).astype(np.float32)
