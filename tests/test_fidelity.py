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
from ganlearn.evaluate import evaluate_run
from ganlearn.fidelity import check_inception_weights, inception_fid
from ganlearn.metrics import feature_stats, frechet_distance
from ganlearn.trainer import run


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
    """A torch_fidelity stand-in: FID of 4x4-pooled grey images, with every call's arguments kept."""
    calls = []

    def pooled(dataset):
        x = torch.stack([dataset[i] for i in range(len(dataset))])
        assert x.dtype == torch.uint8 and x.shape[1] == 3  # what the Inception extractor demands
        return F.adaptive_avg_pool2d(x[:, :1].float() / 255, 4).flatten(1).double().numpy()

    def calculate_metrics(**kwargs):
        calls.append(kwargs)
        fid = frechet_distance(*feature_stats(pooled(kwargs["input1"])), *feature_stats(pooled(kwargs["input2"])))
        return {"frechet_inception_distance": fid}
    monkeypatch.setitem(sys.modules, "torch_fidelity", types.SimpleNamespace(calculate_metrics=calculate_metrics))
    return calls


def _gan_run(data_dir, tmp_path):
    overrides = [f"data.data_dir={data_dir}", "train.progress=false", "train.mode=gan", "model.d_hidden=[64]",
                 "model.g_hidden=[64]", "train.epochs=1", "train.iters_per_epoch=5", "train.score_samples=0",
                 f"train.out_dir={tmp_path}"]
    return run(config.load("mnist_ssl", overrides)[0], "g")


def test_evaluate_adds_the_standard_fid_and_its_floor(data_dir, tmp_path, weights, fake_fidelity):
    report = evaluate_run(_gan_run(data_dir, tmp_path), n_samples=300, inception_weights=weights)
    fid = report["inception_fid"]
    assert fid["samples"] > fid["real_train_floor"] >= 0  # an untrained G is far from the data
    assert len(fake_fidelity) == 2
    for call in fake_fidelity:
        assert call["feature_extractor_weights_path"] == str(weights)
        assert call["datasets_download"] is False and call["cache"] is False
        assert call["save_cpu_ram"] is True  # no DataLoader workers copying the images
        assert len(call["input1"]) == 300 and len(call["input2"]) == 10_000  # against the test set
    assert "fid" in report["samples"]  # the domain scores are still there


def test_cli_refuses_inception_weights_for_a_run_without_generator(tmp_path, weights, capsys):
    overrides = ["--set", "train.mode=supervised", "--set", "train.epochs=1", "--set", "train.iters_per_epoch=2",
                 "--no-progress", "--out-dir", str(tmp_path)]
    assert main(["train", "-c", "digits_ssl", *overrides]) == 0
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    assert main(["evaluate", str(run_dir), "--inception-weights", str(weights)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no generator" in err and len(err.splitlines()) == 1
