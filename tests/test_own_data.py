"""A user's own images: labelled class folders, unlabelled folders, a labels CSV, mixed sizes and
modes, bad files; then predictions on new files, folders and arrays."""

import csv
import json

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file, save_file

import ganlearn
from ganlearn import config
from ganlearn.cli import main
from ganlearn.data import images as image_files
from ganlearn.data import load_dataset, load_npz
from ganlearn.errors import CheckpointError, DataError


def draw(path, cls: int, size=(12, 12), mode="L", seed=0):
    """A picture of class `cls`: a bright bar, horizontal (0) or vertical (1), on noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    pixels = rng.integers(0, 60, (h, w), dtype=np.uint8)
    if cls == 0:
        pixels[h // 2 - 1 : h // 2 + 1, :] = 255
    else:
        pixels[:, w // 2 - 1 : w // 2 + 1] = 255
    image = Image.fromarray(pixels)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.convert(mode).save(path)


def make_folder(root, n_labelled=4, n_unlabelled=30, n_test=10):
    """Class folders `bar`/`post` (mostly 12x12 grey, some 16x20 RGB), unlabelled images in nested
    folders, a test folder; returns the overrides of a config that reads them."""
    for c, name in enumerate(("bar", "post")):
        for i in range(n_labelled):
            odd = i == 0
            draw(root / "labelled" / name / f"{i}.png", c, (20, 16) if odd else (12, 12), "RGB" if odd else "L", i)
        for i in range(n_test):
            draw(root / "test" / name / f"{i}.png", c, seed=100 + i)
    for i in range(n_unlabelled):
        draw(root / "unlabelled" / f"part{i % 3}" / f"{i}.jpg", i % 2, (14, 14), "RGB", 200 + i)
    return [
        "data.dataset=folder",
        f"data.path={root / 'labelled'}",
        f"data.unlabelled_path={root / 'unlabelled'}",
        f"data.test_path={root / 'test'}",
        "data.labels_per_class=null",
    ]


def test_folder_with_unlabelled_images_mixed_sizes_and_modes(tmp_path):
    cfg, _ = config.load(None, make_folder(tmp_path))
    data = load_dataset(cfg.data)
    assert data.classes == ["bar", "post"] and data.image_shape == (1, 12, 12)  # the commonest size and mode
    assert data.conversion == {"size": [12, 12], "channels": 1}
    assert (data.y_train == -1).sum() == 30 and (data.y_train >= 0).sum() == 8 and len(data.x_test) == 20
    first_bar = data.x_train[0, 0]  # resized from 20x16 RGB, its bar still across the middle
    assert first_bar[5:7].mean() > first_bar[:3].mean() + 0.5


def test_without_a_test_folder_no_labels_are_taken(tmp_path):
    overrides = make_folder(tmp_path)[:-2] + ["data.labels_per_class=null"]
    data = load_dataset(config.load(None, overrides)[0].data)
    assert len(data.x_test) == 0 and (data.y_train >= 0).sum() == 8


def test_a_corrupt_image_is_named_or_skipped(tmp_path, capsys):
    overrides = make_folder(tmp_path)
    bad = tmp_path / "unlabelled" / "part0" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)  # a PNG signature, then nothing readable
    with pytest.raises(DataError, match="broken.png: not a readable image"):
        load_dataset(config.load(None, overrides)[0].data)
    data = load_dataset(config.load(None, overrides + ["data.skip_bad_images=true"])[0].data)
    assert (data.y_train == -1).sum() == 30 and "skipped 1 unreadable" in capsys.readouterr().out


def test_the_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    cfg, _ = config.load(None, make_folder(tmp_path))
    first = load_dataset(cfg.data)
    monkeypatch.setattr(image_files, "_decode", lambda job: pytest.fail("decoded again"))
    second = load_dataset(cfg.data)
    assert np.array_equal(first.x_train, second.x_train)
    (tmp_path / "unlabelled" / "part0" / "0.jpg").touch()  # a changed file: decoded afresh
    with pytest.raises(BaseException, match="decoded again"):
        load_dataset(cfg.data)


def test_labels_from_a_csv(tmp_path):
    for i in range(12):
        draw(tmp_path / "all" / f"{i}.png", i % 2, seed=i)
    (tmp_path / "labels.csv").write_text("file,label\n0.png,bar\n1.png,post\n2.png,bar\n3.png,post\n")
    overrides = ["data.dataset=folder", f"data.path={tmp_path / 'all'}", f"data.labels_csv={tmp_path / 'labels.csv'}"]
    data = load_dataset(config.load(None, overrides + ["data.labels_per_class=null"])[0].data)
    assert data.classes == ["bar", "post"] and (data.y_train >= 0).sum() == 4 and (data.y_train == -1).sum() == 8
    (tmp_path / "labels.csv").write_text("file,label\n0.png,bar\nmissing.png,post\n")
    with pytest.raises(DataError, match="line 3: no such image"):
        load_dataset(config.load(None, overrides)[0].data)
    draw(tmp_path / "elsewhere.png", 0)
    (tmp_path / "labels.csv").write_text("0.png,bar\n1.png,post\n../elsewhere.png,bar\n")
    with pytest.raises(DataError, match="elsewhere.png is not an image file under"):
        load_dataset(config.load(None, overrides)[0].data)


@pytest.mark.parametrize(
    "mistake, message",
    [("empty_unlabelled", "no images in the unlabelled folder"), ("empty_class", "a class folder with no images")],
)
def test_folder_mistakes_are_one_line(tmp_path, capsys, mistake, message):
    overrides = make_folder(tmp_path, n_unlabelled=0 if mistake == "empty_unlabelled" else 4)
    (tmp_path / "unlabelled").mkdir(exist_ok=True)
    if mistake == "empty_class":
        (tmp_path / "labelled" / "zebra").mkdir()
    code = main(
        ["train", "--no-progress", "--out-dir", str(tmp_path / "runs"), *sum((["--set", o] for o in overrides), [])]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err


def test_npz_rows_labelled_minus_one_are_unlabelled(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (50, 6, 6), dtype=np.uint8)
    y = np.r_[np.repeat([0, 1], 5), -np.ones(40, int)]
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    data = load_npz(tmp_path / "d.npz")
    assert (data.y_train == -1).sum() == 40 and len(data.x_test) == 0
    np.savez(tmp_path / "bad.npz", x_train=x, y_train=np.r_[y[:-1], -2])
    with pytest.raises(DataError, match=r"0..1 or -1 \(unlabelled\); found -2"):
        load_npz(tmp_path / "bad.npz")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A short ssl run on a folder data set, and its folder of images."""
    root = tmp_path_factory.mktemp("own")
    overrides = make_folder(root, n_labelled=6, n_unlabelled=60)
    sets = [
        x
        for o in overrides
        + [
            "model.d_hidden=[64,32]",
            "model.g_hidden=[64]",
            "train.batch_size=16",
            "train.epochs=3",
            "train.iters_per_epoch=30",
            "train.score_samples=0",
        ]
        for x in ("--set", o)
    ]
    assert main(["train", "--no-progress", "--out-dir", str(root / "runs"), *sets]) == 0
    return root / "runs" / "000-default", root


