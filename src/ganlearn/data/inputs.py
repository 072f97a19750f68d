"""New images handed in for prediction or analysis, brought to a trained run's images: files, folders
(searched recursively), .npz files, PIL images and arrays, converted as training converted its files
(to the recorded size and mode, data/images.py) or, for runs on arrays, to their shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .arrays import as_images
from .images import Conversion, decode_images, find_images


class InputReader:
    """Reads inputs as a run's images of shape `image_shape` (C, H, W); `conversion` is the run's
    recorded {"size", "channels"} (None for a run on arrays: converted to its shape); `what` names
    the inputs in messages."""

    def __init__(self, image_shape, conversion: dict | None, what: str = "images to predict"):
        self.image_shape = tuple(image_shape)
        c, h, w = self.image_shape
        conversion = conversion or {"size": (h, w), "channels": c}
        self.conversion = Conversion(tuple(conversion["size"]), conversion["channels"])
        self.what = what  # how messages name the inputs
        self._resized_once = False

    def read(self, inputs) -> tuple[np.ndarray, list[str]]:
        """(N, C, H, W) float32 images and a name for each: a file path, `file.npz[i]`, or `[i]` for the
        i-th image given in memory."""
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
            return as_images(self.conversion.apply(item)[None]), None
        return self._array(np.asarray(item)), None

    def _path(self, path: Path) -> tuple[np.ndarray, list[str]]:
        if path.suffix.lower() == ".npz":
            return self._npz(path)
        files = find_images(path) if path.is_dir() else [path]
        if path.is_dir() and not files:
            raise DataError(f"{path}: no images in the folder")
        if not path.exists():
            raise DataError(f"no such file or folder: {path}")
        images, _ = decode_images(files, self.conversion, what=self.what, cache=False)
        return as_images(images.transpose(0, 3, 1, 2)), [str(f) for f in files]

    def _npz(self, path: Path) -> tuple[np.ndarray, list[str]]:
        try:
            with np.load(path, allow_pickle=False) as f:
                key = next(
                    (k for k in ("x", "x_test", "x_train") if k in f.files), f.files[0] if len(f.files) == 1 else None
                )
                if key is None:
                    raise DataError(f"{path}: expected an array x (or x_test, x_train), found {sorted(f.files)}")
                array = f[key]
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: not a readable .npz file ({e})") from None
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
