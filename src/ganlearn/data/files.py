"""The user's files: image folders (Pillow) and .npz arrays. One place decides grey or RGB and turns
unreadable files into one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .arrays import Dataset, _reorder, holdout, make_dataset

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GREY_MODES = ("1", "L", "I", "I;16", "F")


def image_files(folder: Path) -> list[Path]:
    """The PNG and JPEG files of a folder, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_image(path: Path, mode: str | None = None) -> np.ndarray:
    """An image as uint8, (H, W) grey or (H, W, 3) RGB: grey-scale files stay grey, others become RGB,
    unless `mode` ("L" or "RGB") says which."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode or ("L" if im.mode in GREY_MODES else "RGB")))
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{path}: not a readable image ({e})") from None


def read_label_map(path: Path) -> np.ndarray:
    """A single-channel PNG of class numbers, as stored (no conversion that could change a value)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P", "I", "I;16"):
                raise DataError(f"{path}: a label map must be a single-channel (L or P) PNG, got mode {im.mode}")
            return np.asarray(im)
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{path}: not a readable image ({e})") from None


def read_class_folders(root: Path) -> tuple[list[np.ndarray], list[int], list[str]]:
    """(images, labels, class names) from one sub-folder per class; every image is read in the mode
    (grey or RGB) of the first and must have its size."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{root}: expected one sub-folder per class, found none")
    images, labels, first_file = [], [], None
    for label, name in enumerate(classes):
        for file in image_files(root / name):
            if not images:
                images.append(read_image(file))  # its mode (grey or RGB) and size hold for the rest
                first_file = file
            else:
                arr = read_image(file, "L" if images[0].ndim == 2 else "RGB")
                if arr.shape != images[0].shape:
                    raise DataError(f"{file}: size {arr.shape} differs from {first_file} {images[0].shape}")
                images.append(arr)
            labels.append(label)
    if not images:
        raise DataError(f"{root}: no PNG or JPEG images in the class folders")
    return images, labels, classes


def load_npz(path: str) -> Dataset:
    """Arrays x_train, y_train and optionally x_test, y_test (else a fixed 20% holdout) from a .npz file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None
    missing = {"x_train", "y_train"} - set(arrays)
    if missing:
        raise DataError(f"{path}: missing arrays {sorted(missing)} (has {sorted(arrays)})")
    x, y = arrays["x_train"], arrays["y_train"]
    if len(x) != len(y):
        raise DataError(f"{path}: {len(x)} training images but {len(y)} labels")
    if "x_test" in arrays:
        return make_dataset(path.stem, x, y, arrays["x_test"], arrays["y_test"])
    return make_dataset(path.stem, *_reorder(holdout(x, y)))


def load_image_folder(path: str) -> Dataset:
    """PNG/JPEG images in one sub-folder per class; `train/` and `test/` sub-folders if present."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"image folder does not exist: {root}")
    if (root / "train").is_dir() and (root / "test").is_dir():
        x, y, classes = read_class_folders(root / "train")
        x_te, y_te, test_classes = read_class_folders(root / "test")
        if test_classes != classes:
            raise DataError(f"{root}: train classes {classes} differ from test classes {test_classes}")
        return make_dataset(root.name, np.stack(x), y, np.stack(x_te), y_te, classes)
    x, y, classes = read_class_folders(root)
    return make_dataset(root.name, *_reorder(holdout(np.stack(x), np.array(y))), classes=classes)
