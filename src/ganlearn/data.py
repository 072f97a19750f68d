"""Data sets as in-memory arrays, and the labelled / unlabelled split.

Images are float32 in [0, 1] with shape (N, C, H, W); labels are int64 in 0..K-1.
MNIST and Fashion-MNIST are looked up in `data_dir`, then $GANLEARN_DATA, then the user cache
(~/.cache/ganlearn), and only then downloaded from the official sources with checksum checks.
"""
from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError
from .idx import read_idx
from .imagefiles import read_class_folders

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
SOURCES = {  # official files and their published digests (same file names for both sets)
    "mnist": dict(
        folder="mnist", classes=[str(i) for i in range(10)],
        mirrors=["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
        digests=["sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                 "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                 "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                 "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"]),
    "fashion": dict(
        folder="fashion-mnist",
        classes=["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        mirrors=["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        digests=["md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d", "md5:25c81989df183df01b3e8a0aad5dffbe",
                 "md5:bef4ecab320f06d8554ea6380940ec79", "md5:bb300cfdad3c16e7a12a480ee83cd310"]),
}


@dataclass
class Dataset:
    """A training and a test set of images with integer labels."""
    name: str
    x_train: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    y_train: np.ndarray  # (N,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]

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


def check_labels(y: np.ndarray, n_images: int, n_classes: int, what: str = "labels") -> np.ndarray:
    """Labels as int64, one per image, each in 0..n_classes-1."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_images:
        raise DataError(f"{what}: {n_images} images but {len(y) if y.ndim else 0} labels (shape {y.shape})")
    if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
        raise DataError(f"{what} must be integers, got dtype {y.dtype}")
    y = y.astype(np.int64)
    bad = (y < 0) | (y >= n_classes)
    if bad.any():
        raise DataError(f"{what} must lie in 0..{n_classes - 1}; found {y[bad][0]}")
    return y


def make_dataset(name, x_train, y_train, x_test, y_test, classes=None) -> Dataset:
    """Validate and normalise arrays into a Dataset (classes default to 0..max label)."""
    x_train, x_test = as_images(x_train, "training images"), as_images(x_test, "test images")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"training images {x_train.shape[1:]} and test images {x_test.shape[1:]} differ in shape")
    if classes is None:
        classes = [str(c) for c in range(int(max(np.max(y_train), np.max(y_test))) + 1)]
    y_train = check_labels(y_train, len(x_train), len(classes), "training labels")
    y_test = check_labels(y_test, len(x_test), len(classes), "test labels")
    return Dataset(name, x_train, y_train, x_test, y_test, list(classes))


def _digest_ok(path: Path, digest: str) -> bool:
    algo, expected = digest.split(":")
    h = hashlib.new(algo)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest() == expected


def _download(name: str, folder: Path) -> None:
    source = SOURCES[name]
    folder.mkdir(parents=True, exist_ok=True)
    for fname, digest in zip(MNIST_FILES, source["digests"]):
        dest = folder / fname
        if dest.is_file():
            continue
        errors = []
        for mirror in source["mirrors"]:
            tmp = dest.with_suffix(".part")
            try:
                print(f"downloading {mirror}{fname}")
                with urllib.request.urlopen(mirror + fname, timeout=60) as r, tmp.open("wb") as f:
                    f.write(r.read())
                if not _digest_ok(tmp, digest):
                    raise DataError(f"checksum mismatch (expected {digest})")
                os.replace(tmp, dest)
                break
            except (OSError, DataError) as e:
                errors.append(f"{mirror}: {e}")
                tmp.unlink(missing_ok=True)
        else:
            raise DataError(f"could not download {fname} ({'; '.join(errors)}); "
                            f"put the files in a folder and pass --data-dir")


def find_mnist_folder(name: str, data_dir: str | None = None, download: bool = True) -> Path:
    """Where the four IDX files of `name` ('mnist' or 'fashion') are, downloading them if allowed."""
    sub = SOURCES[name]["folder"]
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise DataError(f"data directory does not exist: {root}")
        candidates, target = [root / sub, root], root / sub
    else:
        env = os.environ.get("GANLEARN_DATA")
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ganlearn" / sub
        candidates = ([Path(env) / sub, Path(env)] if env else []) + [cache]
        target = cache
    for folder in candidates:
        if all((folder / f).is_file() for f in MNIST_FILES):
            return folder
    if not download:
        raise DataError(f"{name} not found in {', '.join(map(str, candidates))} (downloading is off)")
    _download(name, target)
    return target


def load_mnist(name: str = "mnist", data_dir: str | None = None, download: bool = True) -> Dataset:
    """MNIST ('mnist') or Fashion-MNIST ('fashion') from IDX files."""
    folder = find_mnist_folder(name, data_dir, download)
    arrays = [read_idx(folder / f) for f in MNIST_FILES]
    for images, labels, f in ((arrays[0], arrays[1], MNIST_FILES[0]), (arrays[2], arrays[3], MNIST_FILES[2])):
        if images.ndim != 3 or labels.ndim != 1:
            raise DataError(f"{folder / f}: expected (N, H, W) images and (N,) labels, "
                            f"got {images.shape} and {labels.shape}")
    return make_dataset(name, *arrays, classes=SOURCES[name]["classes"])


def holdout(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, seed: int = 0):
    """A fixed stratified train/test split, for data that ships without a test set."""
    from sklearn.model_selection import train_test_split
    try:
        return train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)
    except ValueError as e:  # too few images (per class) to hold out a stratified test set
        raise DataError(f"cannot hold out a stratified {test_fraction:.0%} test set from {len(y)} images "
                        f"({e}); add images or provide a separate test set") from None


def load_digits() -> Dataset:
    """scikit-learn's bundled 8x8 digits (values 0..16), with a fixed stratified 20% test split."""
    from sklearn.datasets import load_digits as sk_digits
    bunch = sk_digits()
    x_tr, x_te, y_tr, y_te = holdout(bunch.images / 16.0, bunch.target)
    return make_dataset("digits", x_tr, y_tr, x_te, y_te)


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


def _reorder(split):
    x_tr, x_te, y_tr, y_te = split
    return x_tr, y_tr, x_te, y_te


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


def _read_dataset(cfg) -> Dataset:
    if cfg.dataset in SOURCES:
        return load_mnist(cfg.dataset, cfg.data_dir, cfg.download)
    if cfg.dataset == "digits":
        return load_digits()
    if cfg.dataset == "npz":
        return load_npz(cfg.path)
    if cfg.dataset == "folder":
        return load_image_folder(cfg.path)
    if cfg.dataset in ("mnist-seg", "fashion-seg", "seg-folder"):
        from .segdata import load_canvases, load_seg_folder  # segdata builds on this module
        return load_seg_folder(cfg.path) if cfg.dataset == "seg-folder" else load_canvases(cfg)
    raise DataError(f"unknown data set '{cfg.dataset}'")


def load_dataset(cfg) -> Dataset:
    """The data set a DataConfig names, without `exclude_classes` in its training split."""
    data = _read_dataset(cfg)
    if not cfg.exclude_classes:
        return data
    bad = [c for c in cfg.exclude_classes if not 0 <= c < data.n_classes]
    if bad:
        raise DataError(f"data.exclude_classes {bad} are not classes of {data.name} (0..{data.n_classes - 1})")
    keep = ~np.isin(data.y_train, cfg.exclude_classes)
    return Dataset(data.name, data.x_train[keep], data.y_train[keep], data.x_test, data.y_test, data.classes)


@dataclass
class Split:
    """Indices into the training set: labelled, unlabelled (the rest) and validation, all disjoint."""
    labelled: np.ndarray
    unlabelled: np.ndarray
    val: np.ndarray


def labelled_split(y: np.ndarray, n_classes: int, labels_per_class: int | None = None,
                   label_rate: float | None = None, val_per_class: int = 0, seed: int = 0,
                   method: str = "ganlearn") -> Split:
    """A balanced, seeded labelled split: `labels_per_class` examples of each class, or
    `label_rate` of each class (at least one). The test set is never an input here.
    method "ganlearn" shuffles each class with numpy's default_rng(seed); "improved-gan" draws the
    split the reference code does (RandomState(seed).permutation of the whole training set, then
    each class's first examples in that order), so its seed_data=1 is split_seed=1 here."""
    rng = np.random.default_rng(seed)
    order = np.random.RandomState(seed).permutation(len(y)) if method == "improved-gan" else None
    labelled, val = [], []
    for c in range(n_classes):
        members = rng.permutation(np.flatnonzero(y == c)) if order is None else order[y[order] == c]
        n = labels_per_class if label_rate is None else max(1, int(round(label_rate * len(members))))
        if n + val_per_class > len(members):
            raise DataError(f"asked for {n} labelled + {val_per_class} validation examples of class {c}, "
                            f"but the training set has only {len(members)}")
        labelled.append(members[:n])
        val.append(members[n:n + val_per_class])
    labelled, val = np.sort(np.concatenate(labelled)), np.sort(np.concatenate(val))
    unlabelled = np.setdiff1d(np.arange(len(y)), np.concatenate([labelled, val]))
    return Split(labelled, unlabelled, val)
