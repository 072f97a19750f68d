"""Messy and hostile files in a user's folders: every file is converted, skipped and listed, or named
in one line with the reason (exit status 2); never a traceback. Labels CSVs as spreadsheets save them."""

import csv
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import ganlearn
from ganlearn import config
from ganlearn.cli import main
from ganlearn.data import load_dataset
from ganlearn.data.images import Conversion, open_image
from ganlearn.data.labels_csv import read_labels_csv
from ganlearn.errors import DataError


def bomb_png(path, width=20000, height=20000):
    """A 70-byte PNG whose header declares width x height 8-bit grey pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def float_tiff(path, values):
    Image.fromarray(np.asarray(values, np.float32), mode="F").save(path)


def picture(path, value=128, size=(8, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8)).save(path)


def class_folders(root, n=3):
    for c in ("a", "b"):
        for i in range(n):
            picture(root / c / f"{i}.png", 40 + 100 * (c == "b") + i)
    return ["data.dataset=folder", f"data.path={root}", "data.labels_per_class=null"]


def train_args(overrides, out_dir):
    return ["train", "--no-progress", "--out-dir", str(out_dir), *sum((["--set", o] for o in overrides), [])]


def test_a_decompression_bomb_is_refused_before_decoding_naming_the_limit(tmp_path, capsys):
    overrides = class_folders(tmp_path / "data")
    bomb_png(tmp_path / "data" / "a" / "bomb.png")
    assert main(train_args(overrides + ["train.batch_size=4", "train.epochs=1"], tmp_path / "runs")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bomb.png: it declares 400,000,000 pixels" in err
    assert "89,478,485" in err and "data.max_image_pixels" in err
    skip = overrides + ["data.skip_bad_images=true", "train.batch_size=4", "train.epochs=1", "train.iters_per_epoch=2"]
    assert main(train_args(skip + ["train.score_samples=0"], tmp_path / "runs")) == 0
    listed = list(csv.reader((tmp_path / "runs" / "000-default" / "skipped_images.csv").open()))
    assert listed[0] == ["file", "reason"] and listed[1][0].endswith("bomb.png") and "400,000,000" in listed[1][1]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, before ours refuses it
def test_a_bomb_within_twice_pillows_limit_is_named_with_its_size(tmp_path):
    bomb_png(tmp_path / "bomb.png", 10000, 10000)
    with pytest.raises(DataError, match="bomb.png: it declares 10000 x 10000 pixels, over the limit of 89,478,485"):
        with open_image(tmp_path / "bomb.png"):
            pass


def test_the_pixel_limit_can_be_raised_for_genuinely_large_pictures(tmp_path):
    overrides = class_folders(tmp_path)
    with pytest.raises(DataError, match="declares 8 x 8 pixels, over the limit of 63"):
        load_dataset(config.load(None, overrides + ["data.max_image_pixels=63"])[0].data)
    assert len(load_dataset(config.load(None, overrides + ["data.max_image_pixels=64"])[0].data).x_train) == 6


@pytest.mark.parametrize(
    "values, expected",
    [
        (np.full((4, 4), 0.5), 128),  # [0, 1]: scaled to 255 (not truncated to black)
        (np.full((4, 4), 200.0), 200),  # [0, 255]: as it is
    ],
)
def test_float_pictures_are_read_in_their_range(tmp_path, values, expected):
    float_tiff(tmp_path / "f.tif", values)
    with open_image(tmp_path / "f.tif") as image:
        assert Conversion((4, 4), 1).apply(image).mean() == expected


@pytest.mark.parametrize(
    "values, message",
    [
        (np.full((4, 4), np.nan), "not all finite"),
        (np.r_[np.zeros(15), np.inf].reshape(4, 4), "not all finite"),
        (np.full((4, 4), 300.0), r"span \[300, 300\], outside both \[0, 1\] and \[0, 255\]"),
        (np.full((4, 4), -1.0), "outside both"),
    ],
)
def test_float_pictures_that_are_not_finite_or_out_of_range_are_named(tmp_path, values, message):
    overrides = class_folders(tmp_path / "data")
    float_tiff(tmp_path / "data" / "a" / "odd.tif", values)
    with pytest.raises(DataError, match=f"odd.tif: .*{message}"):
        load_dataset(config.load(None, overrides)[0].data)
    data = load_dataset(config.load(None, overrides + ["data.skip_bad_images=true"])[0].data)
    assert len(data.x_train) == 6 and data.skipped[0][0].endswith("odd.tif")


@pytest.fixture
def run(digits_run):
    return digits_run


@pytest.fixture
def new_images(tmp_path):
    folder = tmp_path / "new"
    for i in range(3):
        picture(folder / f"{i}.png", 50 * i)
    bomb_png(folder / "bomb.png")
    float_tiff(folder / "nan.tif", np.full((8, 8), np.nan))
    (folder / "text.jpg").write_text("not a picture")
    return folder


@pytest.mark.parametrize("command", ["predict", "cluster", "anomaly"])
def test_new_images_are_named_or_skipped_and_listed(run, new_images, tmp_path, capsys, command):
    out = tmp_path / "out.csv"
    args = [command, str(run), str(new_images), "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bomb.png: it declares 400,000,000 pixels" in err and "--skip-bad" in err
    assert main([*args, "--skip-bad"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert sorted(r["file"].rsplit("/", 1)[1] for r in rows) == ["0.png", "1.png", "2.png"]
    skipped = {r["file"].rsplit("/", 1)[1]: r["reason"] for r in csv.DictReader((tmp_path / "out_skipped.csv").open())}
    assert set(skipped) == {"bomb.png", "nan.tif", "text.jpg"} and "not all finite" in skipped["nan.tif"]
    assert "skipped 3 unreadable" in capsys.readouterr().out


def test_the_python_api_names_the_file_or_skips_it(run, new_images):
    with pytest.raises(DataError, match="bomb.png: it declares"):
        ganlearn.load(run).predict([new_images])
    model = ganlearn.load(run, skip_bad=True)
    assert len(model.predict([new_images])) == 3 and len(model.skipped) == 3
    with pytest.raises(DataError, match="a picture given in memory: its values are not all finite"):
        ganlearn.load(run).predict([Image.fromarray(np.full((8, 8), np.nan, np.float32), mode="F")])


def write_csv(path, text: str, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    "text",
    [
        "\ufefffile,label\r\n0.png,cat\r\n1.png,dog\r\n",  # Excel's "CSV UTF-8": a byte-order mark, CRLF
        "file;label\n0.png;cat\n1.png;dog\n",  # ; where the decimal mark is a comma
        "file;label;;\n0.png;cat;;\n1.png;dog;;\n",  # empty trailing cells
        "0.png\tcat\n1.png\tdog\n",  # tabs
        '"0.png",cat\n"1.png","dog"\n0.png,cat\n',  # quoted names; a file listed twice with one label
    ],
)
def test_labels_csv_as_spreadsheets_save_it(tmp_path, text):
    for i in range(2):
        picture(tmp_path / "all" / f"{i}.png")
    labels = read_labels_csv(write_csv(tmp_path / "labels.csv", text), tmp_path / "all")
    assert {k.rsplit("/", 1)[1]: v for k, v in labels.items()} == {"0.png": "cat", "1.png": "dog"}


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "0.png,cat\n1.png,dog\n./0.png,dog\n",
            r"line 3: ./0.png is listed twice with different labels \('cat' on line 1",
        ),
        ("0.png,cat\n../outside.png,dog\n", "line 2: ../outside.png is not an image file under data.path"),
        ("0.png,cat\n/etc/hostname,dog\n", "line 2: /etc/hostname is not an image file under data.path"),
        ("0.png,café\n", "not UTF-8 text"),
    ],
)
def test_labels_csv_mistakes_are_named(tmp_path, text, message):
    for i in range(2):
        picture(tmp_path / "all" / f"{i}.png")
    picture(tmp_path / "outside.png")
    path = write_csv(tmp_path / "labels.csv", text, "latin-1" if "café" in text else "utf-8")
    with pytest.raises(DataError, match=message):
        read_labels_csv(path, tmp_path / "all")


def test_what_is_not_a_regular_picture_file_is_refused_without_hanging(run, tmp_path):
    """A named pipe called x.png (Pillow would wait for a writer for ever), an icon renamed .png (only
    the decoders of the picture suffixes run), a link to nowhere."""
    import os
    import subprocess
    import sys

    folder = tmp_path / "odd"
    picture(folder / "fine.png")
    os.mkfifo(folder / "pipe.png")
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(folder / "icon.png", format="ICO")
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")
    command = [sys.executable, "-m", "ganlearn.cli", "predict", str(run), str(folder), "--out", str(tmp_path / "p.csv")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "(and 2 more)" in result.stderr
    result = subprocess.run([*command, "--skip-bad"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    reasons = {r["file"].rsplit("/", 1)[1]: r["reason"] for r in csv.DictReader((tmp_path / "p_skipped.csv").open())}
    assert reasons["pipe.png"] == "not a regular file" and set(reasons) == {"pipe.png", "icon.png", "gone.png"}


def test_a_dangling_link_in_a_training_folder_is_named(tmp_path, capsys):
    overrides = class_folders(tmp_path / "data")
    (tmp_path / "data" / "a" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    assert main(train_args(overrides + ["train.batch_size=4"], tmp_path / "runs")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gone.png: not a readable image" in err


def test_a_damaged_npz_and_an_unreadable_csv_row_are_one_line(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", x_train=np.zeros((20, 8, 8), np.uint8))
    (tmp_path / "d.npz").write_bytes((tmp_path / "d.npz").read_bytes()[:300])
    assert (
        main(["train", "--no-progress", "--set", "data.dataset=npz", "--set", f"data.path={tmp_path / 'd.npz'}"]) == 2
    )
    assert "d.npz: not a readable .npz file" in capsys.readouterr().err
    picture(tmp_path / "all" / "0.png")
    write_csv(tmp_path / "labels.csv", "0.png,cat\n1.png," + "x" * 200_000 + "\n")
    with pytest.raises(DataError, match="line 2: not a readable CSV row"):
        read_labels_csv(tmp_path / "labels.csv", tmp_path / "all")


def seg_folder(root):
    for split in ("train", "test"):
        for i in range(2):
            picture(root / split / "images" / f"{i}.png", 200)
            label_map = np.zeros((8, 8), np.uint8)
            label_map[2:5, 2:5] = 1
            picture(root / split / "labels" / f"{i}.png")
            Image.fromarray(label_map).save(root / split / "labels" / f"{i}.png")
    float_tiff(root / "train" / "images" / "nan.tif", np.full((8, 8), np.nan))
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "train" / "labels" / "nan.png")
    return ["data.dataset=seg-folder", f"data.path={root}", "data.labels_per_class=null", "data.label_rate=0.5"] + [
        "train.mode=seg",
        "model.name=unet",
    ]


def test_segmentation_folders_refuse_or_skip_the_same_files(tmp_path):
    overrides = seg_folder(tmp_path)
    with pytest.raises(DataError, match="nan.tif: its values are not all finite"):
        load_dataset(config.load(None, overrides)[0].data)
    data = load_dataset(config.load(None, overrides + ["data.skip_bad_images=true"])[0].data)
    assert len(data.x_train) == 2 and data.skipped == [
        (str(tmp_path / "train" / "images" / "nan.tif"), data.skipped[0][1])
    ]


def test_pillows_own_limit_is_left_on_and_only_ever_raised(run, new_images):
    limit = Image.MAX_IMAGE_PIXELS
    ganlearn.load(run, skip_bad=True).predict([new_images])
    assert Image.MAX_IMAGE_PIXELS == limit  # the default limit: Pillow's, untouched
    ganlearn.load(run, skip_bad=True, max_image_pixels=limit + 1).predict([new_images])
    assert Image.MAX_IMAGE_PIXELS == limit + 1
    Image.MAX_IMAGE_PIXELS = limit


def test_errors_quote_another_librarys_message_in_one_line():
    from ganlearn.errors import first_line

    assert first_line(ValueError("first\nsecond")) == "first" and first_line(OSError()) == "OSError"
