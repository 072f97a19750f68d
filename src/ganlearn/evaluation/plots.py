"""Pictures of a run: sample grids and label-map overlays (numpy + Pillow), loss / accuracy curves,
confusion matrices, 2-D maps and score histograms (matplotlib, imported only when a plot is drawn)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from ..data.arrays import IGNORE

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


def image_grid(images: np.ndarray, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one (H', W', C) uint8 image, `nrow` images a row."""
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    grid = np.ones((c, ncol * (h + pad) + pad, nrow * (w + pad) + pad), dtype=np.float32)
    for i, img in enumerate(images):
        r, col = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, top : top + h, left : left + w] = img
    return (np.clip(grid, 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0)


def save_grid(images: np.ndarray, path: str | Path, nrow: int | None = None, scale: int = 2) -> Path:
    """Save a sample grid as PNG, enlarged `scale` times for viewing."""
    grid = image_grid(images, nrow)
    im = Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid)
    im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    im.save(path)
    return Path(path)


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a metrics.jsonl file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(metrics_path: str | Path, out: str | Path) -> Path:
    """Losses against epochs, and beside them accuracies (classifier modes) or D's outputs and the
    FID-style score (GAN mode), from metrics.jsonl."""
    plt = _pyplot()
    records = read_metrics(metrics_path)
    epochs = [r["epoch"] for r in records]
    has = lambda key: any(key in r for r in records)  # noqa: E731
    fig, (ax_loss, ax_right) = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("loss_lab", "loss_unl", "loss_pseudo", "loss_d", "loss_gen", "loss_seg", "loss_adv"):
        if has(key):
            ax_loss.plot(epochs, [r.get(key, np.nan) for r in records], marker=".", label=key)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="losses")
    if has("test_miou"):  # mode seg
        for key in ("train_pixel_acc", "test_pixel_acc", "test_miou"):
            ax_right.plot(epochs, [100 * r.get(key, np.nan) for r in records], marker=".", label=key)
        ax_right.set(xlabel="epoch", ylabel="%", title="segmentation")
    elif has("test_acc") or has("train_acc"):
        for key in ("train_acc", "val_acc", "test_acc"):
            if has(key):
                ax_right.plot(epochs, [100 * r.get(key, np.nan) for r in records], marker=".", label=key)
        ax_right.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    else:
        for key in ("d_real", "d_fake"):
            if has(key):
                ax_right.plot(epochs, [r.get(key, np.nan) for r in records], marker=".", label=f"mean {key}")
        ax_right.set(xlabel="epoch", ylabel="D(x), D(G(z))", title="discriminator outputs")
        if has("fid"):
            ax_fid = ax_right.twinx()
            ax_fid.plot(epochs, [r.get("fid", np.nan) for r in records], "k--", marker=".", label="FID-style")
            ax_fid.set(ylabel="FID-style score")
            ax_fid.legend(loc="upper right")
    for ax in (ax_loss, ax_right):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left" if ax is ax_right else "best")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return Path(out)


def plot_confusion(counts: np.ndarray, classes: list[str], out: str | Path) -> Path:
    """A confusion matrix (rows: true class) with its counts written in the cells."""
    plt = _pyplot()
    k = len(classes)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * k, 1 + 0.6 * k))
    ax.imshow(counts, cmap="Blues")
    ax.set(
        xticks=range(k), yticks=range(k), xticklabels=classes, yticklabels=classes, xlabel="predicted", ylabel="true"
    )
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    for (i, j), v in np.ndenumerate(counts):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > counts.max() / 2 else "black")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return Path(out)


def plot_lines(
    curves: dict[str, list[tuple[float, float]]], out: str | Path, xlabel: str, ylabel: str, title: str = ""
) -> Path:
    """One line of (x, y) points per label."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in curves.items():
        ax.plot(*zip(*points), marker=".", label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return Path(out)


def plot_embedding(
    points: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    out: str | Path,
    images: np.ndarray | None = None,
    size: int = 800,
    title: str = "",
) -> Path:
    """A 2-D map (size x size pixels) of points coloured by label, with image thumbnails if given."""
    plt = _pyplot()
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    fig, ax = plt.subplots(figsize=(size / 100, size / 100), dpi=100)
    scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=4, alpha=0.7)
    if images is not None:  # a thumbnail on every 20th point, so the map stays readable
        for (px, py), img in zip(points[::20], images[::20]):
            thumb = OffsetImage(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), zoom=0.6, cmap="gray_r")
            ax.add_artist(AnnotationBbox(thumb, (px, py), frameon=False))
    handles = scatter.legend_elements()[0]
    present = np.unique(labels)
    ax.legend(handles, [class_names[c] for c in present], fontsize=7, loc="best", markerscale=0.8)
    ax.set(title=title, xticks=[], yticks=[])
    fig.subplots_adjust(0.02, 0.02, 0.98, 0.95)  # no tight bbox: the PNG is exactly size x size
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return Path(out)


def plot_score_histograms(scores: dict[str, tuple[np.ndarray, np.ndarray]], out: str | Path) -> Path:
    """One histogram panel per anomaly score: its values on normal and on anomalous test images."""
    plt = _pyplot()
    cols = min(len(scores), 4)
    rows = -(-len(scores) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(scores) :]:
        ax.axis("off")
    for ax, (name, (normal, anomalous)) in zip(axes.flat, scores.items()):
        bins = np.histogram_bin_edges(np.concatenate([normal, anomalous]), bins=50)
        ax.hist(normal, bins, alpha=0.6, density=True, label="normal")
        ax.hist(anomalous, bins, alpha=0.6, density=True, label="held-out classes")
        ax.set(title=name, xlabel="anomaly score")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return Path(out)


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
