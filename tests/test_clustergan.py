"""Mode cluster (ClusterGAN): the categorical latent and its encoder, learning on the 8x8 digits, a
bit-for-bit resume, per-category samples, and the cluster / anomaly commands on new images."""

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from ganlearn import config
from ganlearn.analysis.clustering import cluster_accuracy
from ganlearn.analysis.representations import gan_latents
from ganlearn.cli import main
from ganlearn.data import load_dataset
from ganlearn.train import build, fit, run
from ganlearn.train.runlog import RunLog

CLUSTER = ["train.mode=cluster", "model.categories=10", "model.z_dim=20", "train.progress=false"]


def _digits_cluster(out, extra=()):
    cfg, _ = config.load("digits_ssl", CLUSTER + [f"train.out_dir={out}", *extra])
    return cfg


def test_latent_is_noise_plus_a_one_hot_category(tmp_path):
    cfg = _digits_cluster(tmp_path)
    G = build(cfg, load_dataset(cfg.data)).G
    z = G.sample_z(500)
    noise, category = G.split_z(z)
    assert z.shape == (500, 30) and noise.shape == (500, 20)
    assert torch.equal(z[:, 20:].sum(1), torch.ones(500)) and set(category.tolist()) == set(range(10))
    assert noise.std().item() == pytest.approx(0.1, rel=0.1)
    assert (G.split_z(G.sample_z(7, category=4))[1] == 4).all()
    logits, noise_hat = G.encode(G(z[:5]))
    assert logits.shape == (5, 10) and noise_hat.shape == (5, 20)


def test_clustergan_learns_categories_that_match_digit_classes(tmp_path):
    """After 400 steps the encoder recovers G's categories, and on the digits test split they match
    the classes far better than a random assignment does (labels are never read in training)."""
    cfg = _digits_cluster(tmp_path, ["train.epochs=8"])
    data = load_dataset(cfg.data)
    t = build(cfg, data)
    records = fit(t, RunLog(None), verbose=False)
    assert records[-1]["latent_acc"] > 0.9
    clusters = gan_latents(t.G, data.x_test)[:, -10:].argmax(1)
    chance = cluster_accuracy(data.y_test, np.random.default_rng(0).integers(0, 10, len(data.y_test)))
    assert len(np.unique(clusters)) >= 8  # the categories are used, not collapsed into a few
    assert cluster_accuracy(data.y_test, clusters) > 2 * chance


def test_a_resumed_cluster_run_matches_a_straight_one_bit_for_bit(monkeypatch, tmp_path):
    from ganlearn.train import loop as train

    cfg = _digits_cluster(tmp_path, ["train.epochs=3", "train.iters_per_epoch=5"])
    data = load_dataset(cfg.data)
    saved = []
    monkeypatch.setattr(train, "save_checkpoint", lambda path, state: saved.append(state))
    straight = build(cfg, data)
    fit(straight, RunLog(tmp_path), verbose=False)
    resumed = build(cfg, data)
    resumed.load_state(saved[0])
    fit(resumed, RunLog(None), verbose=False)
    for net in ("G", "D"):
        a, b = getattr(straight, net).state_dict(), getattr(resumed, net).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), f"{net} differs after resuming"


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return run(_digits_cluster(out, ["train.epochs=2", "train.iters_per_epoch=20"]), "cluster")


def test_sample_draws_one_row_per_category(cluster_run, capsys):
    assert main(["sample", str(cluster_run), "-n", "20"]) == 0  # 2 a row, 10 rows
    width, height = Image.open(cluster_run / "sample.png").size
    assert height == pytest.approx(5 * width, rel=0.1)


def test_cluster_command_reports_the_gan_categories_and_assigns_new_images(cluster_run, capsys, tmp_path):
    assert main(["cluster", str(cluster_run)]) == 0
    printed = capsys.readouterr().out
    assert "GAN categories" in printed and "k-means, D features" in printed and "pixels" in printed
    assert Image.open(cluster_run / "clusters_map.png").size == (700, 700)
    images = np.random.default_rng(0).random((6, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "new.npz", x=images)
    assert main(["cluster", str(cluster_run), str(tmp_path / "new.npz"), "-o", str(tmp_path / "c.csv")]) == 0
    rows = list(csv.reader((tmp_path / "c.csv").open()))
    assert rows[0][:2] == ["file", "cluster"] and len(rows) == 7
    assert all(0 <= int(r[1]) < 10 and sum(map(float, r[2:])) == pytest.approx(1, abs=1e-4) for r in rows[1:])


def test_anomaly_command_scores_new_images_and_rejects_bad_ones(cluster_run, capsys, tmp_path):
    digits = load_dataset(config.load("digits_ssl")[0].data).x_test[:5]
    noise = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "new.npz", x=np.concatenate([digits, noise]))
    assert main(["anomaly", str(cluster_run), str(tmp_path / "new.npz"), "-o", str(tmp_path / "s.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert len(rows) == 10 and "GAN reconstruction" in rows[0] and "5-NN cosine, D features" in rows[0]
    score = [float(r["5-NN, pixels"]) for r in rows]
    assert min(score[5:]) > max(score[:5])  # uniform noise is far from every digit
    assert main(["anomaly", str(cluster_run), str(tmp_path / "missing.png")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_mode_cluster_needs_categories():
    with pytest.raises(Exception, match="model.categories >= 1"):
        config.load("digits_ssl", ["train.mode=cluster"])
    with pytest.raises(Exception, match="model.categories is not used in mode ssl"):
        config.load("digits_ssl", ["model.categories=3"])


def test_images_without_any_label_train_mode_cluster_and_report_cluster_sizes(tmp_path, capsys):
    """A folder of images without class folders, or an .npz without y_train: every image unlabelled.
    Mode cluster trains on them; mode ssl says in one line that it needs labels."""
    images = (load_dataset(config.load("digits_ssl")[0].data).x_train[:300, 0] * 255).astype(np.uint8)
    np.savez(tmp_path / "mine.npz", x_train=images)
    (tmp_path / "mine").mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / "mine" / f"{i}.png")
    folder = ["data.dataset=folder", f"data.path={tmp_path / 'mine'}", "data.labels_per_class=null"]
    npz = config.load("digits_ssl", ["data.dataset=npz", f"data.path={tmp_path / 'mine.npz'}"])[0]
    for data in (load_dataset(npz.data), load_dataset(_digits_cluster(tmp_path, folder).data)):
        assert data.x_train.shape == (300, 1, 8, 8) and (data.y_train == -1).all() and not data.classes
    run_dir = run(_digits_cluster(tmp_path, folder + ["train.epochs=1", "train.iters_per_epoch=5"]), "mine")
    assert main(["cluster", str(run_dir)]) == 2
    assert "--split train" in capsys.readouterr().err
    assert main(["cluster", str(run_dir), "--split", "train"]) == 0
    printed = capsys.readouterr().out
    assert "cluster sizes" in printed and "GAN categories" in printed and "NMI" not in printed
    args = [
        "train",
        "--config",
        "digits_ssl",
        "--set",
        f"data.path={tmp_path / 'mine.npz'}",
        "--set",
        "data.dataset=npz",
    ]
    assert main(args + ["--set", f"train.out_dir={tmp_path}"]) == 2
    assert "no labelled training images" in capsys.readouterr().err
