"""Clustering, 2-D maps and anomaly detection on GAN features: the metrics on hand-made cases, and
every command end to end on small runs."""

import csv

import numpy as np
import pytest
from PIL import Image

from ganlearn import config
from ganlearn.analysis.anomaly import auroc, knn_anomaly_scores, knn_standardise
from ganlearn.analysis.clustering import cluster_accuracy
from ganlearn.analysis.maps import map_colours
from ganlearn.analysis.representations import kmeans, pixel_baselines
from ganlearn.cli import main
from ganlearn.train import run

QUICK = ["train.progress=false", "train.epochs=2", "train.iters_per_epoch=10"]


def test_cluster_accuracy_uses_the_best_matching():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([1, 1, 0, 0, 0, 2])  # cluster 1 -> class 0, 0 -> 1, 2 -> 2: five of six right
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    assert cluster_accuracy(y_true, (y_true + 1) % 3) == 1.0  # renamed clusters are still perfect


def test_auroc_against_a_hand_computed_case():
    # anomalies 0.35 and 0.8 against normals 0.1 and 0.4: 3 of the 4 pairs are ordered right
    assert auroc([False, False, True, True], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    with pytest.raises(Exception, match="both normal and anomalous"):
        auroc([True, True], [0.1, 0.2])


def test_kmeans_and_knn_on_separated_blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    y = np.repeat(np.arange(3), 50)
    x = centres[y] + rng.normal(size=(150, 2))
    assert cluster_accuracy(y, kmeans(x, 3).labels_) == 1.0
    scores = knn_anomaly_scores(x, np.array([[0.0, 0.0], [30.0, 30.0]]))
    assert scores[1] > 5 * scores[0]


def test_cosine_knn_ignores_length_and_sees_direction():
    normal = np.array([[1.0, 0.0], [2.0, 0.1], [3.0, -0.1]])
    far_same_direction, near_other_direction = [30.0, 0.0], [0.0, 1.0]
    x = np.array([far_same_direction, near_other_direction])
    euclidean, cosine = knn_anomaly_scores(normal, x, k=1), knn_anomaly_scores(normal, x, k=1, metric="cosine")
    assert euclidean[0] > euclidean[1] and cosine[0] < cosine[1]
    assert cosine[0] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(Exception, match="unknown k-NN metric"):
        knn_anomaly_scores(normal, x, metric="manhattan")


def test_standardised_knn_puts_two_scales_on_one():
    rng = np.random.default_rng(0)
    normal, new = rng.normal(0, 1, (500, 3)), rng.normal(0, 1, (200, 3))
    z = knn_standardise(normal, knn_anomaly_scores(normal, new), 5)
    z_100 = knn_standardise(100 * normal, knn_anomaly_scores(100 * normal, 100 * new), 5)
    np.testing.assert_allclose(z, z_100)  # the scale of a representation does not count
    assert abs(z.mean()) < 0.3  # new normal images score about 0 ...
    outlier = knn_standardise(normal, knn_anomaly_scores(normal, np.array([[8.0, 0, 0]])), 5)
    assert outlier[0] > 5  # ... and an outlier many sds above


def test_knn_of_the_normal_images_themselves_leaves_each_out_and_keeps_duplicates():
    rng = np.random.default_rng(0)
    normal = rng.normal(0, 1, (40, 4))
    normal = np.concatenate([normal, normal[:5]])  # five images twice: their nearest other is at 0
    own = knn_anomaly_scores(normal, None, k=1)
    assert (own[:5] == 0).all() and (own[5:40] > 0).all()
    cosine = knn_anomaly_scores(normal, None, k=1, metric="cosine")
    assert (cosine[:5] < 1e-6).all() and (cosine[5:40] > 0).all()
    with pytest.raises(Exception, match="k = 5 need at least 6 normal images, got 5"):
        knn_anomaly_scores(normal[:5], None, k=5)


def test_maps_are_coloured_by_cluster_when_there_are_no_labels():
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(0, 1, (30, 4)), rng.normal(20, 1, (30, 4))])
    one_class, two_classes = np.zeros(60, int), np.repeat([0, 1], 30)
    colours, names, what = map_colours(features, one_class, ["unlabelled"], k=2)
    assert what.startswith("k-means") and names == ["cluster 0", "cluster 1"]
    assert cluster_accuracy(two_classes, colours) == 1.0  # the clusters are the two blobs
    colours, names, what = map_colours(features, two_classes, ["a", "b"])
    assert what == "label" and colours is two_classes and names == ["a", "b"]
    assert map_colours(features, two_classes, ["a", "b"], "cluster", k=2)[2].startswith("k-means")
    with pytest.raises(Exception, match="unknown colouring"):
        map_colours(features, two_classes, ["a", "b"], "size")


