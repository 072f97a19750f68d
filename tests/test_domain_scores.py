"""The FID-style score and class coverage are honest: near 0 for real against real, rising with
every kind of damage, and blind to nothing a collapsed generator would do."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganlearn.data import load_mnist
from ganlearn.evaluation.domain_scores import available, load_domain_classifier, reference_stats, score_images
from ganlearn.evaluation.metrics import class_coverage, feature_stats, frechet_distance

N = 2000


@pytest.fixture(scope="module")
def setup(data_dir):
    data = load_mnist("mnist", str(data_dir), download=False)
    net, record = load_domain_classifier("mnist")
    rng = np.random.default_rng(0)
    real = data.x_train[rng.choice(len(data.x_train), N, replace=False)]
    return net, record, data, real, reference_stats(net, data.x_test)


def fid(setup, images):
    net, _, _, _, reference = setup
    return score_images(net, images, reference)["fid"]


def test_shipped_classifiers_are_accurate_and_recorded():
    assert set(available()) >= {"mnist", "fashion"}
    for name, floor in (("mnist", 0.985), ("fashion", 0.88)):
        _, record = load_domain_classifier(name)
        assert record["test_accuracy"] >= floor and len(record["data_sha256"]) == 4


def test_frechet_distance_closed_form():
    # N(0, I) against N(1, 4I) in 8 dimensions: ||mu||^2 = 8, trace term 8 + 32 - 2 * 16 = 8
    assert frechet_distance(np.zeros(8), np.eye(8), np.ones(8), 4 * np.eye(8)) == pytest.approx(16.0)
    a = np.random.default_rng(0).normal(size=(500, 4))
    assert frechet_distance(*feature_stats(a), *feature_stats(a)) == pytest.approx(0.0, abs=1e-6)


def test_real_against_real_is_near_zero_and_noise_raises_it_monotonically(setup):
    real = setup[3]
    noise = np.random.default_rng(1).normal(size=real.shape).astype(np.float32)
    scores = [fid(setup, np.clip(real + sigma * noise, 0, 1)) for sigma in (0.0, 0.1, 0.2, 0.4)]
    assert scores[0] < 0.3 * scores[1] and scores[0] < 6, scores  # the floor: finite-sample bias only
    assert all(a < b for a, b in zip(scores, scores[1:])), scores


def test_blur_raises_the_score_monotonically(setup):
    real = torch.from_numpy(setup[3])
    scores = [
        fid(setup, F.avg_pool2d(real, k, stride=1, padding=k // 2, count_include_pad=False).numpy())
        for k in (1, 3, 5, 7)
    ]
    assert all(a < b for a, b in zip(scores, scores[1:])), scores


def test_dropping_classes_raises_the_score_and_coverage_sees_collapse(setup):
    net, _, data, _, reference = setup
    x, y = data.x_train[:20000], data.y_train[:20000]
    scores = []
    for kept in (10, 7, 4, 1):
        pick = np.flatnonzero(y < kept)[:N]
        scores.append(score_images(net, x[pick], reference))
    fids = [s["fid"] for s in scores]
    assert all(a < b for a, b in zip(fids, fids[1:])), fids
    assert scores[0]["coverage_kl"] < 0.02  # all ten digits, about equally often
    assert scores[-1]["coverage_kl"] > 2.0  # one digit only: close to log 10 = 2.30
    assert scores[0]["inception_score"] > 8 > 2 > scores[-1]["inception_score"]


def test_class_coverage_histogram():
    hist, kl = class_coverage(np.array([0, 0, 1, 3]), 4)
    assert hist.tolist() == [0.5, 0.25, 0, 0.25] and kl > 0
    assert class_coverage(np.arange(8) % 4, 4)[1] == pytest.approx(0.0)
