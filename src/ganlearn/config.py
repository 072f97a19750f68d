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

from .config_checks import validate
from .data import DATASETS
from .errors import ConfigError
from .modes import G_LOSSES, MODES
from .nets import MODELS


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
    skip_bad_images: bool = False  # folder: skip and count unreadable image files instead of stopping
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
    name: str = "mlp"  # a key of nets.MODELS
    z_dim: int = 100
    d_hidden: list[int] = field(default_factory=lambda: [1000, 500, 250, 250, 250])  # mlp D widths
    g_hidden: list[int] = field(default_factory=lambda: [500, 500])  # mlp G widths
    width: int = 64  # dcgan: channels of the first D / last G convolution; unet: of its first block
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
    lr: float = 0.003
    g_lr: float | None = None  # G's learning rate (null: train.lr)
    beta1: float = 0.5  # Adam's first-moment decay, D and G
    adam_eps: float = 1e-4  # 1e-4 approximates the improved-gan Adam's sqrt(v + 1e-8); DCGAN configs use 1e-8
    lr_decay_start: float = 1.0  # fraction of training after which lr decays linearly to 0 (1.0: constant)
    unlabelled_weight: float = 0.5  # the reference code halves the unlabelled K+1 term
    ema_decay: float = 0.999  # evaluation uses an exponential moving average of D
    augment_shift: float = 0.0  # modes ssl, supervised: move each labelled image by up to this many pixels
    augment_unlabelled: bool = False  # mode ssl: move the unlabelled images (D's real term, G's target) too
    # self-training: pseudo-label the unlabelled images D classifies this confidently ...
    pseudo_label_threshold: float | None = None
    pseudo_label_start: int = 5  # ... after this many warm-up epochs (re-selected at the start of every epoch)
    pseudo_label_weight: float = 1.0  # weight of the pseudo-labelled cross-entropy in the D loss
    # mode seg, Hung et al. 2018's terms (the paper: 0.01, 0.001, 0.1); every weight 0: plain cross-entropy
    adv_weight: float = 0.0  # the adversarial term on labelled images' predicted maps
    adv_unlabelled_weight: float = 0.0  # the adversarial term on unlabelled images' predicted maps
    semi_weight: float = 0.0  # cross-entropy against the segmenter's own prediction where the adversary is confident
    semi_threshold: float = 0.2  # ... confident: sigmoid of the adversary's per-pixel logit above this
    semi_start: float = 0.25  # ... from this fraction of the training steps on
    latent_weight: float = 10.0  # mode cluster: weight of the encoder's error recovering G's latent
    seed: int = 1  # seeds the labelled split and the training
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto | fp32 | bf16 autocast in training steps (auto: bf16 on a CPU that has it natively)
    cuda_graphs: bool = False  # on a GPU, replay each iteration's steps as one CUDA graph (graphs.py)
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
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


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


ANY = "any value"
# keys of earlier versions, with the value that left them without effect (ANY: they had none alone): a
# saved run's config that holds one at that value still loads; any other value names the version to use
REMOVED = {
    "train.entropy_weight": 0.0,
    "train.manifold_weight": 0.0,
    "train.manifold_eps": ANY,
    "train.manifold_until": ANY,
    "train.mean_teacher_weight": 0.0,
    "train.mean_teacher_rampup": ANY,
    "train.low_density_weight": 0.0,
    "train.low_density_quantile": ANY,
    "train.augment_rotation": 0.0,
    "train.g_beta1": None,
    "train.beta2": 0.999,
    "train.init_examples": 500,
    "train.adv_unlabelled": False,  # Luc et al.'s image-level adversary, replaced by Hung et al.'s
    "train.label_map_tau": ANY,
}


def _drop_removed(section: str, values: dict) -> dict:
    kept = {}
    for key, value in values.items():
        name = f"{section}.{key}"
        if name not in REMOVED:
            kept[key] = value
        elif REMOVED[name] is not ANY and value != REMOVED[name]:
            raise ConfigError(
                f"config key '{name}' was removed (its setting gave no gain, or its method was replaced); "
                f"this config sets it to {value!r}: run it with the ganlearn version that wrote it"
            )
    return kept


def _section_from_dict(cls, section: str, values: dict):
    if not isinstance(values, dict):
        raise ConfigError(f"config section '{section}' must be a mapping, got {values!r}")
    hints, values = typing.get_type_hints(cls), _drop_removed(section, values)
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
        raise ConfigError("a config must be a mapping of sections (data, model, train)")
    sections = {f.name: f.type for f in dataclasses.fields(Config)}
    for name in raw:
        if name not in sections:
            raise ConfigError(f"unknown config section '{name}'{_suggest(name, sections)}")
    data = raw.get("data") or {}
    if isinstance(data, dict) and data.get("label_rate") is not None and "labels_per_class" not in data:
        raw = {**raw, "data": {**data, "labels_per_class": None}}  # a rate replaces the default count
    classes = typing.get_type_hints(Config)
    cfg = Config(**{name: _section_from_dict(classes[name], name, raw.get(name) or {}) for name in sections})
    validate(cfg, Config())
    return cfg


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
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None


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


def load(path_or_name: str | None = None, overrides: list[str] = ()) -> tuple[Config, str]:
    """Load a config file or built-in name, apply overrides; returns (config, config name)."""
    raw, name = _read_yaml(path_or_name) if path_or_name else ({}, "default")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path_or_name} must hold a mapping of sections (data, model, train)")
    for section, key, value in map(parse_override, overrides):
        if not isinstance(raw.setdefault(section, {}), dict):
            raise ConfigError(f"config section '{section}' must be a mapping")
        raw[section][key] = value
        if section == "data" and key in EITHER_OR and value is not None:
            raw[section][EITHER_OR[key]] = None
    return from_dict(raw), name


def save(cfg: Config, path: Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
