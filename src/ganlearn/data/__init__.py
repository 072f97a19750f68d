"""Data: a registry of loaders that each return a `Dataset` of in-memory arrays (arrays.py, with the
label conventions UNLABELLED and IGNORE), the split of a training set into labelled, unlabelled and
validation images (split.py), the augmentation of training batches (augment.py), and new images
handed in for prediction, converted as training's were (inputs.py).

Adding a data set is one entry in DATASETS; `data.dataset` in a config names one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .arrays import Dataset, as_images, check_labels, holdout, load_digits, make_dataset
from .files import load_image_folder, load_npz
from .mnist import find_mnist_folder, load_mnist
from .segmentation import load_canvases, load_seg_folder
from .split import Split, labelled_split


@dataclass(frozen=True)
class Source:
    load: Callable[..., Dataset]  # DataConfig -> Dataset
    kind: str  # "images": images with class labels; "segmentation": images with label maps
    needs_path: bool = False  # reads the user's data.path
    keys: frozenset = frozenset()  # the data-set-specific DataConfig keys it reads (see SOURCE_KEYS)


CANVAS_KEYS = frozenset(
    {"canvas_size", "max_objects", "train_canvases", "test_canvases", "canvas_seed", "background", "occluders"}
)
FILE_KEYS = frozenset(
    {
        *("unlabelled_path", "test_path", "labels_csv", "image_size", "max_image_size", "channels"),
        *("skip_bad_images", "max_image_pixels"),
    }
)
DATASETS = {
    "mnist": Source(lambda d: load_mnist("mnist", d.data_dir, d.download), "images"),
    "fashion": Source(lambda d: load_mnist("fashion", d.data_dir, d.download), "images"),
    "digits": Source(lambda d: load_digits(), "images"),
    "npz": Source(lambda d: load_npz(d.path), "images", needs_path=True),
    "folder": Source(
        lambda d: load_image_folder(**{k: getattr(d, k) for k in ("path", *FILE_KEYS)}),
        "images",
        needs_path=True,
        keys=FILE_KEYS,
    ),
    "mnist-seg": Source(lambda d: load_canvases(d, "mnist"), "segmentation", keys=CANVAS_KEYS),
    "fashion-seg": Source(lambda d: load_canvases(d, "fashion"), "segmentation", keys=CANVAS_KEYS),
    "seg-folder": Source(
        lambda d: load_seg_folder(d.path, d.unlabelled_path, d.max_image_pixels, d.skip_bad_images),
        "segmentation",
        needs_path=True,
        keys=frozenset({"unlabelled_path", "max_image_pixels", "skip_bad_images"}),
    ),
}
# keys that only some data sets read; with any other they must keep their default
SOURCE_KEYS = frozenset().union(*(source.keys for source in DATASETS.values()))


def load_dataset(cfg) -> Dataset:
    """The data set a DataConfig names, without `exclude_classes` in its training split."""
    data = DATASETS[cfg.dataset].load(cfg)
    if not cfg.exclude_classes:
        return data
    bad = [c for c in cfg.exclude_classes if not 0 <= c < data.n_classes]
    if bad:
        raise DataError(f"data.exclude_classes {bad} are not classes of {data.name} (0..{data.n_classes - 1})")
    keep = ~np.isin(data.y_train, cfg.exclude_classes)
    return dataclasses.replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep])


__all__ = [
    "DATASETS",
    "Dataset",
    "Source",
    "Split",
    "as_images",
    "check_labels",
    "find_mnist_folder",
    "holdout",
    "labelled_split",
    "load_dataset",
    "load_digits",
    "load_image_folder",
    "load_mnist",
    "load_npz",
    "make_dataset",
]
