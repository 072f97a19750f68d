"""CUDA graphs (`train.cuda_graphs`): a training iteration's steps captured once and replayed.

On a GPU the MLP pair's iteration is launch-bound: a few hundred small kernels, each costing more to
launch than to run (docs/results.md). Captured as one CUDA graph, they are launched together. What
changes between iterations lives in tensors that the graph reads: the batch (copied into fixed
buffers), the learning rates and the EMA rate. The random draws (D's noise, G's z) come from the
CUDA generator, which advances at every replay: each iteration draws new numbers, though not the
numbers an uncaptured run draws.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from ..errors import ConfigError, TrainingError
from ..modes import MODES
from ..steps import Batch
from . import distributed

WARMUP = 3  # uncaptured iterations first: the optimizer state and the kernels' workspaces exist by then
BATCH_FIELDS = ("x_lab", "y_lab", "x_unl", "x_unl2", "x_strong")  # x_strong: None without the consistency term


def check(cfg, device: torch.device) -> None:
    """Refuse, in one line, a run whose iterations cannot be one fixed graph."""
    t = cfg.train
    reasons = [
        (device.type != "cuda", "it needs a GPU (train.device cuda, or auto on a machine with one)"),
        (not MODES[t.mode].fixed_steps, f"mode {t.mode}'s steps change during training"),
        (cfg.self_training.threshold is not None, "self-training's pseudo-labelled batch comes and goes"),
        (distributed.world()[1] > 1, "it does not run with several processes (torchrun)"),
    ]
    why = next((reason for failed, reason in reasons if failed), None)
    if why:
        raise ConfigError(f"train.cuda_graphs: {why}; set train.cuda_graphs: false")


def cuda_capture(run: Callable[[], dict]) -> tuple[Callable[[], None], dict]:
    """Capture `run()` as a CUDA graph: (replay, the statistics tensors that each replay rewrites)."""
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(graph):
            stats = run()
    except RuntimeError as error:  # say it in one line, with the way out
        first = (str(error).strip().splitlines() or ["?"])[0]
        raise TrainingError(
            f"train.cuda_graphs: the training step could not be captured ({first}); set train.cuda_graphs: false"
        ) from None
    return graph.replay, stats


class CapturedSteps:
    """`steps(batch, ema_rate) -> stats` (loop.run_steps) run through a CUDA graph after WARMUP
    iterations. `capture` is `cuda_capture`; the tests give one that replays eagerly on the CPU."""

    def __init__(self, steps: Callable, optimizers, device: torch.device, capture: Callable = cuda_capture):
        self.steps, self.optimizers, self.device, self.capture = steps, optimizers, device, capture
        self.rate = torch.zeros((), device=device)  # (): D's EMA rate, 1 - decay, read by the graph
        self.reset()

    def reset(self) -> None:
        """Learning rates as tensors the graph reads; capture again after WARMUP more iterations.
        Called again after the optimizers' state is loaded."""
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"] = torch.tensor(float(group["lr"]), device=self.device)
        self.warmup, self.replay, self.stats, self.batch = WARMUP, None, None, None

    def __call__(self, batch: Batch, ema_rate: float) -> dict:
        assert batch.x_pseudo is None, "check() refuses self-training"
        self.rate.fill_(ema_rate)  # computed in Python, as uncaptured: the same fp32 number
        if self.warmup:  # a real iteration, uncaptured, on a side stream as capture asks
            self.warmup -= 1
            with _side_stream(self.device):
                return self.steps(batch, self.rate)
        if self.replay is None:
            for opt in self.optimizers:  # Adam's check that its state lives on the GPU (SGD has none)
                if isinstance(opt, torch.optim.Adam):
                    for group in opt.param_groups:
                        group["capturable"] = True
            self.batch = Batch(**{name: value.clone() for name, value in self._fields(batch)})
            self.replay, self.stats = self.capture(lambda: self.steps(self.batch, self.rate))
        for name, value in self._fields(batch):
            getattr(self.batch, name).copy_(value)
        self.replay()
        return self.stats

    @staticmethod
    def _fields(batch: Batch) -> list[tuple[str, torch.Tensor]]:
        """The batch's tensors that the graph reads (copied into its buffers at each replay)."""
        return [(name, getattr(batch, name)) for name in BATCH_FIELDS if getattr(batch, name) is not None]


@contextlib.contextmanager
def _side_stream(device: torch.device):
    if device.type != "cuda":
        yield
        return
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        yield
    torch.cuda.current_stream(device).wait_stream(side)
