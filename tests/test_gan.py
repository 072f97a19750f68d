"""GAN mode and the Improved-GAN techniques, end to end."""

import pytest
import torch

from ganlearn import config
from ganlearn.data import load_digits, load_mnist
from ganlearn.evaluation.domain_scores import load_domain_classifier, reference_stats, score_images
from ganlearn.evaluation.report import evaluate_run
from ganlearn.models.outputs import generate
from ganlearn.train import build, fit, run
from ganlearn.train.runlog import RunLog

QUICK = ["train.progress=false"]


def test_gan_mode_learns_mnist_digits(data_dir, tmp_path):
    """A small DCGAN trained briefly on MNIST: the FID-style score falls far below that of the untrained G."""
    overrides = QUICK + [
        f"data.data_dir={data_dir}",
        "model.width=16",
        "train.lr=0.001",
        "train.epochs=2",
        "train.iters_per_epoch=250",
        "train.score_samples=1000",
    ]
    cfg, _ = config.load("mnist_dcgan", overrides)
    data = load_mnist("mnist", str(data_dir), download=False)
    t = build(cfg, data)
    net, _ = load_domain_classifier("mnist")
    before = score_images(net, generate(t.G, 1000, seed=0), reference_stats(net, data.x_test))["fid"]
    t.G.train()
    (tmp_path / "run").mkdir()
    records = fit(t, RunLog(tmp_path / "run"), verbose=False)
    assert {"loss_d", "d_real", "d_fake", "loss_gen", "fid"} <= set(records[-1])
    assert "test_acc" not in records[-1]  # an unconditional D classifies nothing
    assert records[-1]["fid"] < 0.4 * before, (before, [r["fid"] for r in records])
    assert (tmp_path / "run" / "samples.png").is_file()


TECHNIQUES = {
    "minibatch discrimination": ["model.minibatch_kernels=20"],
    "virtual batch norm": ["model.vbn_ref=32"],
    "label smoothing": ["train.real_label=0.9"],
    "historical averaging": ["train.historical_averaging=0.001"],
    "feature matching in gan mode": ["train.g_loss=feature_matching"],
}


@pytest.mark.parametrize("mode", ["gan", "ssl"])
@pytest.mark.parametrize("technique", list(TECHNIQUES))
def test_each_technique_trains_and_resumes(tmp_path, mode, technique):
    overrides = QUICK + [
        f"train.mode={mode}",
        "train.epochs=2",
        "train.iters_per_epoch=5",
        f"train.out_dir={tmp_path}",
        *TECHNIQUES[technique],
    ]
    cfg, _ = config.load("digits_ssl", overrides)
    run_dir = run(cfg, "t")
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 2
    if "historical" in technique:
        assert int(state["history"]["D.count"]) == 10
    cfg3, _ = config.load("digits_ssl", overrides[:2] + ["train.epochs=3"] + overrides[3:])
    run(cfg3, "t", resume=run_dir)  # the techniques' state (reference batch, averages) resumes too
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"] == 3


def test_evaluate_reports_sample_scores_for_a_gan_run(data_dir, tmp_path):
    overrides = QUICK + [
        f"data.data_dir={data_dir}",
        "train.mode=gan",
        "model.d_hidden=[64]",
        "model.g_hidden=[64]",
        "train.epochs=1",
        "train.iters_per_epoch=5",
        "train.score_samples=0",
        f"train.out_dir={tmp_path}",
    ]
    cfg, _ = config.load("mnist_ssl", overrides)
    report = evaluate_run(run(cfg, "g"), n_samples=500)
    assert report["mode"] == "gan" and "test_acc" not in report
    assert report["samples"]["fid"] > report["real_train_floor"]["fid"] >= 0
    assert 0 <= report["real_train_floor"]["coverage_kl"] < 0.05


def test_self_training_selects_confident_pseudo_labels_and_resumes(tmp_path):
    overrides = QUICK + [
        "train.epochs=3",
        "self_training.threshold=0.9",
        "self_training.start=1",
        f"train.out_dir={tmp_path}",
    ]
    cfg, _ = config.load("digits_ssl", overrides)
    t = build(cfg, load_digits())
    records = fit(t, RunLog(None), verbose=False)
    assert "pseudo_labels" not in records[0]  # the warm-up epoch
    assert 0 < records[-1]["pseudo_labels"] <= len(t.split.unlabelled)
    assert records[-1]["pseudo_label_acc"] > 0.8  # confident predictions are mostly right
    assert "loss_pseudo" in records[-1]
    assert not set(t.pseudo_idx.tolist()) & set(t.split.labelled.tolist())  # only unlabelled images
    state = t.state()
    t2 = build(cfg, load_digits())
    t2.load_state(state)
    assert torch.equal(t2.pseudo_idx, t.pseudo_idx) and torch.equal(t2.pseudo_y, t.pseudo_y)
