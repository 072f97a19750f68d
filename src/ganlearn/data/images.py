"""A user's image files as one uint8 array: found, converted to one size and mode, decoded on every
core with a progress bar, and cached.

Every image is converted the same way at training and at prediction time (`Conversion`): to
`channels` (1: grey, 3: RGB; alpha is dropped) and to `size` (height, width), keeping the aspect
ratio: the short side is resized to fit, then the centre is cropped. The decoded array is cached
under ~/.cache/ganlearn/images (or $XDG_CACHE_HOME), keyed by the conversion and the files' paths,
sizes and modification times, so a second run over the same files starts in seconds.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
CHUNK = 256  # files a worker decodes per task


@dataclass(frozen=True)
class Conversion:
    """How every image is brought to the run's shape: (height, width) and 1 or 3 channels."""

    size: tuple[int, int]
    channels: int

    def apply(self, image):
        """A PIL image -> (H, W, C) uint8: turned upright as its EXIF says, 16-bit grey scaled to 8."""
        from PIL import Image, ImageOps

        size = (self.size[1], self.size[0])  # PIL's (width, height)
        image.draft(None, size)  # a large JPEG decodes at the smallest scale still covering `size`
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grey: convert("L") would clip at 255
            image = Image.fromarray((np.asarray(image, np.float32) / 257).clip(0, 255).astype(np.uint8))
        image = image.convert("L" if self.channels == 1 else "RGB")
        if image.size != size:
            image = ImageOps.fit(image, size, method=Image.Resampling.BICUBIC)
        return np.asarray(image).reshape(*self.size, self.channels)

    def to_dict(self) -> dict:
        return {"size": list(self.size), "channels": self.channels}


def find_images(folder: Path, recursive: bool = True) -> list[Path]:
    """The image files under `folder` (in its sub-folders too when `recursive`), sorted by path.
    (os.walk reads each folder once and makes no call per file: 100 000 files list in a second.)"""
    found = []
    for parent, _, names in os.walk(folder):
        found += [os.path.join(parent, n) for n in names if os.path.splitext(n)[1].lower() in IMAGE_SUFFIXES]
        if not recursive:
            break
    return [Path(f) for f in sorted(found)]


def choose_conversion(files: list[Path], size=None, channels: int | None = None) -> Conversion:
    """The conversion a config asks for; what it leaves unset is the most common size and mode of
    `files` (read from their headers only)."""
    from PIL import Image, UnidentifiedImageError

    sizes, modes = Counter(), Counter()
    if size is None or channels is None:
        for f in files:
            try:
                with Image.open(f) as im:
                    sizes[(im.height, im.width)] += 1
                    modes[1 if im.mode in GREY_MODES else 3] += 1
            except (UnidentifiedImageError, OSError):
                continue  # named when it is decoded
        if not sizes:
            raise DataError(f"none of the {len(files)} training images could be read")
    if isinstance(size, int):
        size = (size, size)
    return Conversion(tuple(size) if size else sizes.most_common(1)[0][0], channels or modes.most_common(1)[0][0])


def _decode(job: tuple[list[str], Conversion]) -> list[np.ndarray | str]:
    """Decode a chunk of files: each an (H, W, C) uint8 array, or the reason it could not be read."""
    from PIL import Image, UnidentifiedImageError

    files, conversion = job
    out = []
    for f in files:
        try:
            with Image.open(f) as im:
                out.append(conversion.apply(im))
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            out.append(f"{f}: not a readable image ({e})")
    return out


def _cache_path(files: list[Path], conversion: Conversion) -> Path:
    digest = hashlib.sha256(repr(conversion).encode())
    for f in files:
        stat = os.stat(f)
        digest.update(f"{os.path.abspath(f)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ganlearn" / "images"
    return root / f"{digest.hexdigest()[:32]}.npz"


def _save_cache(path: Path, images: np.ndarray, kept: np.ndarray) -> None:
    """Write the cache atomically; a full disk or a read-only home only costs the next run the decoding."""
    tmp = path.with_suffix(".tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, images=images, kept=kept)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        print(f"could not cache the decoded images in {path.parent} ({e.strerror or e}); the next run decodes again")


def decode_images(
    files: list[Path], conversion: Conversion, skip_bad: bool = False, what: str = "images", cache: bool = True
):
    """(images (N', H, W, C) uint8, kept (N,) bool): the files decoded on every core, or read from the
    cache (where `cache`). An unreadable file is a DataError naming it, or with `skip_bad` is left out
    and counted."""
    cache = _cache_path(files, conversion) if cache else None
    if cache is not None and cache.is_file():
        with np.load(cache) as f:
            images, kept = f["images"], f["kept"]
    else:
        chunks = [([str(f) for f in files[i : i + CHUNK]], conversion) for i in range(0, len(files), CHUNK)]
        results = []
        workers = min(os.cpu_count() or 1, len(chunks))
        with tqdm(total=len(files), desc=f"reading {what}", unit="img", disable=len(files) < 1000) as bar:
            with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
                for chunk in (pool.map if pool else map)(_decode, chunks):  # a few files: no processes to start
                    results.extend(chunk)
                    bar.update(len(chunk))
        kept = np.array([not isinstance(r, str) for r in results], bool)
        images = np.stack([r for r in results if not isinstance(r, str)]) if kept.any() else None
        bad = [r for r in results if isinstance(r, str)]
        if bad and not skip_bad:
            raise DataError(
                f"{bad[0]}"
                + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
                + "; set data.skip_bad_images: true to skip such files"
            )
        if images is None:
            raise DataError(f"none of the {len(files)} {what} could be read")
        if cache is not None:
            _save_cache(cache, images, kept)
    if not kept.all():
        print(f"skipped {int((~kept).sum())} unreadable {what} (data.skip_bad_images)")
    return images, kept


def read_labels_csv(path: Path, folder: Path) -> dict[str, str]:
    """{absolute image path: class name} from a CSV of `file,label` rows (file relative to `folder`; a header
    row `file,label` is allowed)."""
    import csv

    if not path.is_file():
        raise DataError(f"labels CSV not found: {path}")
    labels = {}
    with path.open(newline="") as f:
        for n, row in enumerate(csv.reader(f), 1):
            if not row or (n == 1 and [c.strip().lower() for c in row] == ["file", "label"]):
                continue
            if len(row) != 2 or not row[1].strip():
                raise DataError(f"{path}, line {n}: expected 'file,label', got {','.join(row)!r}")
            file = os.path.abspath(folder / row[0].strip())
            if not os.path.isfile(file):
                raise DataError(f"{path}, line {n}: no such image {file}")
            labels[file] = row[1].strip()
    if not labels:
        raise DataError(f"{path}: no labelled files")
    return labels
