"""Reading image files (Pillow) for the folder data sets: one place decides grey or RGB and turns
unreadable files into one-line errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DataError

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
