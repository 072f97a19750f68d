"""Which training images are labelled, unlabelled or held out for validation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .arrays import IGNORE


@dataclass
class Split:
    """Indices into the training set: labelled, unlabelled (the rest) and validation, all disjoint."""

    labelled: np.ndarray
    unlabelled: np.ndarray
    val: np.ndarray

    @property
    def stream(self) -> np.ndarray:
        """The unlabelled stream that D's real term and G's target draw from: every training image
        outside validation, the labelled ones too (as in the reference code). Sorted."""
        return np.sort(np.concatenate([self.labelled, self.unlabelled]))


def labelled_split(
    y: np.ndarray,
    n_classes: int,
    labels_per_class: int | None = None,
    label_rate: float | None = None,
    val_per_class: int = 0,
    seed: int = 0,
    method: str = "ganlearn",
) -> Split:
    """A balanced, seeded labelled split: `labels_per_class` examples of each class, or `label_rate`
    of each class (at least one), or, with neither, every labelled one (y == -1 marks an unlabelled
    image, which is never chosen). The test set is never an input here.
    method "ganlearn" shuffles each class with numpy's default_rng(seed); "improved-gan" draws the
    split the reference code does (RandomState(seed).permutation of the whole training set, then
    each class's first examples in that order), so its seed_data=1 is split_seed=1 here."""
    if not (y >= 0).any():
        raise DataError(
            "no labelled training images: this mode needs at least one labelled image of each class "
            "(a mode that reads no label, such as cluster or gan, trains on unlabelled images alone)"
        )
    rng = np.random.default_rng(seed)
    order = np.random.RandomState(seed).permutation(len(y)) if method == "improved-gan" else None
    labelled, val = [], []
    for c in range(n_classes):
        members = rng.permutation(np.flatnonzero(y == c)) if order is None else order[y[order] == c]
        if not len(members):
            raise DataError(f"class {c} has no labelled training image")
        if label_rate is not None:
            n = max(1, int(round(label_rate * len(members))))
        else:  # neither set: every labelled image not held out for validation
            n = len(members) - val_per_class if labels_per_class is None else labels_per_class
        if n < 1 or n + val_per_class > len(members):
            raise DataError(
                f"asked for {n} labelled + {val_per_class} validation examples of class {c}, "
                f"but the training set has only {len(members)}"
            )
        labelled.append(members[:n])
        val.append(members[n : n + val_per_class])
    labelled, val = np.sort(np.concatenate(labelled)), np.sort(np.concatenate(val))
    unlabelled = np.setdiff1d(np.arange(len(y)), np.concatenate([labelled, val]))
    return Split(labelled, unlabelled, val)


def canvas_split(has_map: np.ndarray, label_rate: float, seed: int, val_rate: float = 0.0) -> Split:
    """Which training images keep their label maps: of the (N,) `has_map` ones (an image whose map
    ignores every pixel has none, and is always unlabelled), a `val_rate` is held out for validation
    (drawn with the fixed seed 0: the same images for every seed and label rate), then a seeded random
    `label_rate` of the rest (at least one) is labelled."""
    mapped = np.flatnonzero(has_map)
    held_out = np.random.default_rng(0).permutation(mapped)[: int(round(val_rate * len(mapped)))]
    order = np.random.default_rng(seed).permutation(np.setdiff1d(mapped, held_out))
    if not len(order):
        raise DataError(f"no image with a label map is left to train on after holding out data.val_rate {val_rate}")
    labelled = order[: max(1, int(round(label_rate * len(order))))]
    unlabelled = np.setdiff1d(np.arange(len(has_map)), np.concatenate([labelled, held_out]))
    return Split(np.sort(labelled), unlabelled, np.sort(held_out))


# The split each mode makes, from a Config and its Dataset (modes.py names one per mode). Seeded by
# data.split_seed, else train.seed, so one labelled split can be trained with several seeds.


def _seed(cfg) -> int:
    return cfg.train.seed if cfg.data.split_seed is None else cfg.data.split_seed


def class_split(cfg, data) -> Split:
    """`data.labels_per_class` (or `data.label_rate`) labelled images of each class, `data.val_per_class` held out."""
    d = cfg.data
    return labelled_split(
        data.y_train,
        data.n_classes,
        d.labels_per_class,
        d.label_rate,
        d.val_per_class,
        seed=_seed(cfg),
        method=d.split_method,
    )


def no_labels(cfg, data) -> Split:
    """Every training image unlabelled: no label is used."""
    return Split(np.arange(0), np.arange(len(data.y_train)), np.arange(0))


def label_map_split(cfg, data) -> Split:
    """`data.val_rate` of the images with label maps held out for validation, then a random
    `data.label_rate` of the rest keep their label maps (canvas_split)."""
    has_map = (data.y_train != IGNORE).reshape(len(data.y_train), -1).any(1)
    return canvas_split(has_map, cfg.data.label_rate, _seed(cfg), cfg.data.val_rate)
