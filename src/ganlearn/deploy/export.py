"""Exported models: the generator and the EMA discriminator (or segmenter and adversary) of a run as
one safetensors file, whose metadata carries the config, classes and image shape. Loading such a
file reads tensors and strings only, so a model from someone else can never run code."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from .. import config as config_mod
from ..checkpoint import load_run, restore_models
from ..compat import READS
from ..errors import CheckpointError, GanlearnError, first_line
from ..losses import real_logit
from ..modes import MODES
from ..version import __version__

FORMAT = "ganlearn-model-1"


def _version(text: str) -> str:
    return ".".join(text.split(".")[:2])


def pack_weights(G: torch.nn.Module, D: torch.nn.Module) -> dict[str, torch.Tensor]:
    """G's and D's weights as one flat dict of tensors, "G."- and "D."-prefixed (our safetensors layout)."""
    return {f"{name}.{k}": v.contiguous() for name, net in (("G", G), ("D", D)) for k, v in net.state_dict().items()}


def unpack_weights(tensors: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    """The state dict of network `name` ("G" or "D") from `pack_weights`' layout."""
    return {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(f"{name}.")}


def export_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write RUN_DIR's models to `out` (default RUN_DIR/model.safetensors)."""
    cfg, state = load_run(run_dir)
    G, D = restore_models(cfg, state, torch.device("cpu"))
    tensors = pack_weights(G, D)
    metadata = {
        "format": FORMAT,
        "ganlearn_version": __version__,
        "config": json.dumps(cfg.to_dict()),
        "classes": json.dumps(state["classes"]),
        "image_shape": json.dumps(state["image_shape"]),
        "conversion": json.dumps(state.get("conversion")),
    }
    out = Path(out) if out else Path(run_dir) / "model.safetensors"
    save_file(tensors, str(out), metadata=metadata)
    return out


class _Probabilities(torch.nn.Module):
    """A K-class discriminator's outputs as a user reads them: class probabilities, and p(real) where
    it learned a fake class (a K+1 GAN's D; not a D trained on real images alone)."""

    def __init__(self, D: torch.nn.Module, kplus1: bool):
        super().__init__()
        self.D, self.kplus1 = D, kplus1

    def forward(self, images):  # (N, C, H, W) in [0, 1] -> (N, K)[, (N,)]
        logits = self.D(images).float()
        if not self.kplus1:
            return logits.softmax(1)
        return logits.softmax(1), torch.sigmoid(real_logit(logits))


def export_onnx(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write RUN_DIR's classifier (its moving average of D) as ONNX (default RUN_DIR/model.onnx): input
    `images` (N, C, H, W) float32 in [0, 1], converted as the run's images were; outputs
    `probabilities` (N, K) and, for a K+1 GAN, `p_real` (N,); the class names and conversion in its metadata."""
    try:
        import onnx
    except ImportError:
        raise GanlearnError("--format onnx needs the onnx package: pip install 'ganlearn[onnx]'") from None
    cfg, state = load_run(run_dir)
    if not MODES[cfg.train.mode].classifies:
        raise GanlearnError(f"{run_dir} was trained in mode {cfg.train.mode}, which has no classifier to export")
    _, D = restore_models(cfg, state, torch.device("cpu"))
    kplus1 = MODES[cfg.train.mode].generates  # as deploy.trained_model's predictions
    out = Path(out) if out else Path(run_dir) / "model.onnx"
    example = torch.zeros(2, *state["image_shape"])
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Probabilities(D, kplus1).eval(),
            (example,),
            str(out),
            input_names=["images"],
            output_names=["probabilities", "p_real"][: 2 if kplus1 else 1],
            dynamic_axes={"images": {0: "n"}},
            dynamo=False,
        )
    model = onnx.load(str(out))
    for key, value in {
        "ganlearn_version": __version__,
        "classes": json.dumps(state["classes"]),
        "conversion": json.dumps(state.get("conversion")),
    }.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(out))
    return out


def read_safetensors(path: str | Path, fmt: str, device: str = "cpu") -> tuple[dict, dict]:
    """(tensors, metadata) of a ganlearn safetensors file of format `fmt`, written by a version in READS."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"exported model not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        tensors = load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({e})") from None
    if metadata.get("format") != fmt:
        raise CheckpointError(f"{path} is a safetensors file but not a ganlearn {fmt.split('-')[1]} file")
    written_by = metadata.get("ganlearn_version", "0.1")
    if _version(written_by) not in READS:
        raise CheckpointError(
            f"{path} was exported by ganlearn {written_by}; this is ganlearn {__version__}: "
            f"export it again with this version, or use ganlearn {written_by}"
        )
    return tensors, metadata


def read_exported(path: str | Path, device: str = "cpu") -> tuple:
    """(config, state) of an exported file, `state` holding what a run's checkpoint holds for
    prediction: classes, image_shape, conversion, G and D_ema (the weights)."""
    tensors, metadata = read_safetensors(path, FORMAT, device)
    try:
        cfg = config_mod.from_dict(json.loads(metadata["config"]))
        state = {
            "classes": json.loads(metadata["classes"]),
            "image_shape": json.loads(metadata["image_shape"]),
            "conversion": json.loads(metadata.get("conversion", "null")),
            "G": unpack_weights(tensors, "G"),
            "D_ema": unpack_weights(tensors, "D"),
        }
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: inconsistent ganlearn model ({first_line(e)})") from None
    return cfg, state


def load_exported(path: str | Path, device: str = "cpu"):
    """(config, G, D, classes) from an exported file, the networks in evaluation mode."""
    cfg, state = read_exported(path, device)
    G, D = restore_models(cfg, state, torch.device(device))
    return cfg, G, D, state["classes"]


def export(run_dir: str | Path, out: str | Path | None = None, format: str = "safetensors") -> Path:
    """`ganlearn export`: RUN_DIR's networks as safetensors (export_run) or its classifier as ONNX
    (export_onnx); returns the file's path."""
    if format not in ("safetensors", "onnx"):
        raise GanlearnError(f"format must be safetensors or onnx, got {format!r}")
    return export_onnx(run_dir, out) if format == "onnx" else export_run(run_dir, out)
