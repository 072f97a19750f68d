"""Training modes, each declared once: its D and G steps, the split of the training set it makes,
the data sets and models it takes, and what applies to its runs (what is evaluated and pictured
after each epoch, which of `evaluate`, `sample` and the unsupervised commands accept them).

Adding a mode is one entry in MODES plus its step functions (steps.py). No other module compares
mode names: they read a Mode's attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .data import split
from .errors import ConfigError
from .steps import (
    clustergan_g_step,
    feature_matching_g_step,
    gan_d_step,
    nonsaturating_g_step,
    seg_adversary_step,
    segmenter_step,
    ssl_d_step,
    supervised_d_step,
)

G_LOSSES = {"feature_matching": feature_matching_g_step, "nonsaturating": nonsaturating_g_step}


def _seg_check(cfg) -> None:
    if cfg.data.label_rate is None or cfg.data.val_per_class:
        raise ConfigError(
            "mode seg labels a fraction of the images: set data.label_rate (and "
            "data.labels_per_class: null, data.val_per_class: 0)"
        )
    t = cfg.train
    if min(t.adv_weight, t.adv_unlabelled_weight, t.semi_weight) < 0 or not 0 <= t.semi_threshold < 1:
        raise ConfigError(
            f"train.adv_weight, adv_unlabelled_weight and semi_weight must be >= 0 and train.semi_threshold "
            f"in [0, 1); got {t.adv_weight}, {t.adv_unlabelled_weight}, {t.semi_weight} and {t.semi_threshold}"
        )
    if not 0 <= cfg.data.val_rate < 1:
        raise ConfigError(f"data.val_rate is a fraction of the training images, in [0, 1); got {cfg.data.val_rate}")
    if not 0 <= t.semi_start <= 1:
        raise ConfigError(f"train.semi_start is a fraction of the training steps, in [0, 1]; got {t.semi_start}")


def _cluster_check(cfg) -> None:
    if cfg.model.categories < 1 or cfg.train.latent_weight < 0:
        raise ConfigError(
            f"mode cluster needs model.categories >= 1 (the number of clusters) and train.latent_weight >= 0; "
            f"got {cfg.model.categories} and {cfg.train.latent_weight}"
        )


@dataclass(frozen=True)
class Mode:
    """What one mode trains and what its runs offer."""

    d_step: Callable | None  # (G, D, batch, cfg) -> (loss, stats): D's step, or None
    g_steps: dict  # `train.g_loss` name -> G's step; the first is `auto`'s; {}: the mode trains no G
    split: Callable  # (cfg, data) -> data.Split: which training images are labelled
    kind: str  # "images" or "segmentation": the kind of data sets (data.DATASETS) and models (nets.MODELS) it takes
    uses_labels: bool  # False: every image is unlabelled and D has one real/fake logit
    classifies: bool  # D is a K-class classifier: accuracy, confusion matrix, ensembles, predictions
    generates: bool  # G makes images: sample grids, FID-style scores, `ganlearn sample`
    gan_features: bool  # D learned the images as a GAN: `features`, `cluster`, `embed`, `anomaly`
    keys: frozenset = frozenset()  # the mode-specific config keys it uses (see MODE_KEYS)
    d_on: Callable = lambda train_cfg: True  # whether D is trained under this TrainConfig
    check: Callable | None = None  # further checks of a Config in this mode
    fixed_steps: bool = True  # every iteration runs the same computation (what a CUDA graph can capture)

    def d_outputs(self, n_classes: int) -> int:
        """D's logits: K class logits (the fake logit is implicit), or one real/fake logit without labels."""
        return n_classes if self.uses_labels else 1


MODES = {
    "ssl": Mode(
        ssl_d_step,
        G_LOSSES,
        split.class_split,
        "images",
        uses_labels=True,
        classifies=True,
        generates=True,
        gan_features=True,
        keys=frozenset(
            {
                "train.g_loss",
                "model.vbn_ref",
                "model.minibatch_kernels",
                "train.augment_shift",
                "train.augment_unlabelled",
                "train.pseudo_label_threshold",
                "train.pseudo_label_start",
                "train.pseudo_label_weight",
            }
        ),
    ),
    "gan": Mode(
        gan_d_step,
        {"nonsaturating": nonsaturating_g_step, "feature_matching": feature_matching_g_step},
        split.no_labels,
        "images",
        uses_labels=False,
        classifies=False,
        generates=True,
        gan_features=True,
        keys=frozenset({"train.g_loss", "model.vbn_ref", "model.minibatch_kernels", "data.exclude_classes"}),
    ),
    "cluster": Mode(
        gan_d_step,
        {"clustergan": clustergan_g_step},
        split.no_labels,
        "images",
        uses_labels=False,
        classifies=False,
        generates=True,
        gan_features=True,
        keys=frozenset({"model.categories", "train.latent_weight", "data.exclude_classes", "model.minibatch_kernels"}),
        check=_cluster_check,
    ),
    "supervised": Mode(
        supervised_d_step,
        {},
        split.class_split,
        "images",
        uses_labels=True,
        classifies=True,
        generates=False,
        gan_features=False,
        keys=frozenset({"model.minibatch_kernels", "train.augment_shift"}),
    ),
    "seg": Mode(
        seg_adversary_step,
        {"segmentation": segmenter_step},
        split.label_map_split,
        "segmentation",
        uses_labels=True,
        classifies=False,
        generates=False,
        gan_features=False,
        keys=frozenset(
            {
                "train.adv_weight",
                "train.adv_unlabelled_weight",
                "train.semi_weight",
                "train.semi_threshold",
                "train.semi_start",
                "data.val_rate",
            }
        ),
        d_on=lambda t: max(t.adv_weight, t.adv_unlabelled_weight, t.semi_weight) > 0,
        check=_seg_check,
        fixed_steps=False,  # the semi-supervised term starts part-way (train.semi_start)
    ),
}
# keys that only some modes use; in any other mode they must keep their default
MODE_KEYS = frozenset().union(*(mode.keys for mode in MODES.values()))


def steps_for(train_cfg) -> tuple[Callable | None, Callable | None]:
    """(D's step or None, G's step or None) of a TrainConfig; `g_loss: auto` is the mode's first."""
    mode = MODES[train_cfg.mode]
    g_name = next(iter(mode.g_steps), None) if train_cfg.g_loss == "auto" else train_cfg.g_loss
    return (mode.d_step if mode.d_on(train_cfg) else None), mode.g_steps.get(g_name)


def check_mode(cfg, defaults) -> None:
    """The checks a Config must pass in its mode; `defaults` is Config() (what an unset key holds)."""
    name = cfg.train.mode
    mode = MODES[name]
    for key in sorted(MODE_KEYS - mode.keys):
        section, field = key.split(".")
        if getattr(getattr(cfg, section), field) != getattr(getattr(defaults, section), field):
            users = [n for n, m in MODES.items() if key in m.keys]
            raise ConfigError(f"{key} is not used in mode {name}: leave it unset (it is for mode {' | '.join(users)})")
    if cfg.train.g_loss != "auto" and cfg.train.g_loss not in mode.g_steps:
        raise ConfigError(
            f"train.g_loss {cfg.train.g_loss} is not a generator loss of mode {name} "
            f"(choose auto or {' | '.join(mode.g_steps)})"
        )
    if mode.check is not None:
        mode.check(cfg)
