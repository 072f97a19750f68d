"""A user's image files as one uint8 array: found, converted to one size and mode, decoded on every
core with a progress bar, and cached (cache.py).

Every image is converted the same way at training and at prediction time (`Conversion`): to
`channels` (1: grey, 3: RGB; alpha is dropped) and to `size` (height, width), keeping the aspect
ratio: the short side is resized to fit, then the centre is cropped. Every file ends one of three
ways: converted; skipped and listed (`skip_bad`); or a DataError naming it and why. A file whose
header declares more than `max_pixels` pixels is refused before it is decoded (a decompression bomb).
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import DataError
from . import cache as image_cache

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
CHUNK = 256  # files a worker decodes per task
MAX_PIXELS = 89_478_485  # Pillow's own limit (about 9500 x 9500): data.max_image_pixels, --max-image-pixels


class BadPixels(ValueError):
    """A picture that decodes but whose values cannot be read as an image's (not finite, out of range)."""


def _float_to_uint8(values: np.ndarray) -> np.ndarray:
    """A float picture's values, in [0, 1] or else [0, 255], as uint8; others are refused."""
    if not np.isfinite(values).all():
        raise BadPixels("its values are not all finite (NaN or infinity)")
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if low < 0 or high > 255:
        raise BadPixels(f"its float values span [{low:g}, {high:g}], outside both [0, 1] and [0, 255]")
    return (values * (255 if high <= 1 else 1)).round().astype(np.uint8)


@dataclass(frozen=True)
class Conversion:
    """How every image is brought to the run's shape: (height, width) and 1 or 3 channels."""

    size: tuple[int, int]
    channels: int

    def apply(self, image):
        """A PIL image -> (H, W, C) uint8: turned upright as its EXIF says, 16-bit grey scaled to 8, float
        pictures read in [0, 1] or [0, 255] (BadPixels otherwise)."""
        from PIL import Image, ImageOps

        size = (self.size[1], self.size[0])  # PIL's (width, height)
        image.draft(None, size)  # a large JPEG decodes at the smallest scale still covering `size`
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grey: convert("L") would clip at 255
            image = Image.fromarray((np.asarray(image, np.float32) / 257).clip(0, 255).astype(np.uint8))
        elif image.mode == "F":  # 32-bit float: convert("L") would truncate [0, 1] to black and NaN to 0
            image = Image.fromarray(_float_to_uint8(np.asarray(image, np.float32)))
        image = image.convert("L" if self.channels == 1 else "RGB")
        if image.size != size:
            image = ImageOps.fit(image, size, method=Image.Resampling.BICUBIC)
        return np.asarray(image).reshape(*self.size, self.channels)

    def to_dict(self) -> dict:
        return {"size": list(self.size), "channels": self.channels}


