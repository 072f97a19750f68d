"""Training modes, each declared once: its D and G steps, the split of the training set it makes,
the data sets and models it takes, and what applies to its runs (what is evaluated and pictured
after each epoch, which of `evaluate`, `sample` and the unsupervised commands accept them).

The settings of a method that only one mode runs (self-training, ClusterGAN's latent recovery,
Hung et al.'s segmentation terms) are that mode's own config section (`self_training:`, `cluster:`,
`seg:`), a dataclass declared here beside the mode. Keys of the shared sections (data, model, train)
that only some modes read are the modes' `keys`; in any other mode they must keep their defaults.
Adding a mode is one entry in MODES plus its step functions (steps.py). No other module compares
mode names: they read a Mode's attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

from .data import split
from .errors import ConfigError
from .steps import (
    clustergan_g_step,
    feature_matching_g_step,
    fixmatch_d_step,
    gan_d_step,
    nonsaturating_g_step,
    seg_adversary_step,
    segmenter_step,
    ssl_d_step,
    supervised_d_step,
)

G_LOSSES = {"feature_matching": feature_matching_g_step, "nonsaturating": nonsaturating_g_step}


@dataclass
class SelfTrainingConfig:
    """Mode ssl's self-training: D's confident predictions on unlabelled images become their labels."""

    threshold: float | None = None  # pseudo-label the unlabelled images D classifies this confidently (null: off) ...
    start: int = 5  # ... after this many warm-up epochs (re-selected at the start of every epoch)
    weight: float = 1.0  # weight of the pseudo-labelled cross-entropy in the D loss


@dataclass
class ConsistencyConfig:
    """FixMatch's term on unlabelled images (Sohn et al. 2020), modes ssl and fixmatch: D's class for a weakly
    augmented view (flip, shift), where D is confident of it, is the target of a strongly augmented view."""

    threshold: float | None = None  # the weak view's class probability that makes it a target (null: off; 0.95)
    weight: float = 1.0  # weight of the term in the D loss


@dataclass
class ClusterConfig:
    """Mode cluster (ClusterGAN): G's categorical latent is recovered by an encoder."""

    latent_weight: float = 10.0  # weight of the encoder's error recovering G's latent


@dataclass
class SegConfig:
    """Mode seg, Hung et al. 2018's terms (the paper: 0.01, 0.001, 0.1); every weight 0: plain cross-entropy."""

    adv_weight: float = 0.0  # the adversarial term on labelled images' predicted maps
    adv_unlabelled_weight: float = 0.0  # the adversarial term on unlabelled images' predicted maps
    semi_weight: float = 0.0  # cross-entropy against the segmenter's own prediction where the adversary is confident
    semi_threshold: float = 0.2  # ... confident: sigmoid of the adversary's per-pixel logit above this
    semi_start: float = 0.25  # ... from this fraction of the training steps on


def _ssl_check(cfg) -> None:
    for section in ("self_training", "consistency"):
        threshold = getattr(cfg, section).threshold
        if threshold is not None and not 0 < threshold < 1:
            raise ConfigError(f"{section}.threshold must be in (0, 1), got {threshold}")


def _fixmatch_check(cfg) -> None:
    if cfg.consistency.threshold is None:
        raise ConfigError("mode fixmatch trains on confident pseudo-labels: set consistency.threshold (FixMatch: 0.95)")
    _ssl_check(cfg)


def _seg_check(cfg) -> None:
    if cfg.data.label_rate is None or cfg.data.val_per_class:
        raise ConfigError(
            "mode seg labels a fraction of the images: set data.label_rate (and "
            "data.labels_per_class: null, data.val_per_class: 0)"
        )
    s = cfg.seg
    if min(s.adv_weight, s.adv_unlabelled_weight, s.semi_weight) < 0 or not 0 <= s.semi_threshold < 1:
        raise ConfigError(
            f"seg.adv_weight, adv_unlabelled_weight and semi_weight must be >= 0 and seg.semi_threshold "
            f"in [0, 1); got {s.adv_weight}, {s.adv_unlabelled_weight}, {s.semi_weight} and {s.semi_threshold}"
        )
    if not 0 <= cfg.data.val_rate < 1:
        raise ConfigError(f"data.val_rate is a fraction of the training images, in [0, 1); got {cfg.data.val_rate}")
    if not 0 <= s.semi_start <= 1:
        raise ConfigError(f"seg.semi_start is a fraction of the training steps, in [0, 1]; got {s.semi_start}")


def _cluster_check(cfg) -> None:
    if cfg.model.categories < 1 or cfg.cluster.latent_weight < 0:
        raise ConfigError(
            f"mode cluster needs model.categories >= 1 (the number of clusters) and cluster.latent_weight >= 0; "
            f"got {cfg.model.categories} and {cfg.cluster.latent_weight}"
        )


