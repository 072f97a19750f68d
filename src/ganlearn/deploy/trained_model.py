"""A trained classifier or segmenter put to use on new images: `ganlearn.load(path)` and `ganlearn predict`.

    model = ganlearn.load("runs/000-images_ssl")       # a run folder or an exported .safetensors file
    model.predict(["new/cat.png", "more_images/"])       # class names
    model.predict_proba(images)                          # (N, K), images as arrays, PIL images or paths
    ganlearn.load("runs/001-mnist_seg").label_maps(images)  # (N, H, W) class numbers (mode seg)

Inputs are brought to the run's images exactly as training brought its files: to the recorded size
and mode (data/images.py), or for runs on arrays, to their shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_run, restore_models
from ..data.inputs import InputReader, report_skipped, skipped_beside
from ..errors import DataError, GanlearnError
from ..evaluation.plots import colour_maps
from ..hardware import resolve_device
from ..losses import real_logit
from ..models.outputs import predict_label_maps, predict_logits
from ..modes import MODES
from .export import read_exported


class Model:
    """A trained network with K outputs (a K-class discriminator, or a segmenter's K per-pixel class
    logits) and the conversion its training images went through.

    Attributes: `classes_` (class names), `image_shape` (C, H, W), `conversion`, `kplus1` (whether
    D also tells real from generated images: mode ssl), `segments` (a segmenter: mode seg), `net`
    (in evaluation mode), `skipped` (the image files left out as unreadable, with `skip_bad`).
    """

    def __init__(self, net, classes, image_shape, conversion: dict | None, kplus1: bool, segments=False, **reading):
        self.net, self.classes_, self.image_shape, self.kplus1 = net, np.array(classes), tuple(image_shape), kplus1
        self.segments = segments
        self.reader = InputReader(self.image_shape, conversion, **reading)  # skip_bad, max_pixels
        self.conversion = self.reader.conversion

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """(file, reason) of each image file the last call left out as unreadable (with `skip_bad`)."""
        return self.reader.skipped

    def images(self, inputs) -> tuple[torch.Tensor, list[str]]:
        """(N, C, H, W) float32 images and a name for each (data.inputs.InputReader.read)."""
        x, names = self.reader.read(inputs)
        return torch.from_numpy(x), names

    @torch.no_grad()
    def logits(self, inputs, batch_size: int = 1000) -> tuple[torch.Tensor, list[str]]:
        """(N, K) fp32 class logits of the inputs ((N, K, H, W) for a segmenter), and their names."""
        x, names = self.images(inputs)
        return predict_logits(self.net, x.to(next(self.net.parameters()).device), batch_size).float().cpu(), names

    def label_maps(self, inputs) -> np.ndarray:
        """(N, H, W) uint8: the class number of each pixel (a segmenter's prediction)."""
        return self._label_maps_of(self.images(inputs)[0])

    def _label_maps_of(self, x: torch.Tensor) -> np.ndarray:  # (N, C, H, W) converted images -> (N, H, W)
        if not self.segments:
            raise GanlearnError("label maps need a segmenter (a run of mode seg)")
        return predict_label_maps(self.net, x.to(next(self.net.parameters()).device), batch_size=100)

    def _classifier_logits(self, inputs) -> torch.Tensor:
        if self.segments:
            raise GanlearnError("a segmenter gives label maps, not one class per image: use label_maps")
        return self.logits(inputs)[0]

    def predict_proba(self, inputs) -> np.ndarray:
        """(N, K) class probabilities given that the image is real."""
        return self._classifier_logits(inputs).softmax(1).double().numpy()

    def predict(self, inputs) -> np.ndarray:
        """(N,) the most probable class name of each input."""
        return self.classes_[self._classifier_logits(inputs).argmax(1).numpy()]

    def p_real(self, inputs) -> np.ndarray:
        """(N,) p(real | x) of the K+1 discriminator: low for images unlike the training data."""
        if not self.kplus1:
            raise GanlearnError("p(real) needs a K+1 discriminator (a run of mode ssl)")
        return torch.sigmoid(real_logit(self.logits(inputs)[0])).double().numpy()


def load(path: str | Path, device: str = "auto", skip_bad: bool = False, max_image_pixels: int | None = None) -> Model:
    """The classifier of a run folder (its moving average of D) or of an exported .safetensors file.
    An image file that cannot be read is a DataError naming it, or with `skip_bad` is left out of
    the outputs and listed in `Model.skipped`; a file declaring more than `max_image_pixels` pixels
    (None: the run's data.max_image_pixels) is refused before it is decoded."""
    path = Path(path)
    if path.is_dir():
        cfg, state = load_run(path)
    elif path.is_file():
        cfg, state = read_exported(path)
    else:
        raise GanlearnError(f"not a run folder or an exported model: {path}")
    mode = MODES[cfg.train.mode]
    segments = mode.kind == "segmentation"
    if not (mode.classifies or segments):
        raise GanlearnError(f"{path} was trained in mode {cfg.train.mode}, which has no classifier or segmenter")
    G, D = restore_models(cfg, state, resolve_device(device))
    net, conversion = (G, None) if segments else (D, state.get("conversion"))
    max_pixels = cfg.data.max_image_pixels if max_image_pixels is None else max_image_pixels
    reading = {"skip_bad": skip_bad, "max_pixels": max_pixels}
    return Model(net, state["classes"], state["image_shape"], conversion, mode.generates, segments, **reading)


def write_predictions(model: Model, inputs: list[str], out: Path) -> int:
    """Write a CSV of file, predicted class, each class's probability (and p_real for a K+1 D), and the
    files skipped as unreadable in OUT_skipped.csv; the row count."""
    import csv

    logits, names = model.logits(inputs)
    report_skipped(model.skipped, skipped_beside(out))
    if not names and model.skipped:
        raise DataError(f"none of the inputs could be read: see {skipped_beside(out)}")
    probs = logits.softmax(1).numpy()
    p_real = torch.sigmoid(real_logit(logits)).numpy() if model.kplus1 else None
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["file", "predicted", *[f"p_{c}" for c in model.classes_], *(["p_real"] if model.kplus1 else [])]
        )
        for i, name in enumerate(names):
            row = [name, model.classes_[probs[i].argmax()], *[f"{p:.6f}" for p in probs[i]]]
            writer.writerow(row + ([f"{p_real[i]:.6f}"] if p_real is not None else []))
    return len(names)


