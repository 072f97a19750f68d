"""Training: the machinery around the method's steps (steps.py, modes.py).

- loop.py: build(cfg, data) -> Training; fit(t, log) runs its epochs; run(cfg, name) in a run folder
- state.py: Training, everything a run holds, and its checkpoint
- schedule.py: batch orders, pseudo-labels, the learning-rate factor, the moving average of D
- monitor.py: what is measured and pictured after each epoch
- runlog.py: the run folder (config.yaml, metrics.jsonl, TensorBoard, sample grids, curves)
- cuda_graphs.py, distributed.py: one iteration as a CUDA graph; DDP under torchrun
"""

from .loop import build, fit, run

__all__ = ["build", "fit", "run"]
