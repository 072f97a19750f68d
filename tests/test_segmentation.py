"""Mode seg: canvases, the label-map encoding, IoU, training, evaluation and bad input."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganlearn import cli, config
from ganlearn.config import ModelConfig
from ganlearn.data import Dataset
from ganlearn.data import segmentation as segdata
from ganlearn.errors import ConfigError, DataError, GanlearnError
from ganlearn.evaluate import evaluate_run
from ganlearn.losses import encode_label_maps
from ganlearn.metrics import IGNORE, iou_per_class, segmentation_confusion
from ganlearn.nets import build_models
from ganlearn.probes import features_run
from ganlearn.segmentation import segmentation_scores
from ganlearn.train import run


def _sources(n=50, seed=0):
    """Random 28x28 'objects' with classes 0..9 (no data set needed)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, n)


@pytest.mark.parametrize("shape", [(1, 64, 64), (3, 32, 48)])
def test_unet_pair_shapes(shape):
    segmenter, adversary = build_models(ModelConfig(name="unet", width=8), shape, 11)
    logits = segmenter(torch.rand(2, *shape))
    assert logits.shape == (2, 11, *shape[1:])
    assert adversary(torch.cat([torch.rand(2, *shape), logits.softmax(1)], 1)).shape == (2, 1)
    with pytest.raises(ConfigError, match="divisible by 8"):
        build_models(ModelConfig(name="unet"), (1, 28, 28), 11)


