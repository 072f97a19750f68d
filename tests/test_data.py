import numpy as np
import pytest
from PIL import Image

from ganlearn.data import (
    as_images,
    find_mnist_folder,
    labelled_split,
    load_digits,
    load_image_folder,
    load_mnist,
    load_npz,
    make_dataset,
)
from ganlearn.errors import DataError


def test_labelled_split_is_balanced_seeded_and_disjoint():
    y = np.repeat(np.arange(10), 50)
    a = labelled_split(y, 10, labels_per_class=7, val_per_class=3, seed=4)
    assert np.array_equal(np.bincount(y[a.labelled]), np.full(10, 7))
    assert np.array_equal(np.bincount(y[a.val]), np.full(10, 3))
    parts = np.concatenate([a.labelled, a.unlabelled, a.val])
    assert len(parts) == len(y) and len(np.unique(parts)) == len(y)  # a partition of the training set
    b = labelled_split(y, 10, labels_per_class=7, val_per_class=3, seed=4)
    c = labelled_split(y, 10, labels_per_class=7, val_per_class=3, seed=5)
    assert np.array_equal(a.labelled, b.labelled) and not np.array_equal(a.labelled, c.labelled)


def test_improved_gan_split_takes_each_class_s_first_examples_in_the_reference_s_permutation():
    y = np.random.default_rng(0).integers(0, 10, 600)
    split = labelled_split(y, 10, labels_per_class=4, val_per_class=2, seed=1, method="improved-gan")
    order = np.random.RandomState(1).permutation(600)  # the reference: data_rng.permutation(trainx.shape[0])
    first = [order[y[order] == c] for c in range(10)]
    assert np.array_equal(split.labelled, np.sort(np.concatenate([f[:4] for f in first])))
    assert np.array_equal(split.val, np.sort(np.concatenate([f[4:6] for f in first])))
    assert len(np.concatenate([split.labelled, split.unlabelled, split.val])) == 600
    assert not np.array_equal(
        split.labelled, labelled_split(y, 10, labels_per_class=4, val_per_class=2, seed=1).labelled
    )


def test_labelled_split_by_rate_is_per_class():
    y = np.concatenate([np.zeros(100, int), np.ones(50, int)])
    split = labelled_split(y, 2, label_rate=0.2, seed=0)
    assert np.array_equal(np.bincount(y[split.labelled]), [20, 10])


def test_too_many_labels_per_class_is_an_error():
    y = np.array([0, 0, 0, 1, 1])
    with pytest.raises(DataError, match="class 1.*only 2"):
        labelled_split(y, 2, labels_per_class=3)


def test_digits_test_split_does_not_leak_into_training():
    from sklearn.datasets import load_digits as sk_digits

    data = load_digits()
    assert len(data.x_train) + len(data.x_test) == 1797

    def rows(x):
        return sorted(r.tobytes() for r in (x.reshape(len(x), -1) * 16).round().astype(np.uint8))

    assert rows(np.concatenate([data.x_train, data.x_test])) == rows(sk_digits().images / 16.0)
    assert data.x_train.shape[1:] == (1, 8, 8) and data.x_train.max() <= 1


def test_mnist_and_fashion_load_from_the_shared_folder(data_dir):
    for name in ("mnist", "fashion"):
        data = load_mnist(name, data_dir, download=False)
        assert data.x_train.shape == (60000, 1, 28, 28) and data.x_test.shape == (10000, 1, 28, 28)
        assert data.x_train.dtype == np.float32 and 0 <= data.x_train.min() and data.x_train.max() <= 1
        assert np.array_equal(np.unique(data.y_train), np.arange(10)) and data.n_classes == 10


def test_environment_variable_is_searched(data_dir, monkeypatch):
    monkeypatch.setenv("GANLEARN_DATA", str(data_dir))
    assert find_mnist_folder("mnist", None, download=False) == data_dir / "mnist"


def test_missing_data_dir_is_an_error_without_download(tmp_path):
    with pytest.raises(DataError, match="data directory does not exist"):
        load_mnist("mnist", tmp_path / "nowhere")
    with pytest.raises(DataError, match="not found.*downloading is off"):
        load_mnist("mnist", tmp_path, download=False)


def test_array_checks():
    x = np.zeros((4, 8, 8), dtype=np.uint8)
    with pytest.raises(DataError, match="4 images but 3 labels"):
        make_dataset("t", x, [0, 1, 0], x, [0, 1, 0, 1])
    with pytest.raises(DataError, match=r"0\.\.1 or -1 \(unlabelled\); found 5"):
        make_dataset("t", x, [0, 1, 0, 5], x, [0, 1, 0, 1], classes=["a", "b"])
    with pytest.raises(DataError, match=r"must lie in \[0, 1\]"):
        as_images(np.full((2, 4), 3.0))
    with pytest.raises(DataError, match="NaN"):
        as_images(np.full((2, 4), np.nan))
    assert as_images(np.zeros((2, 5, 5, 3), np.uint8)).shape == (2, 3, 5, 5)  # channels-last


def test_npz(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (50, 6, 6), dtype=np.uint8), np.repeat(np.arange(5), 10)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    data = load_npz(tmp_path / "d.npz")
    assert len(data.x_train) == 50 and len(data.x_test) == 0 and data.n_classes == 5  # no test set: none taken
    np.savez(tmp_path / "bad.npz", x_train=x, y_train=y[:-1])
    with pytest.raises(DataError, match="50 training images but 49 labels"):
        load_npz(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(tmp_path / "junk.npz")


def write_png(path, value, size=(6, 6), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)


def test_image_folder(tmp_path):
    for split, n in (("train", 4), ("test", 2)):
        for cls, value in (("cat", 10), ("dog", 200)):
            for i in range(n):
                write_png(tmp_path / split / cls / f"{i}.png", value)
    data = load_image_folder(tmp_path)
    assert data.classes == ["cat", "dog"] and data.x_train.shape == (8, 1, 6, 6) and len(data.x_test) == 4
    assert data.x_train[data.y_train == 1].min() == pytest.approx(200 / 255)


def test_image_folder_errors(tmp_path):
    write_png(tmp_path / "a" / "0.png", 1)
    write_png(tmp_path / "a" / "1.png", 1, size=(7, 6))
    assert load_image_folder(tmp_path).x_train.shape == (2, 1, 6, 6)  # another size is converted
    (tmp_path / "a" / "1.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="not a readable image"):
        load_image_folder(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "missing")
