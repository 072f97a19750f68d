"""Shared fixtures. Tests read data from $GANLEARN_DATA or ../shared/data and never download."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("GANLEARN_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Decoded image files are cached under $XDG_CACHE_HOME: a test's own, not the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST not found under {DATA_DIR}")
    return DATA_DIR


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to download fails the test."""
    import urllib.request

    def refuse(*args, **kwargs):
        raise AssertionError("tests must not download")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory) -> Path:
    """A few iterations of digits_ssl: a trained run to predict with and to score new images against."""
    from ganlearn.cli import main

    root = tmp_path_factory.mktemp("digits_run")
    args = ["train", "-c", "digits_ssl", "--no-progress", "--epochs", "1", "--out-dir", str(root)]
    assert main([*args, "--set", "train.iters_per_epoch=2", "--set", "train.score_samples=0"]) == 0
    return root / "000-digits_ssl"
