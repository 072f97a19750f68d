import pytest

from ganlearn import config
from ganlearn.errors import ConfigError


def test_builtin_configs_load():
    for name in config.builtin_configs():
        cfg, cfg_name = config.load(name)
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


def test_label_rate_replaces_the_default_count():
    cfg, _ = config.load(None, ["data.label_rate=0.2"])
    assert cfg.data.labels_per_class is None and cfg.data.label_rate == 0.2
    with pytest.raises(ConfigError, match="exactly one"):
        config.load(None, ["data.label_rate=0.2", "data.labels_per_class=10"])


@pytest.mark.parametrize("key", ["entropy_weight", "manifold_weight", "mean_teacher_weight"])
def test_regulariser_weights_are_for_mode_ssl_and_not_negative(key):
    assert getattr(config.load(None, [f"train.{key}=0.1"])[0].train, key) == 0.1
    for bad in ([f"train.{key}=-1"], [f"train.{key}=0.1", "train.mode=gan"]):
        with pytest.raises(ConfigError, match=f"train.{key}"):
            config.load(None, bad)


def test_manifold_step_length_and_stop_fraction_are_checked():
    with pytest.raises(ConfigError, match="train.manifold_eps must be positive"):
        config.load(None, ["train.manifold_weight=1", "train.manifold_eps=0"])
    with pytest.raises(ConfigError, match=r"train.manifold_until must be in \[0, 1\]"):
        config.load(None, ["train.manifold_weight=1", "train.manifold_until=1.5"])


def test_mean_teacher_rampup_is_a_fraction_of_training():
    with pytest.raises(ConfigError, match=r"train.mean_teacher_rampup must be in \[0, 1\]"):
        config.load(None, ["train.mean_teacher_weight=1", "train.mean_teacher_rampup=-0.1"])


def test_low_density_term_is_for_modes_with_a_generator_and_its_quantile_is_checked():
    assert config.load(None, ["train.low_density_weight=1", "train.mode=gan"])[0].train.low_density_weight == 1.0
    for bad in (["train.low_density_weight=-1"], ["train.low_density_weight=1", "train.mode=supervised"]):
        with pytest.raises(ConfigError, match="train.low_density_weight"):
            config.load(None, bad)
    with pytest.raises(ConfigError, match=r"train.low_density_quantile must be in \(0, 1\)"):
        config.load(None, ["train.low_density_quantile=1"])


def test_generator_optimizer_keys_default_to_the_discriminator_s_and_are_checked():
    t = config.load(None, [])[0].train
    assert t.g_lr is None and t.g_beta1 is None and t.generator_lr == t.lr
    t = config.load(None, ["train.g_lr=1e-3", "train.g_beta1=0", "train.beta2=0.9999"])[0].train
    assert t.generator_lr == 1e-3 and t.g_beta1 == 0 and t.beta2 == 0.9999
    for bad, key in ((["train.g_lr=0"], "train.g_lr"), (["train.beta2=1"], "train.beta2"),
                     (["train.g_beta1=-0.1"], "train.g_beta1")):
        with pytest.raises(ConfigError, match=key):
            config.load(None, bad)


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
