"""Data sets as in-memory arrays: the Dataset record, the checks every loader's arrays pass, and
scikit-learn's bundled 8x8 digits.

Images are float32 in [0, 1] with shape (N, C, H, W); labels are int64 in 0..K-1, UNLABELLED for an
image whose label is unknown; label maps are uint8 class numbers, IGNORE where no class is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError

UNLABELLED = -1  # the label of an unlabelled image (scikit-learn's semi-supervised convention)
IGNORE = 255  # label-map value of pixels that no loss or metric counts (as in PASCAL VOC)


@dataclass
class Dataset:
    """A training and a test set of images with integer labels (-1: an unlabelled training image)."""

    name: str
    x_train: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    y_train: np.ndarray  # (N,) int64 in -1..K-1
    x_test: np.ndarray  # (M, C, H, W); M may be 0 (no test set)
    y_test: np.ndarray  # (M,) int64 in 0..K-1
    classes: list[str]
    conversion: dict | None = None  # how image files were converted (data/images.py), applied again to predict
    skipped: list = field(default_factory=list)  # (file, reason) of the image files skipped as unreadable

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])


def as_images(x: np.ndarray, what: str = "images") -> np.ndarray:
    """Bring an array of images to float32 (N, C, H, W) in [0, 1]; uint8 is scaled by 1/255."""
    x = np.asarray(x)
    if x.dtype.kind not in "uif":
        raise DataError(f"{what} must be numeric, got dtype {x.dtype}")
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    if x.ndim == 2:  # flat vectors: square images when possible, else a 1-pixel-high image
        side = int(round(np.sqrt(x.shape[1])))
        x = x.reshape(len(x), 1, side, side) if side * side == x.shape[1] else x[:, None, None, :]
    elif x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)  # channels-last -> channels-first
    elif x.ndim != 4:
        raise DataError(f"{what} must have 2 to 4 dimensions, got shape {x.shape}")
    x = x.astype(np.float32) / scale
    if not np.isfinite(x).all():
        raise DataError(f"{what} contain NaN or infinite values")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise DataError(f"{what} must lie in [0, 1] (or be uint8), got values in [{x.min():.3g}, {x.max():.3g}]")
    return np.ascontiguousarray(x)


def check_labels(y: np.ndarray, n_images: int, n_classes: int, what: str = "labels", unlabelled: bool = False):
    """Labels as int64, one per image, each in 0..n_classes-1 (or -1, unlabelled, where `unlabelled`)."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_images:
        raise DataError(f"{what}: {n_images} images but {len(y) if y.ndim else 0} labels (shape {y.shape})")
    if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
        raise DataError(f"{what} must be integers, got dtype {y.dtype}")
    y = y.astype(np.int64)
    bad = (y < (UNLABELLED if unlabelled else 0)) | (y >= n_classes)
    if bad.any():
        allowed = f"0..{n_classes - 1}" + (" or -1 (unlabelled)" if unlabelled else "")
        raise DataError(f"{what} must lie in {allowed}; found {y[bad][0]}")
    return y


def make_dataset(name, x_train, y_train, x_test, y_test, classes=None) -> Dataset:
    """Validate and normalise arrays into a Dataset (classes default to 0..max label; none when every
    training image is unlabelled and there is no test set: modes without labels train on that)."""
    x_train, x_test = as_images(x_train, "training images"), as_images(x_test, "test images")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"training images {x_train.shape[1:]} and test images {x_test.shape[1:]} differ in shape")
    if classes is None:
        classes = [str(c) for c in range(int(max(np.max(y_train, initial=-1), np.max(y_test, initial=-1))) + 1)]
    y_train = check_labels(y_train, len(x_train), len(classes), "training labels", unlabelled=True)
    y_test = check_labels(y_test, len(x_test), len(classes), "test labels")
    return Dataset(name, x_train, y_train, x_test, y_test, list(classes))


def holdout(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, seed: int = 0):
    """A fixed stratified train/test split, for data that ships without a test set."""
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)
    except ValueError as e:  # too few images (per class) to hold out a stratified test set
        raise DataError(
            f"cannot hold out a stratified {test_fraction:.0%} test set from {len(y)} images "
            f"({e}); add images or provide a separate test set"
        ) from None


def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits (values 0..16), with a fixed stratified 20% test split."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x_tr, x_te, y_tr, y_te = holdout(bunch.images / 16.0, bunch.target)
    return make_dataset("digits", x_tr, y_tr, x_te, y_te)