def test_pixel_baselines_fit_pca_once():
    x = np.random.default_rng(0).random((40, 1, 4, 4))
    reps = pixel_baselines(x, n_components=5)(x[:3])
    assert reps["pixels"].shape == (3, 16) and reps["pca5 of pixels"].shape == (3, 5)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    made = {}
    for name, extra in {
        "gan": ["train.mode=gan"],
        "normal": ["train.mode=gan", "data.exclude_classes=[3]"],
        "supervised": ["train.mode=supervised"],
    }.items():
        cfg, _ = config.load("digits_ssl", QUICK + [f"train.out_dir={out}", *extra])
        made[name] = run(cfg, name)
    return made


def test_cluster_embed_and_features_commands(runs, capsys, tmp_path):
    assert main(["cluster", str(runs["gan"]), "-k", "10"]) == 0
    printed = capsys.readouterr().out
    assert "D features" in printed and "pixels" in printed and "pca" in printed
    assert (runs["gan"] / "clusters.npz").is_file() and (runs["gan"] / "clusters.json").is_file()
    out = tmp_path / "map.png"
    assert main(["embed", str(runs["gan"]), "--size", "400", "--thumbnails", "--out", str(out)]) == 0
    assert Image.open(out).size == (400, 400)
    assert main(["embed", str(runs["gan"]), "--size", "300", "--colour-by", "cluster", "--out", str(out)]) == 0
    assert Image.open(out).size == (300, 300)
    assert main(["features", str(runs["gan"]), "--out", str(tmp_path / "f.npz")]) == 0
    saved = np.load(tmp_path / "f.npz")
    assert saved["features"].shape[0] == saved["labels"].shape[0] == 360  # the digits test split


def test_anomaly_command_scores_the_held_out_class(runs, capsys):
    assert main(["anomaly", str(runs["normal"])]) == 0
    printed = capsys.readouterr().out
    assert (
        "held-out classes [3]" in printed and printed.count("AUROC") == 8
    )  # D output, 2 metrics x 3 k-NN, D features + pixels
    assert (runs["normal"] / "anomaly_scores.png").is_file()


@pytest.mark.parametrize("command", ["features", "cluster", "embed", "anomaly"])
def test_commands_reject_missing_or_wrong_runs(runs, capsys, tmp_path, command):
    assert main([command, str(tmp_path / "nope")]) == 2
    assert "run folder does not exist" in capsys.readouterr().err
    assert main([command, str(runs["supervised"])]) == 2
    assert "mode 'supervised'" in capsys.readouterr().err
    if command == "anomaly":
        assert main([command, str(runs["gan"])]) == 2
        assert "trained on every class" in capsys.readouterr().err


def test_new_images_of_a_gan_run_go_to_the_nearest_k_means_centre_and_get_k_nn_scores(runs, tmp_path):
    images = np.random.default_rng(0).random((4, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "new.npz", x=images)
    assert main(["cluster", str(runs["gan"]), str(tmp_path / "new.npz"), "-k", "3", "-o", str(tmp_path / "c.csv")]) == 0
    rows = list(csv.reader((tmp_path / "c.csv").open()))
    assert rows[0] == ["file", "cluster"] and [r[0] for r in rows[1:]] == [
        f"{tmp_path / 'new.npz'}[{i}]" for i in range(4)
    ]
    assert all(int(r[1]) in (0, 1, 2) for r in rows[1:])
    assert main(["anomaly", str(runs["normal"]), str(tmp_path / "new.npz"), "-o", str(tmp_path / "s.csv")]) == 0
    header = next(csv.reader((tmp_path / "s.csv").open()))
    assert header[:2] == ["file", "D output"] and "GAN reconstruction" not in header and len(header) == 9
