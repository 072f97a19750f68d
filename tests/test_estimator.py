import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.utils.estimator_checks import parametrize_with_checks

from ganlearn.estimator import GANClassifier

SMALL = dict(
    d_hidden=(64, 32),
    g_hidden=(64,),
    z_dim=16,
    epochs=4,
    iters_per_epoch=25,
    batch_size=32,
    random_state=0,
    device="cpu",
)


def digits_with_unlabelled(per_class=5, seed=0):
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    keep = np.concatenate([rng.choice(np.flatnonzero(y[:1400] == c), per_class, replace=False) for c in range(10)])
    y_semi = np.full(1400, -1)
    y_semi[keep] = y[keep]
    return X[:1400], y_semi, X[1400:], y[1400:]


def test_fit_predict_with_unlabelled_rows():
    X, y_semi, X_test, y_test = digits_with_unlabelled()
    clf = GANClassifier(
        d_hidden=(200, 100), g_hidden=(100,), epochs=8, iters_per_epoch=50, batch_size=50, random_state=0
    ).fit(X, y_semi)
    assert list(clf.classes_) == list(range(10))
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10) and np.allclose(proba.sum(1), 1)
    assert np.array_equal(clf.predict(X_test), clf.classes_[proba.argmax(1)])
    assert clf.score(X_test, y_test) > 0.8
    assert clf.scale_ is not None  # digits are 0..16, scaled with the training range


def test_string_labels_and_global_rng_untouched():
    X, y_semi, X_test, _ = digits_with_unlabelled(per_class=3)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"], object)
    y_obj = np.where(y_semi >= 0, names[np.clip(y_semi, 0, 9)], -1).astype(object)
    state = torch.get_rng_state()
    clf = GANClassifier(**SMALL).fit(X, y_obj)
    assert torch.equal(torch.get_rng_state(), state)
    assert set(clf.predict(X_test)) <= set(names)


def test_needs_two_labelled_classes():
    X = np.random.default_rng(0).random((20, 4))
    with pytest.raises(ValueError, match="at least 2 classes"):
        GANClassifier(**SMALL).fit(X, np.r_[np.zeros(5), -np.ones(15)])


def test_numpy_numbers_are_parameters_too():
    """A parameter search over np.arange or scipy.stats passes NumPy scalars."""
    X, y_semi, _, _ = digits_with_unlabelled(per_class=3)
    params = {**SMALL, "epochs": np.int64(1), "lr": np.float32(0.003), "d_hidden": np.array([32, 16])}
    assert GANClassifier(**params).fit(X, y_semi).predict(X[:2]).shape == (2,)


@pytest.mark.parametrize(
    "param, message",
    [
        ({"epochs": 0}, "train.epochs must be at least 1"),
        ({"ema_decay": 2.0}, r"train.ema_decay must be in \[0, 1\)"),
        ({"lr": -1.0}, "train.lr must be positive"),
    ],
)
def test_bad_parameters_are_value_errors_that_name_the_setting(param, message):
    X = np.random.default_rng(0).random((20, 4))
    with pytest.raises(ValueError, match=message):
        GANClassifier(**{**SMALL, **param}).fit(X, np.r_[np.arange(10) % 2, -np.ones(10)])


# One check does not apply: it uses -1 as a class label, which marks unlabelled rows in the
# semi-supervised convention (scikit-learn spares its own semi-supervised estimators the same way).
# scikit-learn itself skips the pandas and array-API input checks when those are not installed.
NOT_APPLICABLE = {"check_classifiers_classes": "-1 is a class label there; here it marks unlabelled rows"}


@parametrize_with_checks([GANClassifier(**SMALL)], expected_failed_checks=lambda est: NOT_APPLICABLE)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_save_and_load_through_safetensors(tmp_path):
    X, y_semi, X_test, _ = digits_with_unlabelled(per_class=3)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"], object)
    y_named = np.where(y_semi >= 0, names[np.clip(y_semi, 0, 9)], -1).astype(object)
    clf = GANClassifier(**SMALL).fit(X, y_named)
    path = clf.save(tmp_path / "clf.safetensors")
    loaded = GANClassifier.load(path)
    assert np.array_equal(loaded.predict(X_test), clf.predict(X_test)) and set(loaded.classes_) == set(names)
    assert np.allclose(loaded.predict_proba(X_test), clf.predict_proba(X_test))
    assert loaded.get_params()["epochs"] == SMALL["epochs"]


def test_from_config_trains_as_the_config_does():
    """The schedule and shifts of a shipped config, which the estimator's own parameters do not name."""
    clf = GANClassifier.from_config("mnist_ssl_full", epochs=38)
    cfg = clf._config(n_samples=1000, seed=1)
    assert (cfg.train.epochs, cfg.train.batch_size, cfg.train.lr_decay_start) == (38, 100, 0.3)
    assert cfg.train.augment_shift == 2 and cfg.train.augment_unlabelled
    X, y_semi, X_test, y_test = digits_with_unlabelled(per_class=3)
    small = GANClassifier.from_config("digits_ssl", epochs=2, iters_per_epoch=10).fit(X, y_semi)
    assert small.score(X_test, y_test) > 0.2  # it learns (chance: 0.1)


def test_from_config_images_ssl_trains_its_recipe_on_arrays(tmp_path):
    """images_ssl names picture folders: the estimator takes its network and method, not its data."""
    X, y_semi, X_test, y_test = digits_with_unlabelled(per_class=5)
    clf = GANClassifier.from_config("images_ssl", epochs=4, iters_per_epoch=20, batch_size=64, random_state=0)
    assert (clf.mode, clf.model) == ("fixmatch", "cnn")
    clf.fit(X.reshape(-1, 8, 8), y_semi)
    assert clf.score(X_test.reshape(-1, 8, 8), y_test) > 0.5  # it learns (chance: 0.1)
    again = GANClassifier.load(clf.save(tmp_path / "clf.safetensors"))
    assert np.allclose(again.predict_proba(X_test.reshape(-1, 8, 8)), clf.predict_proba(X_test.reshape(-1, 8, 8)))
