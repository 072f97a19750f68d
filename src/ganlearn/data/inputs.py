"""New images handed in for prediction or analysis, brought to a trained run's images: files, folders
(searched recursively), .npz files, PIL images and arrays, converted as training converted its files
(to the recorded size and mode, data/images.py) or, for runs on arrays, to their shape.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import DataError
from .arrays import as_images
from .files import read_npz
from .images import MAX_PIXELS, Conversion, UnusableImage, decode_images, find_images


class InputReader:
    """Reads inputs as a run's images of shape `image_shape` (C, H, W); `conversion` is the run's
    recorded {"size", "channels"} (None for a run on arrays: converted to its shape); `what` names
    the inputs in messages. An image file that cannot be read is a DataError naming it, or with
    `skip_bad` is left out and listed in `skipped` as (file, reason); `max_pixels` as in images.py."""

    def __init__(
        self, image_shape, conversion: dict | None, what="images to predict", skip_bad=False, max_pixels=MAX_PIXELS
    ):
        self.image_shape = tuple(image_shape)
        c, h, w = self.image_shape
        conversion = conversion or {"size": (h, w), "channels": c}
        self.conversion = Conversion(tuple(conversion["size"]), conversion["channels"])
        self.what, self.skip_bad, self.max_pixels = what, skip_bad, max_pixels
        self.skipped: list[tuple[str, str]] = []
        self._resized_once = False

    def read(self, inputs) -> tuple[np.ndarray, list[str]]:
        """(N, C, H, W) float32 images and a name for each: a file path, `file.npz[i]`, or `[i]` for the
        i-th image given in memory. `skipped` then lists the files this call left out."""
        self.skipped = []
        items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        parts = [self._one(item) for item in items]
        x = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, *self.image_shape), np.float32)
        names = [name for images, names in parts for name in (names or [None] * len(images))]
        return x, [name or f"[{i}]" for i, name in enumerate(names)]

    def _one(self, item) -> tuple[np.ndarray, list[str] | None]:
        """One input's images (N, C, H, W) and their names (None: images given in memory)."""
        if isinstance(item, (str, Path)):
            return self._path(Path(item))
        if hasattr(item, "convert") and hasattr(item, "size"):  # a PIL image
            try:
                return as_images(self.conversion.apply(item)[None]), None
            except UnusableImage as e:
                raise DataError(f"a picture given in memory: {e}") from None
        return self._array(np.asarray(item)), None

    def _path(self, path: Path) -> tuple[np.ndarray, list[str]]:
        if path.suffix.lower() == ".npz":
            return self._npz(path)
        files = find_images(path) if path.is_dir() else [path]
        if path.is_dir() and not files:
            raise DataError(f"{path}: no images in the folder")
        if not path.exists():
            raise DataError(f"no such file or folder: {path}")
        decoded = decode_images(
            files,
            self.conversion,
            skip_bad=self.skip_bad,
            what=self.what,
            cache=False,
            max_pixels=self.max_pixels,
            skip_hint="pass skip_bad=True (ganlearn predict, cluster, anomaly: --skip-bad)",
        )
        self.skipped += decoded.skipped
        names = [str(f) for f, kept in zip(files, decoded.kept) if kept]
        return as_images(decoded.images.transpose(0, 3, 1, 2)), names

    def _npz(self, path: Path) -> tuple[np.ndarray, list[str]]:
        arrays = read_npz(path)
        key = next(
            (k for k in ("x", "x_test", "x_train") if k in arrays), next(iter(arrays)) if len(arrays) == 1 else None
        )
        if key is None:
            raise DataError(f"{path}: expected an array x (or x_test, x_train), found {sorted(arrays)}")
        array = arrays[key]
        return self._array(array, str(path)), [f"{path}[{i}]" for i in range(len(array))]

    def _array(self, array: np.ndarray, what: str = "images") -> np.ndarray:
        """uint8 or float images (N, H, W[, C]) or (N, C, H, W) -> the run's (N, C, H, W) in [0, 1]."""
        x = as_images(array, what)
        if x.shape[1:] == self.image_shape:
            return x
        from PIL import Image

        if not self._resized_once:
            print(f"converting {what} of shape {x.shape[1:]} to the run's {self.image_shape}")
            self._resized_once = True
        pixels = (x * 255).round().astype(np.uint8).transpose(0, 2, 3, 1)  # (N, H, W, C)
        pictures = [Image.fromarray(p[..., 0] if p.shape[-1] == 1 else p) for p in pixels]
        return as_images(np.stack([self.conversion.apply(p) for p in pictures]))


def report_skipped(skipped: list[tuple[str, str]], out: Path) -> None:
    """List the files left out as unreadable in the CSV `out` (file, reason) and say so in one line; with
    none, remove an `out` an earlier run left."""
    out = Path(out)
    if not skipped:
        out.unlink(missing_ok=True)
        return
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "reason"])
        writer.writerows(skipped)
    print(f"skipped {len(skipped)} unreadable image files (the first: {skipped[0][1]}): listed in {out}")


def skipped_beside(out: Path) -> Path:
    """Where the files skipped for an output CSV are listed: OUT_skipped.csv beside it."""
    return Path(out).with_name(Path(out).stem + "_skipped.csv")
