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
import re
import stat
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import DataError, first_line
from . import cache as image_cache

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
CHUNK = 256  # files a worker decodes per task
MAX_PIXELS = 89_478_485  # Pillow's default limit (about 9500 x 9500): data.max_image_pixels, --max-image-pixels
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")  # the decoders of IMAGE_SUFFIXES; no other runs


class UnusableImage(ValueError):
    """A file that opens as a picture but cannot be used as one: too many pixels, values that are not
    finite or out of range, a label map of the wrong mode."""


def _float_to_uint8(values: np.ndarray) -> np.ndarray:
    """A float picture's values, in [0, 1] or else [0, 255], as uint8; others are refused."""
    if not np.isfinite(values).all():
        raise UnusableImage("its values are not all finite (NaN or infinity)")
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if low < 0 or high > 255:
        raise UnusableImage(f"its float values span [{low:g}, {high:g}], outside both [0, 1] and [0, 255]")
    return (values * (255 if high <= 1 else 1)).round().astype(np.uint8)


def to_8bit(image):
    """16- and 32-bit grey as 8-bit grey (scaled by 1/257: convert("L") would clip at 255), float
    pictures read in [0, 1] or else [0, 255] (convert would truncate [0, 1] to black and NaN to 0);
    other modes as they are."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        return Image.fromarray((np.asarray(image, np.float32) / 257).clip(0, 255).astype(np.uint8))
    if image.mode == "F":
        return Image.fromarray(_float_to_uint8(np.asarray(image, np.float32)))
    return image


@dataclass(frozen=True)
class Conversion:
    """How every image is brought to the run's shape: (height, width) and 1 or 3 channels."""

    size: tuple[int, int]
    channels: int

    def apply(self, image):
        """A PIL image -> (H, W, C) uint8: turned upright as its EXIF says, brought to 8 bits (to_8bit),
        to the channels and to the size."""
        from PIL import Image, ImageOps

        size = (self.size[1], self.size[0])  # PIL's (width, height)
        image.draft(None, size)  # a large JPEG decodes at the smallest scale still covering `size`
        image = to_8bit(ImageOps.exif_transpose(image)).convert("L" if self.channels == 1 else "RGB")
        if image.size != size:
            image = ImageOps.fit(image, size, method=Image.Resampling.BICUBIC)
        return np.asarray(image).reshape(*self.size, self.channels)

    def to_dict(self) -> dict:
        return {"size": list(self.size), "channels": self.channels}


def _too_many_pixels(declared: str, max_pixels: int) -> UnusableImage:
    return UnusableImage(
        f"it declares {declared} pixels, over the limit of {max_pixels:,} against decompression bombs; for "
        f"genuinely large pictures raise data.max_image_pixels (or --max-image-pixels)"
    )


@contextmanager
def open_image(path, max_pixels: int = MAX_PIXELS):
    """Pillow's Image.open(path) for a `with` block, any failure in it a DataError naming the file: not a
    regular file (a pipe, a device), a header declaring more than `max_pixels` pixels (refused before
    anything is decoded), a file that does not decode, an UnusableImage."""
    from PIL import Image

    if Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's check (an error at twice its limit) must allow what ours does
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise UnusableImage("not a regular file")
        with Image.open(path, formats=FORMATS) as image:
            if image.width * image.height > max_pixels:
                raise _too_many_pixels(f"{image.width} x {image.height}", max_pixels)
            yield image
    except UnusableImage as e:
        raise DataError(f"{path}: {e}") from None
    except Image.DecompressionBombError as e:  # over twice Pillow's limit, refused by Pillow as it opened
        pixels = re.search(r"\((\d+) pixels\)", str(e))  # Pillow names the count, not the sides
        declared = f"{int(pixels[1]):,}" if pixels else "more"
        raise DataError(f"{path}: {_too_many_pixels(declared, max_pixels)}") from None
    except MemoryError:
        raise
    except Exception as e:  # Pillow's decoders, meeting a hostile file, raise errors of every kind
        raise DataError(f"{path}: not a readable image ({first_line(e)})") from None


def skipped_entry(file, message: str) -> tuple[str, str]:
    """(file, why) of a file left out as unreadable, from its DataError's message ("FILE: why")."""
    return str(file), message.removeprefix(f"{file}: ")


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
    files: list[Path], size=None, channels: int | None = None, max_pixels: int = MAX_PIXELS, max_side=None
) -> Conversion:
    """The conversion a config asks for; what it leaves unset is the most common size and mode of
    `files` (read from their headers only). With `max_side` (and no `size`), a square of that most
    common size's short side, at most `max_side`, rounded down to a multiple of 4."""
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
    if size is None and max_side is not None:
        side = max(4, min(*sizes.most_common(1)[0][0], max_side) // 4 * 4)
        size = (side, side)
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


def _quiet() -> None:
    """In a decoding worker: Pillow's remarks on odd files are dropped (each file decodes or is named)."""
    import warnings

    warnings.simplefilter("ignore")


def _decode_all(files: list[Path], conversion: Conversion, max_pixels: int, what: str) -> list:
    """Every file decoded (or the reason it could not be), on every core where there are many."""
    chunks = [([str(f) for f in files[i : i + CHUNK]], conversion, max_pixels) for i in range(0, len(files), CHUNK)]
    results = []
    workers = min(os.cpu_count() or 1, len(chunks))
    with tqdm(total=len(files), desc=f"reading {what}", unit="img", disable=len(files) < 1000) as bar:
        with ProcessPoolExecutor(workers, initializer=_quiet) if workers > 1 else nullcontext() as pool:
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
    skip_hint: str = "set data.skip_bad_images: true",  # how the message says to skip
) -> Decoded:
    """The files decoded on every core, or read from the cache (where `cache`). A file that cannot be
    read is a DataError naming it, or with `skip_bad` is left out and listed (if none is readable,
    `images` is empty)."""
    # the entry is named by the files as they are before decoding: one stat each, and a file changed
    # meanwhile is decoded afresh next time rather than cached under its new modification time
    entry = image_cache.path_of(files, (conversion, max_pixels)) if cache else None
    found = image_cache.read(entry, len(files)) if cache else None
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
            image_cache.write(entry, images, kept, reasons)
    if reasons and not skip_bad:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        raise DataError(f"{reasons[0]}{more}; to skip such files {skip_hint}")
    skipped = [skipped_entry(f, reason) for f, reason in zip([f for f, ok in zip(files, kept) if not ok], reasons)]
    return Decoded(images, kept, skipped)