def write_label_maps(model: Model, inputs: list[str], out: Path) -> int:
    """For each input, in folder `out`: NAME.png, its predicted label map (pixel value = class number,
    as seg-folder's label maps), and NAME_overlay.png, the image with the map's colours over it; files
    skipped as unreadable in skipped.csv; the count."""
    from PIL import Image

    x, names = model.images(inputs)
    out.mkdir(parents=True, exist_ok=True)
    report_skipped(model.skipped, out / "skipped.csv")
    if not names and model.skipped:
        raise DataError(f"none of the inputs could be read: see {out / 'skipped.csv'}")
    maps = model._label_maps_of(x)  # (N, H, W), of the images as converted once
    rgb = np.repeat(x.numpy(), 3, axis=1) if x.shape[1] == 1 else x.numpy()  # (N, 3, H, W)
    blended = 0.5 * rgb + 0.5 * colour_maps(maps)
    used = set()
    for name, label_map, picture in zip(names, maps, blended):
        stem = _output_stem(name, used)
        Image.fromarray(label_map).save(out / f"{stem}.png")
        Image.fromarray((picture.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(out / f"{stem}_overlay.png")
    return len(names)


def _output_stem(name: str, used: set) -> str:
    """A file stem for an input's outputs: its file's stem, `file_i` for an .npz's i-th image, `image_i`
    for the i-th in memory; `_2`, `_3`, ... after one already used (the same name in two folders)."""
    base = Path(Path(name).stem if not name.endswith("]") else name[:-1].replace(".npz[", "_").replace("[", "image_"))
    stem, n = base.name, 1
    while stem in used:
        n += 1
        stem = f"{base.name}_{n}"
    used.add(stem)
    return stem
