"""Cross-field checks of a run configuration, the ones a type check cannot express (config.from_dict
runs them on every config it builds). What depends on the mode is the mode's (modes.check_mode)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .data import DATASETS, SOURCE_KEYS
from .errors import ConfigError
from .modes import MODES, check_mode
from .nets import MODELS

if TYPE_CHECKING:
    from .config import Config, DataConfig, TrainConfig


def validate(cfg: Config, defaults: Config) -> None:
    """Cross-field checks that a type check cannot express; `defaults` is Config(), the values that
    keys of other modes must keep."""
    _validate_data(cfg.data, defaults.data)
    _validate_train(cfg.train)
    if cfg.model.minibatch_kernels < 0 or cfg.model.vbn_ref < 0:
        raise ConfigError("model.minibatch_kernels and model.vbn_ref must be >= 0 (0 turns them off)")
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
    if d.labels_per_class is not None and d.labels_per_class < 1:
        raise ConfigError(f"data.labels_per_class must be at least 1, got {d.labels_per_class}")
    if d.label_rate is not None and not 0 < d.label_rate <= 1:
        raise ConfigError(f"data.label_rate must be in (0, 1], got {d.label_rate}")
    if DATASETS[d.dataset].needs_path and not d.path:
        raise ConfigError(f"data.path is required for dataset '{d.dataset}'")
    for key in ("canvas_size", "max_objects", "train_canvases", "test_canvases"):
        if getattr(d, key) < 1:
            raise ConfigError(f"data.{key} must be at least 1, got {getattr(d, key)}")
    if d.occluders < 0:
        raise ConfigError(f"data.occluders must be at least 0, got {d.occluders}")


def _validate_train(t: TrainConfig) -> None:
    for key in ("epochs", "batch_size", "eval_batch_size"):
        if getattr(t, key) < 1:
            raise ConfigError(f"train.{key} must be at least 1, got {getattr(t, key)}")
    if t.adam_eps <= 0:
        raise ConfigError(f"train.adam_eps must be positive, got {t.adam_eps}")
    for key in ("lr", "g_lr"):
        if getattr(t, key) is not None and getattr(t, key) <= 0:
            raise ConfigError(f"train.{key} must be positive, got {getattr(t, key)}")
    if not 0 <= t.beta1 < 1:
        raise ConfigError(f"train.beta1 must be in [0, 1), got {t.beta1}")
    if not 0 <= t.lr_decay_start <= 1:
        raise ConfigError(f"train.lr_decay_start must be in [0, 1], got {t.lr_decay_start}")
    if not 0 <= t.ema_decay < 1:
        raise ConfigError(f"train.ema_decay must be in [0, 1), got {t.ema_decay}")
    if not 0.5 < t.real_label <= 1:
        raise ConfigError(f"train.real_label must be in (0.5, 1], got {t.real_label}")
    if t.pseudo_label_threshold is not None and not 0 < t.pseudo_label_threshold < 1:
        raise ConfigError(
            f"train.pseudo_label_threshold (self-training) must be in (0, 1), got {t.pseudo_label_threshold}"
        )
    if t.augment_shift < 0:
        raise ConfigError(f"train.augment_shift must be >= 0, got {t.augment_shift}")
    if t.augment_unlabelled and not t.augment_shift:
        raise ConfigError(
            "train.augment_unlabelled moves the unlabelled images as train.augment_shift moves "
            "the labelled ones: set train.augment_shift too"
        )
    if t.nan_retries < 0:
        raise ConfigError(f"train.nan_retries must be >= 0, got {t.nan_retries}")
    if t.historical_averaging < 0:
        raise ConfigError(f"train.historical_averaging must be >= 0, got {t.historical_averaging}")
