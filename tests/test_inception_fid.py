"""The standard-FID option: weights are checked before torch-fidelity sees them; the glue passes it
uint8 RGB images and never lets it download. torch-fidelity itself (it needs torchvision) is not
installed here, so a stand-in module records what it is given and computes a small Fréchet distance."""

import pickle
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganlearn import config
from ganlearn.cli import main
from ganlearn.errors import GanlearnError
from ganlearn.evaluation.inception_fid import check_inception_weights, inception_fid
from ganlearn.evaluation.metrics import feature_stats, frechet_distance
from ganlearn.evaluation.report import evaluate_run
from ganlearn.train import run


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "inception.pth"
    torch.save({"conv.weight": torch.ones(2, 2)}, path)
    return path


class _RunsCode:
    def __reduce__(self):
        return (print, ("this ran",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_weights_that_are_not_a_plain_state_dict_are_refused(tmp_path, weights, capsys):
    assert check_inception_weights(weights) == weights
    with pytest.raises(GanlearnError, match="not found"):
        check_inception_weights(tmp_path / "missing.pth")
    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"w": _RunsCode()}))
    with pytest.raises(GanlearnError, match="Inception weights file|could run code"):
        check_inception_weights(tmp_path / "evil.pth")
    assert "this ran" not in capsys.readouterr().out
    torch.save({"w": [1, 2]}, tmp_path / "list.pth")
    with pytest.raises(GanlearnError, match="not a state dict of tensors"):
        check_inception_weights(tmp_path / "list.pth")


def test_without_torch_fidelity_the_error_says_what_to_install(weights, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # import fails
    with pytest.raises(GanlearnError, match=r"ganlearn\[fidelity\]"):
        inception_fid(np.zeros((2, 1, 8, 8), np.float32), np.zeros((2, 1, 8, 8), np.float32), weights)


@pytest.fixture
def fake_fidelity(monkeypatch):
    """A torch_fidelity stand-in: 'Inception features' are 4x4-pooled grey images; every call is kept."""
    calls = {"extractors": [], "features": []}

    def create_feature_extractor(name, features, cuda=True, **kwargs):
        calls["extractors"].append({"name": name, "features": features, **kwargs})
        return "extractor"

    def get_featuresdict_from_dataset(dataset, extractor, batch_size, cuda, save_cpu_ram, verbose):
        calls["features"].append({"n": len(dataset), "extractor": extractor, "save_cpu_ram": save_cpu_ram})
        x = torch.stack([dataset[i] for i in range(len(dataset))])
        assert x.dtype == torch.uint8 and x.shape[1] == 3  # what the Inception extractor demands
        return {"2048": F.adaptive_avg_pool2d(x[:, :1].float() / 255, 4).flatten(1)}

    utils = types.SimpleNamespace(
        create_feature_extractor=create_feature_extractor, get_featuresdict_from_dataset=get_featuresdict_from_dataset
    )
    monkeypatch.setitem(sys.modules, "torch_fidelity", types.SimpleNamespace(utils=utils))
    return calls


def test_inception_fid_is_the_frechet_distance_of_the_extractor_features(weights, fake_fidelity):
    rng = np.random.default_rng(0)
    a, b = rng.random((50, 1, 8, 8), np.float32), rng.random((60, 1, 8, 8), np.float32) ** 2
    assert inception_fid(a, a, weights) == pytest.approx(0, abs=1e-6)
    pooled = [
        F.adaptive_avg_pool2d(torch.from_numpy(np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)).float() / 255, 4)
        .flatten(1)
        .numpy()
        for x in (a, b)
    ]
    expected = frechet_distance(*feature_stats(pooled[0]), *feature_stats(pooled[1]))
    assert inception_fid(a, b, weights) == pytest.approx(expected, rel=1e-6) and expected > 0.01


def _gan_run(data_dir, tmp_path):
    overrides = [
        f"data.data_dir={data_dir}",
        "train.progress=false",
        "train.mode=gan",
        "model.d_hidden=[64]",
        "model.g_hidden=[64]",
        "train.epochs=1",
        "train.iters_per_epoch=5",
        "train.score_samples=0",
        f"train.out_dir={tmp_path}",
    ]
    return run(config.load("mnist_ssl", overrides)[0], "g")


def test_evaluate_adds_the_standard_fid_and_its_floor(data_dir, tmp_path, weights, fake_fidelity):
    report = evaluate_run(_gan_run(data_dir, tmp_path), n_samples=300, inception_weights=weights)
    fid = report["inception_fid"]
    assert fid["samples"] > fid["real_train_floor"] >= 0  # an untrained G is far from the data
    [extractor] = fake_fidelity["extractors"]  # Inception built once, from the file given, never downloaded
    assert extractor["name"] == "inception-v3-compat" and extractor["features"] == ["2048"]
    assert extractor["feature_extractor_weights_path"] == str(weights)
    # each set goes through Inception once: the test set (the reference), the samples, the real floor
    assert [call["n"] for call in fake_fidelity["features"]] == [10_000, 300, 300]
    assert all(call["save_cpu_ram"] for call in fake_fidelity["features"])  # no DataLoader workers
    assert "fid" in report["samples"]  # the domain scores are still there


def test_cli_refuses_inception_weights_for_a_run_without_generator(tmp_path, weights, capsys):
    overrides = [
        "--set",
        "train.mode=supervised",
        "--set",
        "train.epochs=1",
        "--set",
        "train.iters_per_epoch=2",
        "--no-progress",
        "--out-dir",
        str(tmp_path),
    ]
    assert main(["train", "-c", "digits_ssl", *overrides]) == 0
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    assert main(["evaluate", str(run_dir), "--inception-weights", str(weights)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no generator" in err and len(err.splitlines()) == 1
