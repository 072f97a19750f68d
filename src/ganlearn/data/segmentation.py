"""Segmentation data: canvases built from MNIST / Fashion-MNIST objects, or the user's image and
label-map PNG files.

A segmentation Dataset holds images (N, C, H, W) float32 in [0, 1] and label maps (N, H, W) uint8
with 0 = background, 1..K-1 = object classes and IGNORE (255) = pixels no loss or metric counts.

Canvases (`mnist-seg`, `fashion-seg`): 1..max_objects objects on a black canvas (or, with
`data.background: photo`, a patch of one of scikit-learn's two bundled photographs, and with
`data.occluders`, photo patches over the objects), each resized to
0.75-1.5 times its 28-pixel side and pasted at a random position. A later object covers earlier ones:
where its intensity exceeds OBJECT_THRESHOLD the canvas takes its pixels and the label map its class;
elsewhere in its box the brighter pixel stays. Generated from a seed, so the same seed gives the same
canvases on every machine; training canvases use training objects only, test canvases test objects only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DataError
from .arrays import IGNORE, Dataset, as_images
from .files import image_files, read_image, read_label_map
from .images import IMAGE_SUFFIXES, MAX_PIXELS, find_images, skipped_entry
from .mnist import load_mnist

OBJECT_THRESHOLD = 0.2  # an object pixel brighter than this is labelled with the object's class
SCALES = (0.75, 1.5)  # range of an object's side, relative to its 28-pixel source
PHOTO_CONTRAST = 0.7  # photo backgrounds and occluders span [0, 0.7]; digit strokes reach 1


@dataclass
class PastedObject:
    """Where one source image went on a canvas (for tests and inspection)."""

    source: int  # index in the source split
    label: int  # class in the label map (source class + 1)
    top: int
    left: int
    side: int


def resize_object(image: np.ndarray, side: int) -> np.ndarray:
    """(h, w) in [0, 1] -> (side, side), bilinear with antialiasing."""
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    return (
        F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)[0, 0]
        .clamp_(0, 1)
        .numpy()
    )


def paste(canvas: np.ndarray, label_map: np.ndarray, obj: np.ndarray, label: int, top: int, left: int) -> None:
    """Paste `obj` (s, s) on `canvas` (H, W) and its class on `label_map` (H, W), in place."""
    s = obj.shape[0]
    window, labels = canvas[top : top + s, left : left + s], label_map[top : top + s, left : left + s]
    mask = obj > OBJECT_THRESHOLD
    window[...] = np.where(mask, obj, np.maximum(window, obj))
    labels[mask] = label


def photo_patch(rng: np.random.Generator, side: int) -> np.ndarray:
    """A random square crop (side 1-3 times `side`) of one of scikit-learn's two bundled photographs,
    grey, resized to (side, side) and dimmed to [0, PHOTO_CONTRAST]: texture that strokes can hide in."""
    photos = _grey_photos()
    photo = photos[rng.integers(len(photos))]
    crop = min(int(rng.integers(side, 3 * side + 1)), *photo.shape)  # canvases above 427 pixels: upsampled
    top, left = rng.integers(0, photo.shape[0] - crop + 1), rng.integers(0, photo.shape[1] - crop + 1)
    return PHOTO_CONTRAST * resize_object(photo[top : top + crop, left : left + crop], side)


@functools.cache
def _grey_photos() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_sample_images

    return tuple(
        (image.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])) / 255 for image in load_sample_images().images
    )


def make_canvases(
    x: np.ndarray,
    y: np.ndarray,
    n: int,
    size: int = 64,
    max_objects: int = 4,
    seed: int = 0,
    background="black",
    occluders=0,
) -> tuple[np.ndarray, np.ndarray, list[list[PastedObject]]]:
    """`n` canvases from source images x (N, 1, 28, 28) with classes y (N,): images (n, 1, size, size)
    float32, label maps (n, size, size) uint8 (0 = background, class + 1 for objects), and what was pasted.
    background "photo": each canvas starts as a photo patch instead of black; `occluders`: up to this
    many photo patches (8-20 pixels) pasted over the objects, background in the label map."""
    largest = int(round(x.shape[-1] * SCALES[1]))
    if size < largest:
        raise DataError(f"data.canvas_size must be at least {largest} (the largest object), got {size}")
    rng = np.random.default_rng(seed)
    images, maps = np.zeros((n, 1, size, size), np.float32), np.zeros((n, size, size), np.uint8)
    pasted = []
    for i in range(n):
        if background == "photo":
            images[i, 0] = photo_patch(rng, size)
        objects = []
        for _ in range(rng.integers(1, max_objects + 1)):
            source = int(rng.integers(len(x)))
            side = int(round(x.shape[-1] * rng.uniform(*SCALES)))
            top, left = (int(v) for v in rng.integers(0, size - side + 1, size=2))
            objects.append(PastedObject(source, int(y[source]) + 1, top, left, side))
            paste(images[i, 0], maps[i], resize_object(x[source, 0], side), objects[-1].label, top, left)
        for _ in range(rng.integers(0, occluders + 1)):
            side = int(rng.integers(8, 21))
            top, left = (int(v) for v in rng.integers(0, size - side + 1, size=2))
            images[i, 0, top : top + side, left : left + side] = photo_patch(rng, side)
            maps[i, top : top + side, left : left + side] = 0
        pasted.append(objects)
    return images, maps, pasted


def load_canvases(cfg, objects: str) -> Dataset:
    """Canvases of `objects` ("mnist" or "fashion") images, as a DataConfig's canvas keys ask."""
    source = load_mnist(objects, cfg.data_dir, cfg.download)
    if source.x_train.shape[1] != 1:
        raise DataError("canvases are built from single-channel images")
    common = dict(size=cfg.canvas_size, max_objects=cfg.max_objects, background=cfg.background, occluders=cfg.occluders)
    x_train, y_train, _ = make_canvases(
        source.x_train, source.y_train, cfg.train_canvases, seed=cfg.canvas_seed, **common
    )
    # a different seed for the test canvases, from test objects only
    x_test, y_test, _ = make_canvases(
        source.x_test, source.y_test, cfg.test_canvases, seed=cfg.canvas_seed + 1, **common
    )
    return Dataset(cfg.dataset, x_train, y_train, x_test, y_test, ["background"] + source.classes)