def test_predict_writes_class_names_probabilities_and_p_real(trained, tmp_path, capsys):
    run, root = trained
    np.savez(tmp_path / "new.npz", x=np.stack([np.asarray(Image.open(root / "test" / "bar" / "0.png"))] * 3))
    out = tmp_path / "p.csv"
    inputs = [str(root / "test" / "post" / "1.png"), str(root / "test" / "bar"), str(tmp_path / "new.npz")]
    assert main(["predict", str(run), *inputs, "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["file", "predicted", "p_bar", "p_post", "p_real"]
    assert len(rows) == 1 + 10 + 3 and rows[-1]["file"].endswith("new.npz[2]")
    assert all(abs(float(r["p_bar"]) + float(r["p_post"]) - 1) < 1e-4 and 0 <= float(r["p_real"]) <= 1 for r in rows)
    assert "predictions for 14 images" in capsys.readouterr().out


def test_load_predicts_paths_pil_images_and_arrays_of_another_size(trained, capsys):
    run, root = trained
    model = ganlearn.load(run)
    files = [root / "test" / name / f"{i}.png" for name in ("bar", "post") for i in range(10)]
    truth = np.array(["bar"] * 10 + ["post"] * 10)
    assert list(model.classes_) == ["bar", "post"]
    from_paths = model.predict([str(f) for f in files])
    assert (from_paths == truth).mean() >= 0.8  # the run learned the bars
    pictures = [Image.open(f).convert("RGB").resize((24, 24)) for f in files]
    assert np.array_equal(model.predict(pictures), from_paths)  # converted as training converted its files
    big = np.stack([np.asarray(p) for p in pictures])  # (20, 24, 24, 3) uint8
    proba = model.predict_proba(big)
    assert proba.shape == (20, 2) and (proba.argmax(1) == (truth == "post")).mean() >= 0.8
    assert "converting images of shape (3, 24, 24) to the run's (1, 12, 12)" in capsys.readouterr().out


def test_an_exported_model_predicts_the_same_and_names_a_foreign_version(trained, tmp_path):
    run, root = trained
    assert main(["export", str(run), "-o", str(tmp_path / "m.safetensors")]) == 0
    folder = str(root / "test" / "post")
    assert np.allclose(
        ganlearn.load(tmp_path / "m.safetensors").predict_proba(folder),
        ganlearn.load(run).predict_proba(folder),
        atol=1e-6,
    )
    tensors = load_file(str(tmp_path / "m.safetensors"))
    from safetensors import safe_open

    with safe_open(str(tmp_path / "m.safetensors"), framework="pt") as f:
        metadata = f.metadata()
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata={**metadata, "ganlearn_version": "9.1.0"})
    with pytest.raises(CheckpointError, match="exported by ganlearn 9.1.0; this is ganlearn"):
        ganlearn.load(tmp_path / "old.safetensors")
    assert json.loads(metadata["conversion"]) == {"size": [12, 12], "channels": 1}


def test_images_ssl_trains_resumes_and_predicts(tmp_path):
    """The starting config for a user's images, small: 16x16 images, a narrow pair, a few iterations."""
    overrides = make_folder(tmp_path)[:-1]  # images_ssl takes every label by itself
    small = ["data.image_size=16", "model.width=8", "train.iters_per_epoch=4", "train.batch_size=8"]
    args = ["train", "-c", "images_ssl", "--no-progress", "--out-dir", str(tmp_path / "runs")]
    sets = [x for o in overrides + small for x in ("--set", o)]
    assert main([*args, "--epochs", "1", *sets]) == 0
    run = tmp_path / "runs" / "000-images_ssl"
    assert main(["train", "--resume", str(run), "--epochs", "2", "--no-progress"]) == 0
    model = ganlearn.load(run)
    assert model.image_shape == (1, 16, 16) and model.predict(str(tmp_path / "test")).shape == (20,)


def test_onnx_export_gives_the_same_probabilities_in_onnxruntime(trained, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    run, root = trained
    assert main(["export", str(run), "--format", "onnx", "-o", str(tmp_path / "m.onnx")]) == 0
    model = ganlearn.load(run)
    images, _ = model.images(str(root / "test"))  # converted as the run's images were
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    probabilities, p_real = session.run(None, {"images": images.numpy()})
    assert np.abs(probabilities - model.predict_proba(str(root / "test"))).max() < 1e-4
    assert np.abs(p_real - model.p_real(str(root / "test"))).max() < 1e-4
    assert json.loads(session.get_modelmeta().custom_metadata_map["classes"]) == ["bar", "post"]


def test_sixteen_bit_grey_and_rotated_photos_are_read_as_they_look(tmp_path):
    from ganlearn.data.images import Conversion

    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(deep)  # half of the 16-bit range
    assert Image.open(deep).mode.startswith("I")
    assert abs(int(Conversion((8, 8), 1).apply(Image.open(deep)).mean()) - 127) <= 1  # not clipped to 255
    wide = Image.new("L", (20, 10), 0)
    wide.paste(255, (0, 0, 10, 10))  # the left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    wide.save(tmp_path / "photo.jpg", exif=exif)
    upright = Conversion((20, 10), 1).apply(Image.open(tmp_path / "photo.jpg"))  # (H, W, C): 20 high, 10 wide
    assert upright[:10].mean() > 200 and upright[10:].mean() < 50  # the white half on top, as a viewer shows it
