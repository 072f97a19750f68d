"""What earlier versions wrote, and how this one reads it: config keys that were removed or moved,
and the versions whose exported files are read (deploy/export.py)."""

from __future__ import annotations

from .errors import ConfigError
from .version import __version__

# the major.minor versions whose exported files this one reads: 0.2's (0.3 moved config keys: MOVED) and its own
READS = ("0.2", ".".join(__version__.split(".")[:2]))

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
# keys that moved in 0.3 to the section of the one mode that reads them: their old names still load
MOVED = {
    "train.pseudo_label_threshold": "self_training.threshold",
    "train.pseudo_label_start": "self_training.start",
    "train.pseudo_label_weight": "self_training.weight",
    "train.latent_weight": "cluster.latent_weight",
    **{
        f"train.{k}": f"seg.{k}"
        for k in ("adv_weight", "adv_unlabelled_weight", "semi_weight", "semi_threshold", "semi_start")
    },
}


def upgrade(raw: dict) -> dict:
    """A copy of a config's nested dicts `raw` as this version reads them: each key of MOVED under its
    new name, each key of REMOVED dropped (a ConfigError where its value had an effect)."""
    raw = {name: dict(values) if isinstance(values, dict) else values for name, values in raw.items()}
    for old, new in MOVED.items():
        (old_section, old_key), (section, key) = old.split("."), new.split(".")
        if isinstance(raw.get(old_section), dict) and old_key in raw[old_section]:
            value = raw[old_section].pop(old_key)
            if raw.get(section) is None:  # absent, or empty in YAML
                raw[section] = {}
            if not isinstance(raw[section], dict):
                raise ConfigError(f"config section '{section}' must be a mapping")
            if key in raw[section]:
                raise ConfigError(f"config key '{old}' is now '{new}': set only '{new}'")
            raw[section][key] = value
    for name, neutral in REMOVED.items():
        section, key = name.split(".")
        if isinstance(raw.get(section), dict) and key in raw[section]:
            value = raw[section].pop(key)
            if neutral is not ANY and value != neutral:
                raise ConfigError(
                    f"config key '{name}' was removed (its setting gave no gain, or its method was replaced); "
                    f"this config sets it to {value!r}: run it with the ganlearn version that wrote it"
                )
    return raw
