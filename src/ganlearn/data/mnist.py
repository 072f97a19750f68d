"""MNIST and Fashion-MNIST from their IDX files.

They are looked up in `data_dir`, then $GANLEARN_DATA, then the user cache (~/.cache/ganlearn), and
only then downloaded from the official sources with checksum checks.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

from ..errors import DataError
from .arrays import Dataset, make_dataset
from .idx import read_idx

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
SOURCES = {  # official files and their published digests (same file names for both sets)
    "mnist": dict(
        folder="mnist",
        classes=[str(i) for i in range(10)],
        mirrors=["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
        digests=[
            "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ],
    ),
    "fashion": dict(
        folder="fashion-mnist",
        classes=[
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
        mirrors=["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        digests=[
            "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "md5:25c81989df183df01b3e8a0aad5dffbe",
            "md5:bef4ecab320f06d8554ea6380940ec79",
            "md5:bb300cfdad3c16e7a12a480ee83cd310",
        ],
    ),
}


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
            raise DataError(
                f"could not download {fname} ({'; '.join(errors)}); put the files in a folder and pass --data-dir"
            )


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
            raise DataError(
                f"{folder / f}: expected (N, H, W) images and (N,) labels, got {images.shape} and {labels.shape}"
            )
    return make_dataset(name, *arrays, classes=SOURCES[name]["classes"])