def test_canvases_are_deterministic_per_seed():
    x, y = _sources()
    a = segdata.make_canvases(x, y, 10, size=48, seed=3)
    b = segdata.make_canvases(x, y, 10, size=48, seed=3)
    c = segdata.make_canvases(x, y, 10, size=48, seed=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (10, 1, 48, 48) and a[1].shape == (10, 48, 48) and a[1].dtype == np.uint8


def test_label_maps_match_the_pasted_objects():
    """Each pixel is labelled with the class of the last object whose visible pixels cover it, else
    background; and the canvas there shows that object."""
    x, y = _sources()
    images, maps, pasted = segdata.make_canvases(x, y, 20, size=48, max_objects=4, seed=1)
    assert {len(p) for p in pasted} <= {1, 2, 3, 4} and len({len(p) for p in pasted}) > 1
    for image, label_map, objects in zip(images, maps, pasted):
        expected, shown = np.zeros((48, 48), np.uint8), np.zeros((48, 48), np.float32)
        for o in objects:
            assert o.label == y[o.source] + 1
            obj = segdata.resize_object(x[o.source, 0], o.side)
            box = (slice(o.top, o.top + o.side), slice(o.left, o.left + o.side))
            visible = obj > segdata.OBJECT_THRESHOLD
            expected[box][visible] = o.label
            shown[box][visible] = obj[visible]
        assert np.array_equal(label_map, expected)
        assert np.allclose(image[0][expected > 0], shown[expected > 0])


def test_test_canvases_use_test_objects_only(monkeypatch):
    """Training objects are all class 0 and test objects all class 5: no label crosses over."""
    ones = np.ones((30, 1, 28, 28), np.float32)
    fake = Dataset("mnist", ones, np.zeros(30, np.int64), ones, np.full(30, 5), [str(i) for i in range(10)])
    monkeypatch.setattr(segdata, "load_mnist", lambda *a, **k: fake)
    cfg, _ = config.load("mnist_seg", ["data.train_canvases=8", "data.test_canvases=8", "data.canvas_size=48"])
    data = segdata.load_canvases(cfg.data, "mnist")
    assert set(np.unique(data.y_train)) == {0, 1} and set(np.unique(data.y_test)) == {0, 6}
    assert data.classes[0] == "background" and len(data.classes) == 11


def test_iou_against_a_hand_computed_case():
    truth = np.array([[0, 0, 1, 1], [0, 2, 2, IGNORE]])
    pred = np.array([[0, 1, 1, 1], [0, 2, 0, 2]])
    counts = segmentation_confusion(truth, pred, 3)
    assert counts.tolist() == [[2, 1, 0], [0, 2, 0], [1, 0, 1]]  # the ignored pixel is not counted
    # class 0: TP 2, FP 1, FN 1 -> 2/4; class 1: 2 / (2 + 1) ; class 2: 1 / (1 + 0 + 1)
    assert np.allclose(iou_per_class(counts), [0.5, 2 / 3, 0.5])
    scores = segmentation_scores(truth, pred, ["bg", "a", "b"])
    assert scores["pixel_acc"] == pytest.approx(5 / 7)
    assert scores["miou"] == pytest.approx((0.5 + 2 / 3 + 0.5) / 3)
    # a class absent from truth and prediction is left out of the mean, not counted as 0
    assert segmentation_scores(truth, pred, ["bg", "a", "b", "c"])["miou"] == pytest.approx(scores["miou"])


def test_ground_truth_encoding():
    probs = torch.softmax(torch.randn(2, 4, 5, 5), 1)
    maps = torch.randint(0, 4, (2, 5, 5))
    maps[0, 0, 0] = IGNORE
    enc = encode_label_maps(maps, probs, tau=0.9)
    assert torch.allclose(enc.sum(1), torch.ones(2, 5, 5), atol=1e-5)
    true = enc.gather(1, torch.where(maps == IGNORE, 0, maps)[:, None])[:, 0]
    assert (true[maps != IGNORE] >= 0.9 - 1e-6).all()
    assert torch.equal(enc[0, :, 0, 0], probs[0, :, 0, 0])  # an ignored pixel shows the prediction
    onehot = encode_label_maps(maps, probs, tau=1.0)
    assert torch.equal(onehot[1].argmax(0), maps[1]) and set(onehot[1].unique().tolist()) == {0.0, 1.0}


QUICK = [
    "train.progress=false",
    "data.canvas_size=48",
    "data.train_canvases=256",
    "data.test_canvases=64",
    "model.width=8",
    "train.batch_size=16",
    "train.lr=0.003",
    "train.lr_decay_start=1.0",
    "train.epochs=3",
]


@pytest.mark.parametrize("adv_weight", [0.0, 0.1])
def test_short_training_lowers_the_segmentation_loss_and_resumes(data_dir, tmp_path, adv_weight):
    overrides = QUICK + [f"data.data_dir={data_dir}", f"train.out_dir={tmp_path}", f"train.adv_weight={adv_weight}"]
    cfg, _ = config.load("mnist_seg", overrides)
    run_dir = run(cfg, "seg")
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["loss_seg"] < 0.7 * records[0]["loss_seg"], [r["loss_seg"] for r in records]
    assert ("loss_adv" in records[-1]) == (adv_weight > 0)
    assert (run_dir / "samples.png").is_file()  # the overlays of this epoch
    cfg4, _ = config.load("mnist_seg", overrides + ["train.epochs=4"])
    run(cfg4, "seg", resume=run_dir)
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"] == 4


def test_semi_supervised_adversarial_term_and_evaluate(data_dir, tmp_path, capsys):
    """10% of the label maps, the adversary also on unlabelled canvases; then `ganlearn evaluate`."""
    overrides = QUICK + [
        f"data.data_dir={data_dir}",
        f"train.out_dir={tmp_path}",
        "data.label_rate=0.1",
        "train.adv_unlabelled=true",
        "train.epochs=1",
    ]
    run_dir = run(config.load("mnist_seg", overrides)[0], "seg")
    report = evaluate_run(run_dir)
    assert 0 <= report["miou"] <= 1 and report["n_test"] == 64 and len(report["iou"]) == 11
    assert (run_dir / "overlays.png").is_file()
    assert cli.main(["evaluate", str(run_dir)]) == 0
    assert "mean IoU" in capsys.readouterr().out
    with pytest.raises(GanlearnError, match="mode 'seg'"):
        features_run(run_dir, "test")


def _write_pairs(folder, sizes):
    for sub in ("images", "labels"):
        (folder / sub).mkdir(parents=True)
    for i, (image_size, label_size) in enumerate(sizes):
        Image.fromarray(np.zeros(image_size[::-1], np.uint8)).save(folder / "images" / f"{i}.png")
        label = np.zeros(label_size[::-1], np.uint8)
        label[:2, :2] = 1
        Image.fromarray(label).save(folder / "labels" / f"{i}.png")


def test_seg_folder_loads_and_rejects_mismatched_sizes(tmp_path, capsys):
    _write_pairs(tmp_path / "good" / "train", [((16, 16), (16, 16))] * 2)
    _write_pairs(tmp_path / "good" / "test", [((16, 16), (16, 16))])
    data = segdata.load_seg_folder(str(tmp_path / "good"))
    assert data.x_train.shape == (2, 1, 16, 16) and data.classes == ["background", "1"]
    _write_pairs(tmp_path / "bad" / "train", [((16, 16), (16, 12))])
    _write_pairs(tmp_path / "bad" / "test", [((16, 16), (16, 16))])
    with pytest.raises(DataError, match="16x16 but its label map is 16x12"):
        segdata.load_seg_folder(str(tmp_path / "bad"))
    code = cli.main(
        [
            "train",
            "-c",
            "mnist_seg",
            "--set",
            "data.dataset=seg-folder",
            "--set",
            f"data.path={tmp_path / 'bad'}",
            "--out-dir",
            str(tmp_path / "runs"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "label map is 16x12" in err


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["train.mode=ssl"], "mode ssl, data set mnist-seg and model unet do not go together"),
        (["data.dataset=mnist"], r"mode seg takes the data sets mnist-seg \| fashion-seg \| seg-folder"),
        (["data.label_rate=null", "data.labels_per_class=10"], "set data.label_rate"),
        (["train.adv_weight=-1"], "adv_weight must be >= 0"),
    ],
)
def test_seg_config_mistakes_are_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        config.load("mnist_seg", overrides)
    with pytest.raises(ConfigError, match=r"mode ssl takes .* the models mlp \| dcgan"):
        config.load("mnist_ssl", ["model.name=unet"])


def test_canvas_too_small_for_the_objects():
    x, y = _sources()
    with pytest.raises(DataError, match="canvas_size must be at least 42"):
        segdata.make_canvases(x, y, 2, size=32)
