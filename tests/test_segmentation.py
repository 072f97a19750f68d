"""Mode seg: canvases, Hung et al.'s losses and adversary, IoU, training, evaluation and bad input."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganlearn import cli, config
from ganlearn.analysis.representations import features_run
from ganlearn.config import ModelConfig
from ganlearn.data import Dataset
from ganlearn.data import segmentation as segdata
from ganlearn.data import split as segsplit
from ganlearn.data.arrays import IGNORE
from ganlearn.errors import ConfigError, DataError, GanlearnError
from ganlearn.evaluation.metrics import iou_per_class, segmentation_confusion, segmentation_scores
from ganlearn.evaluation.report import evaluate_run
from ganlearn.losses import confident_self_training_loss, one_hot_maps, pixel_adversarial_loss
from ganlearn.models import build_models
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
    assert adversary(logits.softmax(1)).shape == (2, 1, *shape[1:])  # a logit per pixel
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


def test_photo_canvases_hide_digits_in_texture_and_occluders_cover_them():
    x, y = _sources()
    plain, plain_maps, _ = segdata.make_canvases(x, y, 20, size=48, seed=3)
    photo, photo_maps, _ = segdata.make_canvases(x, y, 20, size=48, seed=3, background="photo", occluders=3)
    assert photo.shape == plain.shape and 0 <= photo.min() and photo.max() <= 1
    background = plain_maps == 0
    assert (plain[:, 0][background] < 1e-6).mean() > 0.5  # mostly black without photos
    assert (photo[:, 0][photo_maps == 0] > 0.05).mean() > 0.5  # textured with them
    hidden = 0
    for seed in range(10):  # one canvas each: the same objects with and without occluders
        shown = segdata.make_canvases(x, y, 1, size=48, seed=seed, background="photo")[1] != 0
        occluded = segdata.make_canvases(x, y, 1, size=48, seed=seed, background="photo", occluders=3)[1] != 0
        assert not (occluded & ~shown).any()  # occluders only turn object pixels into background
        hidden += (shown & ~occluded).sum()
    assert hidden > 0
    again, again_maps, _ = segdata.make_canvases(x, y, 20, size=48, seed=3, background="photo", occluders=3)
    assert np.array_equal(again, photo) and np.array_equal(again_maps, photo_maps)  # seeded


def test_hung_losses_count_only_valid_and_confident_pixels():
    maps = torch.randint(0, 4, (2, 5, 5))
    maps[0, 0, 0] = IGNORE
    onehot = one_hot_maps(maps, 4)
    assert onehot.shape == (2, 4, 5, 5) and onehot[0, :, 0, 0].sum() == 0  # an ignored pixel: all zeros
    assert torch.equal(onehot[1].argmax(0), maps[1]) and torch.equal(onehot.sum(1), (maps != IGNORE).float())
    logit_map, valid = torch.randn(2, 1, 5, 5), maps != IGNORE
    logit_map[0, 0, 0, 0] = 1e4  # an ignored pixel, however wrong, adds nothing
    expected = F.softplus(logit_map[:, 0][valid]).mean()  # -log(1 - sigmoid): the "predicted" target
    assert pixel_adversarial_loss(logit_map, 0.0, valid) == pytest.approx(expected.item(), rel=1e-5)
    logits, confidence = torch.randn(2, 4, 5, 5), torch.full((2, 1, 5, 5), -5.0)
    assert confident_self_training_loss(logits, confidence, 0.2) == 0  # no confident pixel: no term
    confidence[1, 0, 2, 3] = 5.0  # one confident pixel: cross-entropy there against its own argmax
    expected = F.cross_entropy(logits[1:, :, 2, 3], logits[1:, :, 2, 3].argmax(1))
    assert confident_self_training_loss(logits, confidence, 0.2) == pytest.approx(expected.item(), rel=1e-5)


QUICK = [
    "train.progress=false",
    "data.canvas_size=48",
    "data.train_canvases=256",
    "data.test_canvases=64",
    "model.width=8",
    "train.batch_size=16",
    "train.g_lr=0.003",
    "train.lr_decay_start=1.0",
    "train.epochs=3",
    "data.label_rate=1.0",
    "data.val_rate=0",
]


CROSS_ENTROPY = ["seg.adv_weight=0", "seg.adv_unlabelled_weight=0", "seg.semi_weight=0"]


HUNG = ["seg.adv_weight=0.01", "seg.adv_unlabelled_weight=0.001", "seg.semi_weight=0.1"]


@pytest.mark.parametrize("terms", [CROSS_ENTROPY, HUNG], ids=["cross-entropy", "hung"])
def test_short_training_lowers_the_segmentation_loss_and_resumes(data_dir, tmp_path, terms):
    overrides = QUICK + [f"data.data_dir={data_dir}", f"train.out_dir={tmp_path}", "seg.semi_start=0.5", *terms]
    cfg, _ = config.load("mnist_seg", overrides)
    run_dir = run(cfg, "seg")
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["loss_seg"] < 0.7 * records[0]["loss_seg"], [r["loss_seg"] for r in records]
    adversarial = terms != CROSS_ENTROPY
    assert all(("loss_adv" in r) == adversarial for r in records)
    assert [("loss_semi" in r) for r in records] == [False, adversarial, adversarial]  # from half-way on
    assert (run_dir / "samples.png").is_file()  # the overlays of this epoch
    cfg4, _ = config.load("mnist_seg", overrides + ["train.epochs=4"])
    run(cfg4, "seg", resume=run_dir)
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"] == 4


def test_semi_supervised_adversarial_term_and_evaluate(data_dir, tmp_path, capsys):
    """10% of the label maps, the unlabelled terms from the start; then `ganlearn evaluate`."""
    overrides = QUICK + [
        f"data.data_dir={data_dir}",
        f"train.out_dir={tmp_path}",
        "data.label_rate=0.1",
        "data.val_rate=0.25",
        "seg.semi_start=0",
        *HUNG,
        "train.epochs=1",
    ]
    run_dir = run(config.load("mnist_seg", overrides)[0], "seg")
    (record,) = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert 0 < record["semi_pixels"] <= 1 and 0 <= record["val_miou"] <= 1
    report = evaluate_run(run_dir)
    assert 0 <= report["miou"] <= 1 and report["n_test"] == 64 and len(report["iou"]) == 11
    assert (run_dir / "overlays.png").is_file()
    assert cli.main(["evaluate", str(run_dir)]) == 0
    assert "mean IoU" in capsys.readouterr().out
    with pytest.raises(GanlearnError, match="mode 'seg'"):
        features_run(run_dir, "test")


def test_canvas_split_holds_out_the_same_validation_images_for_every_seed_and_label_rate():
    has_map = np.ones(200, bool)
    a, b = segsplit.canvas_split(has_map, 0.1, seed=1, val_rate=0.25), segsplit.canvas_split(has_map, 0.5, 2, 0.25)
    assert len(a.val) == 50 and np.array_equal(a.val, b.val)
    assert len(a.labelled) == 15 and len(b.labelled) == 75  # of the 150 left
    for split in (a, b):
        assert not np.intersect1d(split.val, split.stream).size and len(split.stream) == 150


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


def test_seg_folder_with_unlabelled_images_trains_and_predict_writes_label_maps(tmp_path, capsys):
    """Images without label maps (data.unlabelled_path) only feed the semi-supervised terms; `ganlearn
    predict` on the run writes a label-map PNG (class numbers) and an overlay per new image."""
    _write_pairs(tmp_path / "mine" / "train", [((16, 16), (16, 16))] * 8)
    _write_pairs(tmp_path / "mine" / "test", [((16, 16), (16, 16))] * 2)
    (tmp_path / "more" / "deeper").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.full((16, 16), 40 * i, np.uint8)).save(tmp_path / "more" / "deeper" / f"u{i}.png")
    data = segdata.load_seg_folder(str(tmp_path / "mine"), str(tmp_path / "more"))
    assert data.x_train.shape == (11, 1, 16, 16) and (data.y_train[8:] == IGNORE).all()
    settings = [f"data.path={tmp_path / 'mine'}", f"data.unlabelled_path={tmp_path / 'more'}", "data.val_rate=0"]
    quick = ["model.width=8", "train.batch_size=4", "train.epochs=1", "train.progress=false"]
    cfg, _ = config.load("images_seg", settings + quick + [f"train.out_dir={tmp_path}"])
    split = segsplit.label_map_split(cfg, data)
    assert list(split.labelled) == list(range(8)) and list(split.unlabelled) == [8, 9, 10]
    run_dir = run(cfg, "mine")
    assert cli.main(["predict", str(run_dir), str(tmp_path / "more"), "-o", str(tmp_path / "maps")]) == 0
    assert "label maps" in capsys.readouterr().out
    for i in range(3):
        label_map = np.asarray(Image.open(tmp_path / "maps" / f"u{i}.png"))
        assert label_map.shape == (16, 16) and label_map.max() < len(data.classes)
        assert np.asarray(Image.open(tmp_path / "maps" / f"u{i}_overlay.png")).shape == (16, 16, 3)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "more" / "small.png")
    with pytest.raises(DataError, match="small.png: size 8x8 differs from the labelled images' 16x16"):
        segdata.load_seg_folder(str(tmp_path / "mine"), str(tmp_path / "more"))


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["train.mode=ssl"], "mode ssl, data set mnist-seg and model unet do not go together"),
        (["data.dataset=mnist"], r"mode seg takes the data sets mnist-seg \| fashion-seg \| seg-folder"),
        (["data.label_rate=null", "data.labels_per_class=10"], "set data.label_rate"),
        (["seg.adv_weight=-1"], "semi_weight must be >= 0"),
        (["seg.semi_threshold=1.5"], r"semi_threshold in \[0, 1\)"),
        (["seg.semi_start=2"], "fraction of the training steps"),
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