def read_pairs(
    folder: Path, max_pixels: int = MAX_PIXELS, skipped: list | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images in folder/images and label maps (PNG, same file stem) in folder/labels, all the same size.
    A pair with an unreadable file is a DataError naming it, or where `skipped` is a list, left out and
    listed there as (file, reason). Returns images (N, C, H, W) and label maps (N, H, W)."""
    images_dir, labels_dir = folder / "images", folder / "labels"
    for d in (images_dir, labels_dir):
        if not d.is_dir():
            raise DataError(f"{folder}: expected sub-folders images/ and labels/ (missing {d.name}/)")
    files = image_files(images_dir)
    if not files:
        raise DataError(f"{images_dir}: no PNG or JPEG images")
    images, maps, read = [], [], []
    for f in files:
        label_file = labels_dir / f"{f.stem}.png"
        if not label_file.is_file():
            raise DataError(f"{f}: no label map {label_file}")
        try:
            image, label_map = read_image(f, max_pixels=max_pixels), read_label_map(label_file, max_pixels)
        except DataError as e:
            if skipped is None:
                raise
            skipped.append(skipped_entry(f, str(e)))
            continue
        if image.shape[:2] != label_map.shape:
            raise DataError(
                f"{f.name}: image is {image.shape[1]}x{image.shape[0]} but its label map is "
                f"{label_map.shape[1]}x{label_map.shape[0]}"
            )
        if images and image.shape != images[0].shape:
            raise DataError(f"{f.name}: size {image.shape} differs from {read[0].name}'s {images[0].shape}")
        read.append(f)
        images.append(image)
        maps.append(label_map)
    if not images:
        raise DataError(f"{images_dir}: none of its {len(files)} images could be read ({skipped[0][1]})")
    maps = np.stack(maps)
    bad = ~(((maps >= 0) & (maps <= IGNORE - 2)) | (maps == IGNORE))  # classes 0..253, or the ignore value
    if bad.any():
        raise DataError(
            f"{folder}: label values must be class numbers 0..{IGNORE - 2} or {IGNORE} (ignore); found {maps[bad][0]}"
        )
    return as_images(np.stack(images), f"{folder} images"), maps.astype(np.uint8)


def read_unlabelled(folder: Path, like: np.ndarray, max_pixels: int = MAX_PIXELS, skipped: list | None = None):
    """The images anywhere under `folder` (no label maps), converted to the channels of `like`
    (N, C, H, W) and required to be its size; unreadable ones skipped into `skipped` as read_pairs does."""
    if not folder.is_dir():
        raise DataError(f"unlabelled image folder does not exist: {folder}")
    files = find_images(folder)
    if not files:
        raise DataError(f"{folder}: no images in the unlabelled folder ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    for f in files:
        try:
            image = read_image(f, "L" if like.shape[1] == 1 else "RGB", max_pixels)
        except DataError as e:
            if skipped is None:
                raise
            skipped.append(skipped_entry(f, str(e)))
            continue
        if image.shape[:2] != like.shape[2:]:
            raise DataError(
                f"{f}: size {image.shape[1]}x{image.shape[0]} differs from the labelled images' "
                f"{like.shape[3]}x{like.shape[2]}"
            )
        images.append(image)
    if not images:
        raise DataError(f"{folder}: none of its {len(files)} unlabelled images could be read ({skipped[0][1]})")
    return as_images(np.stack(images), f"{folder} images")


def load_seg_folder(path, unlabelled_path=None, max_image_pixels=MAX_PIXELS, skip_bad_images=False) -> Dataset:
    """User data: PATH/train and PATH/test, each with images/ and labels/ (label 0 = background,
    255 = ignore), and optionally images without label maps anywhere under `unlabelled_path` (their
    maps all ignored: only the semi-supervised terms use them). Classes are 0..the largest label found.
    With `skip_bad_images`, unreadable files are left out and listed in the Dataset's `skipped`."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"segmentation folder does not exist: {root}")
    if not (root / "train").is_dir() or not (root / "test").is_dir():
        raise DataError(f"{root}: expected sub-folders train/ and test/, each with images/ and labels/")
    skipped = [] if skip_bad_images else None
    x_train, y_train = read_pairs(root / "train", max_image_pixels, skipped)
    x_test, y_test = read_pairs(root / "test", max_image_pixels, skipped)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{root}: training images {x_train.shape[1:]} and test images {x_test.shape[1:]} differ")
    if unlabelled_path:
        more = read_unlabelled(Path(unlabelled_path), x_train, max_image_pixels, skipped)
        x_train = np.concatenate([x_train, more])
        y_train = np.concatenate([y_train, np.full((len(more), *y_train.shape[1:]), IGNORE, np.uint8)])
    labels = np.concatenate([np.unique(y_train), np.unique(y_test)])
    n_classes = int(labels[labels != IGNORE].max(initial=0)) + 1
    if n_classes < 2:
        raise DataError(f"{root}: the label maps hold background only (need at least one object class)")
    classes = ["background"] + [str(c) for c in range(1, n_classes)]
    return Dataset(root.name, x_train, y_train, x_test, y_test, classes, skipped=skipped or [])