@contextmanager
def open_image(path, max_pixels: int = MAX_PIXELS):
    """Pillow's Image.open(path) for a `with` block, any failure in it a DataError naming the file: one
    whose header declares more than `max_pixels` pixels before anything is decoded, one that does not
    decode, one whose values are not an image's (BadPixels)."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None  # Pillow's own check (a warning, then an error at twice its limit) off: ours
        with Image.open(path) as image:
            if image.width * image.height > max_pixels:
                raise BadPixels(
                    f"it declares {image.width} x {image.height} pixels, over the limit of {max_pixels:,} against "
                    f"decompression bombs; for genuinely large pictures raise data.max_image_pixels "
                    f"(or --max-image-pixels)"
                )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow's remarks on odd files: the file decodes or is named
                yield image
    except BadPixels as e:
        raise DataError(f"{path}: {e}") from None
    except Exception as e:  # Pillow's decoders, meeting a hostile file, raise errors of every kind
        reason = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{path}: not a readable image ({reason})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def find_images(folder: Path, recursive: bool = True) -> list[Path]:
    """The image files under `folder` (in its sub-folders too when `recursive`), sorted by path.
    (os.walk reads each folder once and makes no call per file: 100 000 files list in a second.)"""
    found = []
    for parent, _, names in os.walk(folder):
        found += [os.path.join(parent, n) for n in names if os.path.splitext(n)[1].lower() in IMAGE_SUFFIXES]
        if not recursive:
            break
    return [Path(f) for f in sorted(found)]


def choose_conversion(
    files: list[Path], size=None, channels: int | None = None, max_pixels: int = MAX_PIXELS
) -> Conversion:
    """The conversion a config asks for; what it leaves unset is the most common size and mode of
    `files` (read from their headers only)."""
    sizes, modes, first_error = Counter(), Counter(), None
    if size is None or channels is None:
        for f in files:
            try:
                with open_image(f, max_pixels) as im:
                    sizes[(im.height, im.width)] += 1
                    modes[1 if im.mode in GREY_MODES else 3] += 1
            except DataError as e:
                first_error = first_error or e  # the others are named when they are decoded
        if not sizes:
            raise DataError(f"none of the {len(files)} training images could be read (the first: {first_error})")
    if isinstance(size, int):
        size = (size, size)
    return Conversion(tuple(size) if size else sizes.most_common(1)[0][0], channels or modes.most_common(1)[0][0])


def _decode(job: tuple[list[str], Conversion, int]) -> list[np.ndarray | str]:
    """Decode a chunk of files: each an (H, W, C) uint8 array, or why it could not be read."""
    files, conversion, max_pixels = job
    out = []
    for f in files:
        try:
            with open_image(f, max_pixels) as image:
                out.append(conversion.apply(image))
        except DataError as e:
            out.append(str(e))
    return out


def _decode_all(files: list[Path], conversion: Conversion, max_pixels: int, what: str) -> list:
    """Every file decoded (or the reason it could not be), on every core where there are many."""
    chunks = [([str(f) for f in files[i : i + CHUNK]], conversion, max_pixels) for i in range(0, len(files), CHUNK)]
    results = []
    workers = min(os.cpu_count() or 1, len(chunks))
    with tqdm(total=len(files), desc=f"reading {what}", unit="img", disable=len(files) < 1000) as bar:
        with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
            for chunk in (pool.map if pool else map)(_decode, chunks):  # a few files: no processes to start
                results.extend(chunk)
                bar.update(len(chunk))
    return results


@dataclass
class Decoded:
    """Image files decoded: `images` (N', H, W, C) uint8 of the files `kept` ((N,) bool), and the
    `skipped` ones as (file, reason)."""

    images: np.ndarray
    kept: np.ndarray
    skipped: list[tuple[str, str]]


def decode_images(
    files: list[Path],
    conversion: Conversion,
    skip_bad: bool = False,
    what: str = "images",
    cache: bool = True,
    max_pixels: int = MAX_PIXELS,
    skip_hint: str = "set data.skip_bad_images: true",
) -> Decoded:
    """The files decoded on every core, or read from the cache (where `cache`). A file that cannot be
    read is a DataError naming it, or with `skip_bad` is left out and listed (if none is readable,
    `images` is empty)."""
    key = (conversion, max_pixels)
    found = image_cache.read(files, key) if cache else None
    if found is not None:
        images, kept, reasons = found
    else:
        results = _decode_all(files, conversion, max_pixels, what)
        kept = np.array([not isinstance(r, str) for r in results], bool)
        reasons = [r for r in results if isinstance(r, str)]
        images = np.stack([r for r in results if not isinstance(r, str)]) if kept.any() else None
        if images is None:
            images = np.zeros((0, *conversion.size, conversion.channels), np.uint8)
        elif cache:  # the unreadable files too: a second run, told to skip them, reads the cache
            image_cache.write(files, key, images, kept, reasons)
    if reasons and not skip_bad:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        raise DataError(f"{reasons[0]}{more}; {skip_hint} to skip such files")
    skipped = [str(f) for f, ok in zip(files, kept) if not ok]
    return Decoded(images, kept, list(zip(skipped, reasons)))


def _csv_rows(path: Path) -> list[list[str]]:
    """The rows of a CSV as spreadsheets save it: UTF-8 with or without a byte-order mark, `,`, `;` or
    tab between cells, quoted cells, any line ends; empty cells at a row's end dropped."""
    import csv
    import io

    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (save it as 'CSV UTF-8')") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:  # one column, or too few rows to tell: commas
        dialect = csv.excel
    rows = []
    for row in csv.reader(io.StringIO(text, newline=""), dialect):
        while row and not row[-1].strip():
            row.pop()
        rows.append(row)
    return rows


def read_labels_csv(path: Path, folder: Path) -> dict[str, str]:
    """{absolute image path: class name} from a CSV of `file,label` rows (file relative to `folder`; a header
    row `file,label` is allowed). A row naming a file outside `folder`, or a file listed twice with two
    labels, is a DataError naming it."""
    if not path.is_file():
        raise DataError(f"labels CSV not found: {path}")
    root = os.path.abspath(folder)
    labels, lines = {}, {}
    for n, row in enumerate(_csv_rows(path), 1):
        if not row or (n == 1 and [c.strip().lower() for c in row] == ["file", "label"]):
            continue
        if len(row) != 2 or not row[1].strip():
            raise DataError(f"{path}, line {n}: expected 'file,label', got {row!r}")
        file, label = os.path.abspath(os.path.join(root, row[0].strip())), row[1].strip()
        if os.path.commonpath([root, file]) != root:
            raise DataError(f"{path}, line {n}: {row[0].strip()} is not an image file under data.path ({root})")
        if not os.path.isfile(file):
            raise DataError(f"{path}, line {n}: no such image {file}")
        if labels.get(file, label) != label:
            raise DataError(
                f"{path}, line {n}: {row[0].strip()} is listed twice with different labels "
                f"({labels[file]!r} on line {lines[file]}, {label!r} here)"
            )
        labels[file], lines[file] = label, n
    if not labels:
        raise DataError(f"{path}: no labelled files")
    return labels