@dataclass(frozen=True)
class Mode:
    """What one mode trains and what its runs offer."""

    d_step: Callable | None  # (G, D, batch, cfg) -> (loss, stats): D's step, or None
    g_steps: dict  # `train.g_loss` name -> G's step; the first is `auto`'s; {}: the mode trains no G
    split: Callable  # (cfg, data) -> data.Split: which training images are labelled
    kind: str  # "images" or "segmentation": the kind of data sets (data.DATASETS) and models (models.MODELS) it takes
    uses_labels: bool  # False: every image is unlabelled and D has one real/fake logit
    classifies: bool  # D is a K-class classifier: accuracy, confusion matrix, ensembles, predictions
    generates: bool  # G makes images: sample grids, FID-style scores, `ganlearn sample`
    gan_features: bool  # D learned the images as a GAN: `features`, `cluster`, `embed`, `anomaly`
    keys: frozenset = frozenset()  # the keys of data, model and train that only some modes use (MODE_KEYS)
    sections: dict = field(default_factory=dict)  # its own config sections: name -> dataclass
    d_on: Callable = lambda cfg: True  # whether D is trained under this Config
    check: Callable | None = None  # further checks of a Config in this mode
    fixed_steps: bool = True  # every iteration runs the same computation (what a CUDA graph can capture)

    @property
    def own_keys(self) -> frozenset:
        """Every key only some modes use that this one does: `keys` and those of its sections."""
        return self.keys | {f"{name}.{f.name}" for name, cls in self.sections.items() for f in fields(cls)}

    def d_outputs(self, n_classes: int) -> int:
        """D's logits: K class logits (the fake logit is implicit), or one real/fake logit without labels."""
        return n_classes if self.uses_labels else 1


AUGMENTED_LABELS = ("train.augment_shift", "train.augment_flip", "train.labelled_batch_size")
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
                "train.unlabelled_weight",
                *AUGMENTED_LABELS,
            }
        ),
        sections={"self_training": SelfTrainingConfig, "consistency": ConsistencyConfig},
        check=_ssl_check,
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
        keys=frozenset({"model.categories", "data.exclude_classes", "model.minibatch_kernels"}),
        sections={"cluster": ClusterConfig},
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
        keys=frozenset({"model.minibatch_kernels", *AUGMENTED_LABELS}),
    ),
    "fixmatch": Mode(
        fixmatch_d_step,
        {},
        split.class_split,
        "images",
        uses_labels=True,
        classifies=True,
        generates=False,
        gan_features=False,
        keys=frozenset({"model.minibatch_kernels", *AUGMENTED_LABELS}),
        sections={"consistency": ConsistencyConfig},
        check=_fixmatch_check,
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
        keys=frozenset({"data.val_rate"}),
        sections={"seg": SegConfig},
        d_on=lambda cfg: max(cfg.seg.adv_weight, cfg.seg.adv_unlabelled_weight, cfg.seg.semi_weight) > 0,
        check=_seg_check,
        fixed_steps=False,  # the semi-supervised term starts part-way (seg.semi_start)
    ),
}
# the modes' own config sections, in the order config.Config holds them
MODE_SECTIONS = {name: cls for mode in MODES.values() for name, cls in mode.sections.items()}
# keys that only some modes use; in any other mode they must keep their default
MODE_KEYS = frozenset().union(*(mode.own_keys for mode in MODES.values()))


def steps_for(cfg) -> tuple[Callable | None, Callable | None]:
    """(D's step or None, G's step or None) of a Config; `g_loss: auto` is the mode's first."""
    mode = MODES[cfg.train.mode]
    g_name = next(iter(mode.g_steps), None) if cfg.train.g_loss == "auto" else cfg.train.g_loss
    return (mode.d_step if mode.d_on(cfg) else None), mode.g_steps.get(g_name)


def check_mode(cfg, defaults) -> None:
    """The checks a Config must pass in its mode; `defaults` is Config() (what an unset key holds)."""
    name = cfg.train.mode
    mode = MODES[name]
    for key in sorted(MODE_KEYS - mode.own_keys):
        section, key_name = key.split(".")
        if getattr(getattr(cfg, section), key_name) != getattr(getattr(defaults, section), key_name):
            users = [n for n, m in MODES.items() if key in m.own_keys]
            raise ConfigError(f"{key} is not used in mode {name}: leave it unset (it is for mode {' | '.join(users)})")
    if cfg.train.g_loss != "auto" and cfg.train.g_loss not in mode.g_steps:
        raise ConfigError(
            f"train.g_loss {cfg.train.g_loss} is not a generator loss of mode {name} "
            f"(choose auto or {' | '.join(mode.g_steps)})"
        )
    if mode.check is not None:
        mode.check(cfg)
