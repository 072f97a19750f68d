import dataclasses
import typing

import pytest

from ganlearn import config
from ganlearn.errors import ConfigError
from ganlearn.modes import MODES


def test_builtin_configs_load():
    for name in config.builtin_configs():
        try:
            cfg, cfg_name = config.load(name)
        except ConfigError as e:  # a config for the user's own files names them on the command line
            assert "data.path is required" in str(e)
            cfg, cfg_name = config.load(name, ["data.path=my_images"])
        assert cfg_name == name
    cfg, _ = config.load("mnist_ssl")
    assert cfg.data.labels_per_class == 10 and cfg.model.d_hidden == [1000, 500, 250, 250, 250]


def test_unknown_key_is_an_error_with_a_suggestion(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epoch: 3\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'train.epoch' \(did you mean 'train.epochs'\?\)"):
        config.load(str(path))
    with pytest.raises(ConfigError, match="unknown config section 'trian'"):
        config.load(None, ["trian.epochs=3"])


def test_overrides_are_typed():
    cfg, _ = config.load("mnist_ssl", ["train.epochs=3", "train.lr=1e-3", "model.d_hidden=[10, 5]"])
    assert cfg.train.epochs == 3 and cfg.train.lr == 0.001 and cfg.model.d_hidden == [10, 5]
    with pytest.raises(ConfigError, match="wrong type"):
        config.load(None, ["train.epochs=three"])
    with pytest.raises(ConfigError, match="must be one of"):
        config.load(None, ["train.mode=magic"])
    with pytest.raises(ConfigError, match="section.key=value"):
        config.load(None, ["epochs=3"])


def test_label_rate_replaces_the_default_count(tmp_path):
    cfg, _ = config.load(None, ["data.label_rate=0.2"])
    assert cfg.data.labels_per_class is None and cfg.data.label_rate == 0.2
    cfg, _ = config.load(None, ["data.label_rate=0.2", "data.labels_per_class=10"])  # the last one set wins
    assert cfg.data.labels_per_class == 10 and cfg.data.label_rate is None
    (tmp_path / "both.yaml").write_text("data:\n  label_rate: 0.2\n  labels_per_class: 10\n")
    with pytest.raises(ConfigError, match="at most one"):
        config.load(str(tmp_path / "both.yaml"))


def test_label_rate_works_with_the_built_in_configs():
    """The built-in configs give a count; setting a rate (here or on the command line) replaces it."""
    for name in ("mnist_ssl", "mnist_ssl_full", "fashion_ssl", "digits_ssl"):
        cfg, _ = config.load(name, ["data.label_rate=0.2"])
        assert cfg.data.labels_per_class is None and cfg.data.label_rate == 0.2


def test_generator_learning_rate_defaults_to_the_discriminator_s_and_is_checked():
    t = config.load(None, [])[0].train
    assert t.g_lr is None and t.generator_lr == t.lr
    assert config.load(None, ["train.g_lr=1e-3"])[0].train.generator_lr == 1e-3
    for bad, key in ((["train.g_lr=0"], "train.g_lr"), (["train.beta1=1"], "train.beta1")):
        with pytest.raises(ConfigError, match=key):
            config.load(None, bad)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["self_training.threshold=0.9", "train.mode=gan"],
            "self_training.threshold is not used in mode gan",
        ),
        (["train.augment_shift=2", "train.mode=gan"], "train.augment_shift is not used in mode gan"),
        (["data.exclude_classes=[3]"], "data.exclude_classes is not used in mode ssl"),
        (["seg.adv_weight=0.1"], "seg.adv_weight is not used in mode ssl"),
        (["train.g_loss=feature_matching", "train.mode=supervised"], "train.g_loss is not used in mode supervised"),
        (["train.g_loss=segmentation"], "train.g_loss"),
        (["train.mode=seg"], "do not go together"),
        (["model.name=unet"], "do not go together"),
    ],
)
def test_keys_of_other_modes_are_refused_with_the_mode_that_uses_them(overrides, message):
    with pytest.raises(ConfigError, match=message):
        config.load(None, overrides)


def test_keys_removed_in_0_2_load_at_their_old_defaults_only():
    """A run folder saved by 0.1 still loads where its removed keys were at their defaults."""
    raw = config.Config().to_dict()
    raw["train"] |= {"entropy_weight": 0.0, "beta2": 0.999, "manifold_eps": 1.0}
    assert config.from_dict(raw) == config.Config()
    raw["train"]["entropy_weight"] = 0.1
    with pytest.raises(ConfigError, match="'train.entropy_weight' was removed"):
        config.from_dict(raw)
    raw["train"] |= {"entropy_weight": 0.0, "g_beta1": 0.0}  # G's own beta1 changed training: refused too
    with pytest.raises(ConfigError, match="'train.g_beta1' was removed"):
        config.from_dict(raw)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(str(tmp_path / "missing.yaml"))
    (tmp_path / "bad.yaml").write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(str(tmp_path / "bad.yaml"))


def test_save_and_reload_round_trip(tmp_path):
    cfg, _ = config.load("digits_ssl", ["train.seed=7"])
    config.save(cfg, tmp_path / "c.yaml")
    assert config.load(str(tmp_path / "c.yaml"))[0] == cfg


def test_the_train_section_holds_only_what_every_mode_shares():
    assert len(dataclasses.fields(config.TrainConfig)) <= 31
    own = {name for mode in MODES.values() for name in mode.sections}
    assert own == {"self_training", "consistency", "cluster", "seg"}
    assert set(config.SECTIONS) == {"data", "model", "train"} | own


def test_the_config_has_one_field_per_section_the_modes_declare():
    assert typing.get_type_hints(config.Config) == config.SECTIONS


def test_a_run_config_holds_its_own_mode_section_only():
    assert list(config.load("mnist_seg")[0].to_dict()) == ["data", "model", "train", "seg"]
    assert list(config.load("digits_ssl")[0].to_dict()) == ["data", "model", "train", "self_training", "consistency"]
    with pytest.raises(ConfigError, match="seg.adv_weight is not used in mode ssl"):
        config.load("digits_ssl", ["seg.adv_weight=0.01"])


def test_the_0_2_names_of_moved_keys_still_read():
    cfg, _ = config.load("mnist_seg", ["train.adv_weight=0.01", "train.semi_start=0.5"])
    assert (cfg.seg.adv_weight, cfg.seg.semi_start) == (0.01, 0.5)
    cfg = config.from_dict({"train": {"pseudo_label_threshold": 0.9, "pseudo_label_start": 2}})
    assert (cfg.self_training.threshold, cfg.self_training.start) == (0.9, 2)
    with pytest.raises(ConfigError, match="'train.latent_weight' is now 'cluster.latent_weight'"):
        config.from_dict({"train": {"mode": "cluster", "latent_weight": 1.0}, "cluster": {"latent_weight": 2.0}})
