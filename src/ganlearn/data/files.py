"""The user's files: image folders (Pillow) and .npz arrays. One place decides grey or RGB and turns
unreadable files into one-line errors."""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError, first_line
from .arrays import UNLABELLED, Dataset, make_dataset
from .images import (
    GREY_MODES,
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    UnusableImage,
    choose_conversion,
    decode_images,
    find_images,
    open_image,
    to_8bit,
)
from .labels_csv import read_labels_csv


def image_files(folder: Path) -> list[Path]:
    """The image files of a folder (not its sub-folders), sorted by name."""
    return find_images(folder, recursive=False)


def read_image(path: Path, mode: str | None = None, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An image as uint8, (H, W) grey or (H, W, 3) RGB: grey-scale files stay grey, others become RGB,
    unless `mode` ("L" or "RGB") says which."""
    with open_image(path, max_pixels) as im:
        return np.asarray(to_8bit(im).convert(mode or ("L" if im.mode in GREY_MODES else "RGB")))


def read_label_map(path: Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A single-channel PNG of class numbers, as stored (no conversion that could change a value)."""
    with open_image(path, max_pixels) as im:
        if im.mode not in ("L", "P", "I", "I;16"):
            raise UnusableImage(f"a label map must be a single-channel (L or P) PNG, got mode {im.mode}")
        return np.asarray(im)


def class_folder_files(root: Path, classes: list[str] | None = None) -> tuple[list[Path], list[int], list[str]]:
    """(image files, their labels, class names) of one sub-folder per class, searched recursively;
    `classes` (those of the training set) must then be the same folders."""
    if not root.is_dir():
        raise DataError(f"image folder does not exist: {root}")
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not found:
        raise DataError(f"{root}: expected one sub-folder per class, found none")
    if classes is not None and found != classes:
        raise DataError(f"{root}: its class folders {found} differ from the training classes {classes}")
    files, labels = [], []
    for label, name in enumerate(found):
        members = find_images(root / name)
        if not members:
            raise DataError(f"{root / name}: a class folder with no images ({', '.join(IMAGE_SUFFIXES)})")
        files += members
        labels += [label] * len(members)
    return files, labels, found


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The named arrays of an .npz file (pickled objects refused), or a DataError naming it."""
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: one .npy array, not an .npz archive of named arrays (np.savez writes one)")
        with loaded as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{path}: not a readable .npz file ({first_line(e)})") from None


def load_npz(path: str) -> Dataset:
    """Arrays x_train, y_train (-1 marks an unlabelled row; without y_train every row is unlabelled) and
    optionally x_test, y_test from a .npz file."""
    path = Path(path)
    arrays = read_npz(path)
    if "x_train" not in arrays:
        raise DataError(f"{path}: missing array 'x_train' (has {sorted(arrays)})")
    x = arrays["x_train"]
    y = arrays.get("y_train", np.full(len(x), UNLABELLED))  # no labels at all: every image unlabelled
    if len(x) != len(y):
        raise DataError(f"{path}: {len(x)} training images but {len(y)} labels")
    if "x_test" in arrays:
        return make_dataset(path.stem, x, y, arrays["x_test"], arrays["y_test"])
    return make_dataset(path.stem, x, y, x[:0], y[:0])  # no test set: none is taken from the labels


def _labelled_files(root: Path, test_root: Path | None, labels_csv: str | None) -> tuple:
    """(labelled files, labels, class names, unlabelled files, test folder) of a folder data set."""
    if not root.is_dir():
        raise DataError(f"image folder does not exist: {root}")
    if labels_csv:  # every image under data.path; the listed ones labelled
        label_of = read_labels_csv(Path(labels_csv), root)
        files = {os.path.abspath(f): f for f in find_images(root)}
        outside = sorted(set(label_of) - set(files))
        if outside:
            raise DataError(f"{labels_csv}: {outside[0]} is not an image file under {root}")
        classes = sorted(set(label_of.values()))
        labelled = [(f, classes.index(label_of[a])) for a, f in files.items() if a in label_of]
        unlabelled = [f for a, f in files.items() if a not in label_of]
        return [f for f, _ in labelled], [c for _, c in labelled], classes, unlabelled, test_root
    if test_root is None and (root / "train").is_dir() and (root / "test").is_dir():
        root, test_root = root / "train", root / "test"
    flat = [] if any(p.is_dir() for p in root.iterdir()) else find_images(root)
    if flat:  # images but no class folders: every image unlabelled
        return [], [], [], flat, test_root
    return *class_folder_files(root), [], test_root


def load_image_folder(
    path,
    unlabelled_path=None,
    test_path=None,
    labels_csv=None,
    image_size=None,
    max_image_size=None,
    channels=None,
    skip_bad_images=False,
    max_image_pixels=MAX_PIXELS,
) -> Dataset:
    """Data set `folder` (the DataConfig keys of those names): labelled images in one sub-folder per
    class under `path` (or the images under `path` that `labels_csv` lists; images directly under a
    `path` without sub-folders are all unlabelled), unlabelled ones anywhere
    under `unlabelled_path`, and a test set in class folders under `test_path` (or path/train and
    path/test). Without a test folder there is no test set: no labels are taken from the few there
    are. Every image is converted to one size and mode (images.Conversion); the files skipped as
    unreadable (`skip_bad_images`) are listed in the Dataset's `skipped`."""
    test_root = Path(test_path) if test_path else None
    labelled, labels, classes, unlabelled, test_root = _labelled_files(Path(path), test_root, labels_csv)
    if unlabelled_path:
        folder = Path(unlabelled_path)
        if not folder.is_dir():
            raise DataError(f"unlabelled image folder does not exist: {folder}")
        known = {os.path.abspath(f) for f in labelled}  # the same file under another name is not added twice
        more = [f for f in find_images(folder) if os.path.abspath(f) not in known]
        if not more:
            raise DataError(f"{folder}: no images in the unlabelled folder ({', '.join(IMAGE_SUFFIXES)})")
        unlabelled += more
    test, test_labels = class_folder_files(test_root, classes)[:2] if test_root else ([], [])
    conversion = choose_conversion(labelled or unlabelled, image_size, channels, max_image_pixels, max_image_size)
    files = labelled + unlabelled + test
    decoded = decode_images(files, conversion, skip_bad_images, max_pixels=max_image_pixels)
    if not decoded.kept.any():
        raise DataError(f"none of the {len(files)} images could be read ({decoded.skipped[0][1]})")
    x, kept = decoded.images.transpose(0, 3, 1, 2), decoded.kept  # (N, C, H, W)
    y = np.array(labels + [UNLABELLED] * len(unlabelled) + test_labels, np.int64)[kept]
    is_test = np.arange(len(files))[kept] >= len(labelled) + len(unlabelled)
    data = make_dataset(Path(path).name, x[~is_test], y[~is_test], x[is_test], y[is_test], classes)
    if decoded.skipped:
        first = ": ".join(decoded.skipped[0])
        print(f"skipped {len(decoded.skipped)} unreadable images (data.skip_bad_images), the first: {first}")
    data.conversion, data.skipped = conversion.to_dict(), decoded.skipped
    return data
