"""Run configuration: one dataclass per concern, loaded from YAML plus `section.key=value` overrides.

Unknown keys and values of the wrong type are errors, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from .compat import MOVED, upgrade
from .data import DATASETS, SOURCE_KEYS
from .data.images import MAX_PIXELS
from .errors import ConfigError, first_line
from .models import MODELS
from .modes import (
    G_LOSSES,
    MODE_SECTIONS,
    MODES,
    ClusterConfig,
    ConsistencyConfig,
    SegConfig,
    SelfTrainingConfig,
    check_mode,
)


@dataclass
class DataConfig:
    # a key of data.DATASETS: mnist | fashion | digits | npz | folder | mnist-seg | fashion-seg | seg-folder
    dataset: str = "mnist"
    path: str | None = None  # the .npz file or image folder for dataset npz / folder / seg-folder
    unlabelled_path: str | None = None  # folder: a folder searched recursively for images whose labels are unknown
    test_path: str | None = None  # folder: test images in one sub-folder per class (none: no test set)
    labels_csv: str | None = None  # folder: a CSV of file,label rows; the images under path it lists are labelled
    image_size: int | list[int] | None = None  # folder: side (or [height, width]) images are converted to
    channels: int | None = None  # folder: 1 (grey) or 3 (RGB); null: the most common size and mode of the labelled
    skip_bad_images: bool = False  # folder: skip and list unreadable image files instead of stopping
    max_image_pixels: int = MAX_PIXELS  # folder, seg-folder: refuse files declaring more pixels (decompression bombs)
    # folder, where image_size is null: square pictures of the labelled images' most common short side, but at most
    # this, rounded down to a multiple of 4 (small pictures keep their size, large ones are converted down)
    max_image_size: int | None = None
    data_dir: str | None = None  # where mnist / fashion live; else $GANLEARN_DATA, then the user cache
    download: bool = True  # download mnist / fashion (checksum-verified) when not found locally
    labels_per_class: int | None = 10  # size of the labelled split, per class ...
    label_rate: float | None = None  # ... or a fraction of each class (set one, or neither: every label)
    val_per_class: int = 0  # labelled validation examples held out of training (for model selection)
    split_seed: int | None = None  # seed of the labelled split (null: train.seed): one split, several training seeds
    split_method: str = "ganlearn"  # ganlearn | improved-gan (the reference code's split for the same seed)
    # dropped from the training split only ("normal" data for anomaly detection)
    exclude_classes: list[int] = field(default_factory=list)
    canvas_size: int = 64  # mnist-seg / fashion-seg: side of the generated canvases (data/segmentation.py) ...
    max_objects: int = 4  # ... each with 1 to this many objects
    train_canvases: int = 10000  # ... from training-split objects
    test_canvases: int = 2000  # ... from test-split objects
    canvas_seed: int = 0  # ... the canvases' seed (the same data whatever train.seed)
    background: str = "black"  # ... black | photo: patches of scikit-learn's bundled photographs
    occluders: int = 0  # ... up to this many photo patches over the objects (labelled background)
    val_rate: float = 0.0  # mode seg: a fraction of the training images held out to validate on (val_miou)


@dataclass
class ModelConfig:
    name: str = "mlp"  # a key of models.MODELS
    z_dim: int = 100
    d_hidden: list[int] = field(default_factory=lambda: [1000, 500, 250, 250, 250])  # mlp D widths
    g_hidden: list[int] = field(default_factory=lambda: [500, 500])  # mlp G widths
    width: int = 64  # dcgan, cnn: channels of the first D / last G convolution; unet: of its first block
    depth: int = 3  # cnn: D's stages of two convolutions (each halves the picture and doubles the channels)
    input_noise: float = 0.3  # sd of Gaussian noise on D's input (training only)
    hidden_noise: float = 0.5  # sd of Gaussian noise after D's hidden layers (training only)
    minibatch_kernels: int = 0  # minibatch discrimination before D's head (Salimans et al. 2016, 3.2); 0: off
    vbn_ref: int = 0  # virtual batch norm in G with a reference batch of this size (3.5); 0: batch norm
    categories: int = 0  # mode cluster: G's latent is z_dim noise plus a one-hot of this many categories


@dataclass
class TrainConfig:
    mode: str = "ssl"  # a key of modes.MODES: ssl (K+1 GAN) | gan | cluster | supervised | seg
    g_loss: str = "auto"  # auto (the mode's own) | feature_matching | nonsaturating
    real_label: float = 1.0  # target for real data in D's loss; 0.9 is one-sided label smoothing (Salimans 3.4)
    historical_averaging: float = 0.0  # weight of ||theta - mean of past theta||^2 for D and G (Salimans 3.3)
    epochs: int = 10
    iters_per_epoch: int | None = None  # null: one pass over the unlabelled data
    batch_size: int = 100
    labelled_batch_size: int | None = None  # modes ssl, supervised, fixmatch: labelled images a step (null: batch_size)
    lr: float = 0.003
    g_lr: float | None = None  # G's learning rate (null: train.lr)
    beta1: float = 0.5  # Adam's first-moment decay, D and G
    optimizer: str = "adam"  # D's: adam | sgd (Nesterov momentum 0.9, as FixMatch); G's is always Adam
    weight_decay: float = 0.0  # L2 penalty on D's weights, through its optimizer
    adam_eps: float = 1e-4  # 1e-4 approximates the improved-gan Adam's sqrt(v + 1e-8); DCGAN configs use 1e-8
    lr_decay_start: float = 1.0  # fraction of training after which lr decays linearly to 0 (1.0: constant)
    unlabelled_weight: float = 0.5  # the reference code halves the unlabelled K+1 term
    ema_decay: float = 0.999  # evaluation uses an exponential moving average of D
    augment_shift: float = 0.0  # modes ssl, supervised: move each labelled image by up to this many pixels
    augment_unlabelled: bool = False  # mode ssl: move the unlabelled images (D's real term, G's target) too
    augment_flip: bool = False  # modes ssl, supervised, fixmatch: flip images left-right where they are moved
    seed: int = 1  # seeds the labelled split and the training
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto | fp32 | bf16 autocast in training steps (auto: bf16 on a CPU that has it natively)
    cuda_graphs: bool = False  # on a GPU, replay each iteration's steps as one CUDA graph (train/cuda_graphs.py)
    nan_retries: int = 3  # after a non-finite loss, restart from the last good state with half the lr, this many times
    checkpoint_every: int = 0  # also checkpoint every N iterations (0: at the end of each epoch only)
    eval_batch_size: int = 1000
    # FID-style score of this many samples after each epoch (where a domain classifier ships); 0: off
    score_samples: int = 2000
    progress: bool = True  # tqdm progress bar
    out_dir: str = "runs"
    name: str | None = None  # run-folder suffix; defaults to the config's name

    @property
    def generator_lr(self) -> float:
        return self.lr if self.g_lr is None else self.g_lr


@dataclass
class Config:
    """A run's configuration: the sections every mode has (data, model, train), then one per mode
    whose method has settings of its own, as its MODES entry declares (tests/test_config.py checks
    that the fields here and the modes' `sections` agree)."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    self_training: SelfTrainingConfig = field(default_factory=SelfTrainingConfig)  # mode ssl
    cluster: ClusterConfig = field(default_factory=ClusterConfig)  # mode cluster
    seg: SegConfig = field(default_factory=SegConfig)  # mode seg
    consistency: ConsistencyConfig = field(default_factory=ConsistencyConfig)  # modes ssl, fixmatch

    def to_dict(self) -> dict:
        """The sections every mode has and those of this config's own mode, as nested dicts."""
        used = [*COMMON_SECTIONS, *MODES[self.train.mode].sections]
        return {name: dataclasses.asdict(getattr(self, name)) for name in used}


COMMON_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
SECTIONS = COMMON_SECTIONS | MODE_SECTIONS  # name -> dataclass of each section of a Config


def _choices() -> dict:
    """The allowed values of keys that name one of a few things; the registries own their names."""
    return {
        ("data", "split_method"): ("ganlearn", "improved-gan"),
        ("data", "background"): ("black", "photo"),
        ("data", "dataset"): tuple(DATASETS),
        ("model", "name"): tuple(MODELS),
        ("train", "mode"): tuple(MODES),
        ("train", "g_loss"): ("auto", *G_LOSSES),
        ("train", "device"): ("auto", "cpu", "cuda"),
        ("train", "precision"): ("auto", "fp32", "bf16"),
        ("train", "optimizer"): ("adam", "sgd"),
    }


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_ok(value, annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(annotation)
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def _coerce(value, annotation):
    """Where a float is expected: YAML reads 1e-3 (no dot) as a string, and 0 as an int."""
    if isinstance(value, (str, int)) and not isinstance(value, bool) and _type_ok(1.5, annotation):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def _section_from_dict(cls, section: str, values: dict):
    if not isinstance(values, dict):
        raise ConfigError(f"config section '{section}' must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    for key, value in values.items():
        if key not in hints:
            raise ConfigError(
                f"unknown config key '{section}.{key}'{_suggest(f'{section}.{key}', [f'{section}.{h}' for h in hints])}"
            )
        value = values[key] = _coerce(value, hints[key])
        if not _type_ok(value, hints[key]):
            raise ConfigError(f"config key '{section}.{key}' has the wrong type: {value!r}")
        choices = _choices().get((section, key))
        if choices and value not in choices:
            raise ConfigError(f"config key '{section}.{key}' must be one of {', '.join(choices)}; got {value!r}")
    return cls(**values)


def from_dict(raw: dict) -> Config:
    """Build a Config from nested dicts; unknown sections or keys raise ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError("a config must be a mapping of sections (data, model, train, ...)")
    raw = upgrade(raw)
    for name in raw:
        if name not in SECTIONS:
            raise ConfigError(f"unknown config section '{name}'{_suggest(name, SECTIONS)}")
    data = raw.get("data") or {}
    if isinstance(data, dict) and data.get("label_rate") is not None and "labels_per_class" not in data:
        raw = {**raw, "data": {**data, "labels_per_class": None}}  # a rate replaces the default count
    cfg = Config(**{name: _section_from_dict(cls, name, raw.get(name) or {}) for name, cls in SECTIONS.items()})
    _validate(cfg, Config())
    return cfg


# Checks that a type check cannot express; those of a mode are its own (modes.check_mode).
AT_LEAST_1, POSITIVE = (lambda v: v >= 1, "at least 1"), (lambda v: v > 0, "positive")
NOT_NEGATIVE = (lambda v: v >= 0, ">= 0")
LIMITS = {  # key -> (test, what the value must be); a key set to null is not tested
    **dict.fromkeys(["data.labels_per_class", "data.canvas_size", "data.max_objects"], AT_LEAST_1),
    **dict.fromkeys(["data.train_canvases", "data.test_canvases", "data.max_image_pixels"], AT_LEAST_1),
    "data.label_rate": (lambda v: 0 < v <= 1, "in (0, 1]"),
    **dict.fromkeys(["data.occluders", "model.minibatch_kernels", "model.vbn_ref"], NOT_NEGATIVE),
    "data.max_image_size": ((lambda v: v >= 4), "at least 4"),
    **dict.fromkeys(["model.width", "model.depth"], AT_LEAST_1),
    **dict.fromkeys(["train.epochs", "train.batch_size", "train.eval_batch_size"], AT_LEAST_1),
    "train.labelled_batch_size": AT_LEAST_1,
    **dict.fromkeys(["train.lr", "train.g_lr", "train.adam_eps"], POSITIVE),
    "train.beta1": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "train.ema_decay": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "train.lr_decay_start": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "train.real_label": (lambda v: 0.5 < v <= 1, "in (0.5, 1]"),
    **dict.fromkeys(["train.augment_shift", "train.nan_retries", "train.historical_averaging"], NOT_NEGATIVE),
    "train.weight_decay": NOT_NEGATIVE,
}


def _validate(cfg, defaults) -> None:
    """Checks across keys and of each key's range; `defaults` is Config(), the values that keys of
    other modes and data sets must keep."""
    for key, (ok, what) in LIMITS.items():
        section, name = key.split(".")
        if (value := getattr(getattr(cfg, section), name)) is not None and not ok(value):
            raise ConfigError(f"{key} must be {what}, got {value}")
    _validate_data(cfg.data, defaults.data)
    if cfg.train.augment_unlabelled and not cfg.train.augment_shift:
        raise ConfigError(
            "train.augment_unlabelled moves the unlabelled images as train.augment_shift moves "
            "the labelled ones: set train.augment_shift too"
        )
    mode, kind = MODES[cfg.train.mode], DATASETS[cfg.data.dataset].kind
    if mode.kind != kind or MODELS[cfg.model.name].kind != kind:
        raise ConfigError(
            f"mode {cfg.train.mode}, data set {cfg.data.dataset} and model {cfg.model.name} do not go "
            f"together: mode {cfg.train.mode} takes the data sets "
            f"{' | '.join(n for n, s in DATASETS.items() if s.kind == mode.kind)} and the models "
            f"{' | '.join(n for n, m in MODELS.items() if m.kind == mode.kind)}"
        )
    check_mode(cfg, defaults)


def _validate_data(d: DataConfig, defaults: DataConfig) -> None:
    if d.labels_per_class is not None and d.label_rate is not None:
        raise ConfigError("set at most one of data.labels_per_class and data.label_rate (neither: every label)")
    for key in sorted(SOURCE_KEYS - DATASETS[d.dataset].keys):
        if getattr(d, key) != getattr(defaults, key):
            users = [name for name, source in DATASETS.items() if key in source.keys]
            raise ConfigError(f"data.{key} is not read by data set {d.dataset} (it is for {' | '.join(users)})")
    if d.channels not in (None, 1, 3):
        raise ConfigError(f"data.channels must be 1 (grey) or 3 (RGB), got {d.channels}")
    size = [d.image_size] * 2 if isinstance(d.image_size, int) else d.image_size
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise ConfigError(f"data.image_size must be a side or [height, width] of at least 1, got {d.image_size}")
    if size is not None and size[0] * size[1] > d.max_image_pixels:
        raise ConfigError(
            f"data.image_size {d.image_size} holds more than data.max_image_pixels ({d.max_image_pixels:,})"
        )
    if DATASETS[d.dataset].needs_path and not d.path:
        raise ConfigError(f"data.path is required for dataset '{d.dataset}'")


def builtin_configs() -> list[str]:
    """Names of the configs shipped with the package (usable as `-c NAME`)."""
    folder = resources.files("ganlearn") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_yaml(path_or_name: str) -> tuple[dict, str]:
    path = Path(path_or_name)
    if not path.exists() and path_or_name in builtin_configs():
        text = (resources.files("ganlearn") / "configs" / f"{path_or_name}.yaml").read_text()
        return yaml.safe_load(text) or {}, path_or_name
    if not path.is_file():
        raise ConfigError(f"config file not found: {path_or_name} (built-in configs: {', '.join(builtin_configs())})")
    try:
        return yaml.safe_load(path.read_text()) or {}, path.stem
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {first_line(e)}") from None


def parse_override(text: str) -> tuple[str, str, object]:
    """'train.epochs=5' -> ('train', 'epochs', 5); the value is read as YAML."""
    key, sep, value = text.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot:
        raise ConfigError(f"an override must look like section.key=value, got '{text}'")
    try:
        return section, name, yaml.safe_load(value)
    except yaml.YAMLError:
        raise ConfigError(f"cannot read the value of override '{text}'") from None


# setting one of these (to a value) unsets the other: a config's labelled split is a count or a rate
EITHER_OR = {"labels_per_class": "label_rate", "label_rate": "labels_per_class"}


def with_overrides(raw: dict, overrides: list[str] = ()) -> Config:
    """The Config of nested dicts `raw` (a YAML file's, a saved run's) with `section.key=value`
    overrides applied (under a key's 0.2 name too)."""
    raw = upgrade(raw)
    for section, key, value in map(parse_override, overrides):
        section, key = MOVED.get(f"{section}.{key}", f"{section}.{key}").split(".")
        if not isinstance(raw.setdefault(section, {}), dict):
            raise ConfigError(f"config section '{section}' must be a mapping")
        raw[section][key] = value
        if section == "data" and key in EITHER_OR and value is not None:
            raw[section][EITHER_OR[key]] = None
    return from_dict(raw)


def load(path_or_name: str | None = None, overrides: list[str] = (), data: bool = True) -> tuple[Config, str]:
    """Load a config file or built-in name, apply overrides; returns (config, config name). `data=False`
    leaves out the file's data section (the estimator trains on arrays, not on the files it names)."""
    raw, name = _read_yaml(path_or_name) if path_or_name else ({}, "default")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path_or_name} must hold a mapping of sections (data, model, train)")
    return with_overrides(raw if data else {k: v for k, v in raw.items() if k != "data"}, overrides), name


def save(cfg: Config, path: Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
