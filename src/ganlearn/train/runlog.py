"""The files of one run folder: config.yaml, metrics.jsonl, TensorBoard events (tb/), sample grids
(samples/), curves.png, checkpoint.pt, and skipped_images.csv where image files were left out. A
RunLog without a folder (the Python API) writes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .. import config as config_mod
from ..checkpoint import CHECKPOINT
from ..data.inputs import report_skipped
from ..evaluation.plots import plot_curves, save_grid

METRICS = "metrics.jsonl"
SKIPPED = "skipped_images.csv"  # the image files a run left out as unreadable (data.skip_bad_images)


def new_run_dir(out_dir: str | Path, name: str) -> Path:
    """A fresh numbered folder: runs/000-mnist_ssl, runs/001-mnist_ssl, ..."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in out.iterdir() if (m := re.match(r"(\d+)-", p.name))]
    folder = out / f"{max(numbers, default=-1) + 1:03d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"
    folder.mkdir()
    return folder


class RunLog:
    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None
        self._tb = None

    @property
    def checkpoint_path(self) -> Path | None:
        return self.folder / CHECKPOINT if self.folder else None

    def start(self, cfg, completed_epochs: int, skipped=()) -> None:
        """Write the resolved config and the list of image files skipped as unreadable (`skipped`:
        (file, reason) pairs); on resumption drop metrics of epochs the checkpoint does not have."""
        if not self.folder:
            return
        config_mod.save(cfg, self.folder / "config.yaml")
        report_skipped(list(skipped), self.folder / SKIPPED)
        metrics = self.folder / METRICS
        if metrics.exists():
            kept = [
                line
                for line in metrics.read_text().splitlines()
                if line.strip() and json.loads(line)["epoch"] <= completed_epochs
            ]
            metrics.write_text("".join(line + "\n" for line in kept))

    def _writer(self):
        if self._tb is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.folder / "tb"))
        return self._tb

    def log_epoch(self, record: dict, samples: np.ndarray | None) -> None:
        """Append one epoch's record; update TensorBoard, the sample grids and the curves."""
        if not self.folder:
            return
        with (self.folder / METRICS).open("a") as f:
            f.write(json.dumps(record) + "\n")
        tb = self._writer()
        for key, value in record.items():
            if key not in ("epoch", "step"):
                tb.add_scalar(key, value, record["step"])
        if samples is not None:
            (self.folder / "samples").mkdir(exist_ok=True)
            save_grid(samples, self.folder / "samples" / f"epoch_{record['epoch']:03d}.png")
            save_grid(samples, self.folder / "samples.png")
            tb.add_images("samples", samples, record["step"])
        tb.flush()
        plot_curves(self.folder / METRICS, self.folder / "curves.png")

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
