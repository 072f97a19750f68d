"""Cross-field checks of a run configuration, the ones a type check cannot express (config.from_dict
runs them on every config it builds)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import Config, DataConfig, TrainConfig


def validate(cfg: Config) -> None:
    """Cross-field checks that a type check cannot express."""
    _validate_data(cfg.data, cfg.train.mode)
    _validate_train(cfg.train)
    m, t = cfg.model, cfg.train
    if m.minibatch_kernels < 0 or m.vbn_ref < 0:
        raise ConfigError("model.minibatch_kernels and model.vbn_ref must be >= 0 (0 turns them off)")
    if t.mode == "supervised" and (m.vbn_ref or t.g_loss != "auto"):
        raise ConfigError("train.mode supervised trains no generator: leave model.vbn_ref and train.g_loss unset")
    _validate_seg(cfg)


def _validate_data(d: DataConfig, mode: str) -> None:
    if (d.labels_per_class is None) == (d.label_rate is None):
        raise ConfigError("set exactly one of data.labels_per_class and data.label_rate")
    if d.labels_per_class is not None and d.labels_per_class < 1:
        raise ConfigError(f"data.labels_per_class must be at least 1, got {d.labels_per_class}")
    if d.label_rate is not None and not 0 < d.label_rate <= 1:
        raise ConfigError(f"data.label_rate must be in (0, 1], got {d.label_rate}")
    if d.exclude_classes and mode != "gan":
        raise ConfigError("data.exclude_classes (training on 'normal' classes only) needs train.mode gan")
    if d.dataset in ("npz", "folder", "seg-folder") and not d.path:
        raise ConfigError(f"data.path is required for dataset '{d.dataset}'")


def _validate_train(t: TrainConfig) -> None:
    for key in ("epochs", "batch_size", "eval_batch_size"):
        if getattr(t, key) < 1:
            raise ConfigError(f"train.{key} must be at least 1, got {getattr(t, key)}")
    if t.adam_eps <= 0:
        raise ConfigError(f"train.adam_eps must be positive, got {t.adam_eps}")
    for key in ("lr", "g_lr"):
        if getattr(t, key) is not None and getattr(t, key) <= 0:
            raise ConfigError(f"train.{key} must be positive, got {getattr(t, key)}")
    for key in ("beta1", "beta2", "g_beta1"):
        if getattr(t, key) is not None and not 0 <= getattr(t, key) < 1:
            raise ConfigError(f"train.{key} must be in [0, 1), got {getattr(t, key)}")
    if not 0 <= t.lr_decay_start <= 1:
        raise ConfigError(f"train.lr_decay_start must be in [0, 1], got {t.lr_decay_start}")
    if not 0 <= t.ema_decay < 1:
        raise ConfigError(f"train.ema_decay must be in [0, 1), got {t.ema_decay}")
    if not 0.5 < t.real_label <= 1:
        raise ConfigError(f"train.real_label must be in (0.5, 1], got {t.real_label}")
    if t.pseudo_label_threshold is not None and (t.mode != "ssl" or not 0 < t.pseudo_label_threshold < 1):
        raise ConfigError("train.pseudo_label_threshold (self-training) must be in (0, 1), in mode ssl only")
    for key in ("entropy_weight", "manifold_weight", "mean_teacher_weight"):
        weight = getattr(t, key)
        if weight and (t.mode != "ssl" or weight < 0):
            raise ConfigError(f"train.{key} must be >= 0, in mode ssl only; got {weight} in mode {t.mode}")
    if t.low_density_weight and (t.mode not in ("ssl", "gan") or t.low_density_weight < 0):
        raise ConfigError(f"train.low_density_weight must be >= 0, in modes ssl and gan only; got "
                          f"{t.low_density_weight} in mode {t.mode}")
    if not 0 < t.low_density_quantile < 1:
        raise ConfigError(f"train.low_density_quantile must be in (0, 1), got {t.low_density_quantile}")
    if t.augment_shift < 0 or t.augment_rotation < 0:
        raise ConfigError(f"train.augment_shift and train.augment_rotation must be >= 0; "
                          f"got {t.augment_shift} and {t.augment_rotation}")
    if (t.augment_shift or t.augment_rotation) and t.mode not in ("ssl", "supervised"):
        raise ConfigError(f"train.augment_shift and train.augment_rotation move labelled images, in modes "
                          f"ssl and supervised only; got mode {t.mode}")
    if t.augment_unlabelled and (t.mode != "ssl" or not (t.augment_shift or t.augment_rotation)):
        raise ConfigError("train.augment_unlabelled moves the unlabelled images as train.augment_shift and "
                          "train.augment_rotation move the labelled ones: set one of those, in mode ssl")
    if t.manifold_eps <= 0:
        raise ConfigError(f"train.manifold_eps must be positive, got {t.manifold_eps}")
    if not 0 <= t.manifold_until <= 1:
        raise ConfigError(f"train.manifold_until must be in [0, 1], got {t.manifold_until}")
    if not 0 <= t.mean_teacher_rampup <= 1:
        raise ConfigError(f"train.mean_teacher_rampup must be in [0, 1], got {t.mean_teacher_rampup}")
    if t.nan_retries < 0:
        raise ConfigError(f"train.nan_retries must be >= 0, got {t.nan_retries}")
    if t.historical_averaging < 0:
        raise ConfigError(f"train.historical_averaging must be >= 0, got {t.historical_averaging}")


SEG_DATASETS = ("mnist-seg", "fashion-seg", "seg-folder")


def _validate_seg(cfg: Config) -> None:
    """Mode seg goes with a segmentation data set and the unet model, and with nothing else."""
    d, m, t = cfg.data, cfg.model, cfg.train
    if (t.mode == "seg") != (d.dataset in SEG_DATASETS):
        raise ConfigError(f"train.mode seg needs data.dataset {' | '.join(SEG_DATASETS)}, and those data sets "
                          f"need mode seg; got mode {t.mode} with data set {d.dataset}")
    if (t.mode == "seg") != (m.name == "unet"):
        raise ConfigError(f"train.mode seg trains model.name unet, and unet is for mode seg only; "
                          f"got mode {t.mode} with model {m.name}")
    if t.mode != "seg":
        return
    if d.label_rate is None or d.val_per_class:
        raise ConfigError("mode seg labels a fraction of the canvases: set data.label_rate (and "
                          "data.labels_per_class: null, data.val_per_class: 0)")
    if t.g_loss != "auto" or m.vbn_ref or m.minibatch_kernels or t.pseudo_label_threshold is not None:
        raise ConfigError("mode seg uses none of train.g_loss, model.vbn_ref, model.minibatch_kernels, "
                          "train.pseudo_label_threshold")
    for key in ("canvas_size", "max_objects", "train_canvases", "test_canvases"):
        if getattr(d, key) < 1:
            raise ConfigError(f"data.{key} must be at least 1, got {getattr(d, key)}")
    if t.adv_weight < 0 or not 0 < t.label_map_tau <= 1:
        raise ConfigError(f"train.adv_weight must be >= 0 and train.label_map_tau in (0, 1]; "
                          f"got {t.adv_weight} and {t.label_map_tau}")
