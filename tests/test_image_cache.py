"""The cache of decoded image files: runs over the same folders at once both cache safely, a run killed
while writing leaves nothing that reads as a cache, the cache keeps its size bound, and `ganlearn cache`
shows and clears it."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

from ganlearn.cli import main
from ganlearn.data import cache, load_image_folder
from ganlearn.data import images as image_files


def folder_of_pictures(root: Path, n=40, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    for i in range(n):
        (root / str(i % 2)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(root / str(i % 2) / f"{i}.png")
    return root


def loader(folder: Path, write: str) -> list[str]:
    """A Python process that loads `folder` (the cache under $XDG_CACHE_HOME), writing each cache file
    `f` by the statement `write` (`savez(f, **arrays)` writes it)."""
    code = f"""
        import os, sys, time
        import numpy as np
        from ganlearn.data import load_image_folder
        savez = np.savez
        def savez_as_told(f, **arrays):
            {write}
        np.savez = savez_as_told
        data = load_image_folder({str(folder)!r})
        print("loaded", len(data.x_train))
    """
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_two_runs_over_the_same_folder_at_once_both_cache_it(tmp_path):
    folder = folder_of_pictures(tmp_path / "pictures")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    runs = [
        subprocess.Popen(
            loader(folder, "savez(f, **arrays); time.sleep(1.5)"), env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]  # both write at once, each lingering 1.5 s between writing and renaming
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert all("loaded 40" in out and "could not cache" not in out for out in outputs), outputs
    written = list((tmp_path / "cache" / "ganlearn" / "images").iterdir())
    assert len(written) == 1 and written[0].suffix == ".npz"


def test_a_run_killed_while_writing_leaves_no_cache_that_is_read(tmp_path, monkeypatch):
    folder = folder_of_pictures(tmp_path / "pictures")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    half_then_die = "f.write(b'PK\\x03\\x04' + bytes(100)); f.flush(); os.kill(os.getpid(), 9)"
    killed = subprocess.run(loader(folder, half_then_die), env=env, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL
    left = list((tmp_path / "cache" / "ganlearn" / "images").iterdir())
    assert [p.suffix for p in left] == [".tmp"]  # its own temporary file, never a cache file
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = load_image_folder(folder)  # decodes afresh
    monkeypatch.setattr(image_files, "_decode", lambda job: (_ for _ in ()).throw(AssertionError("decoded again")))
    assert np.array_equal(load_image_folder(folder).x_train, first.x_train)  # now from the cache


def test_a_damaged_cache_file_is_decoded_afresh_and_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = folder_of_pictures(tmp_path / "pictures")
    first = load_image_folder(folder)
    (entry,) = cache.entries()
    entry.write_bytes(entry.read_bytes()[:200])  # truncated, as a full disk might leave it
    assert np.array_equal(load_image_folder(folder).x_train, first.x_train)
    files = image_files.find_images(folder)
    assert cache.read(cache.path_of(files, (image_files.Conversion((16, 16), 1), 89_478_485)), len(files))


def test_the_cache_keeps_its_bound_evicting_the_least_recently_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folders = [folder_of_pictures(tmp_path / f"pictures{i}", seed=i) for i in range(3)]
    load_image_folder(folders[0])
    entry_size = cache.entries()[0].stat().st_size
    monkeypatch.setenv("GANLEARN_CACHE_MAX_GB", str(2.5 * entry_size / 1e9))  # room for two
    load_image_folder(folders[1])
    os.utime(cache.entries()[0], (1, 1))
    os.utime(cache.entries()[1], (2, 2))
    load_image_folder(folders[0])  # read from the cache: now the most recently used
    load_image_folder(folders[2])  # a third entry: the least recently used (folders[1]'s) goes
    kept = {p.name for p in cache.entries()}
    assert len(kept) == 2 and sum(p.stat().st_size for p in cache.entries()) <= 2.5 * entry_size
    files0 = image_files.find_images(folders[0])
    key = (image_files.Conversion((16, 16), 1), image_files.MAX_PIXELS)
    assert cache.path_of(files0, key).name in kept


def test_the_cache_command_shows_and_clears_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    load_image_folder(folder_of_pictures(tmp_path / "pictures"))
    (tmp_path / "cache" / "ganlearn" / "images" / "x.tmp").write_bytes(b"left by a killed run")
    capsys.readouterr()
    assert main(["cache"]) == 0
    shown = capsys.readouterr().out
    assert str(tmp_path / "cache" / "ganlearn" / "images") in shown and "1 entries" in shown
    assert main(["cache", "--clear"]) == 0
    assert "removed 2 files" in capsys.readouterr().out
    assert not list((tmp_path / "cache" / "ganlearn" / "images").iterdir())


def test_runs_evicting_at_once_near_the_bound_all_finish(tmp_path):
    folders = [folder_of_pictures(tmp_path / f"pictures{i}", seed=i) for i in range(4)]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "GANLEARN_CACHE_MAX_GB": "0.00002"}
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"from ganlearn.data import load_image_folder\nfor _ in range(5): load_image_folder({str(f)!r})",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in folders
    ]  # each entry is about 11 kB: room for about two, so each run's write evicts another's
    results = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0] * 4, [err for _, err in results]
    assert sum(p.stat().st_size for p in cache.entries()) <= 20_000 or len(cache.entries()) <= 2


def test_a_cache_bound_that_is_not_a_size_is_named_and_the_default_kept(tmp_path, monkeypatch, capsys):
    for text in ("inf", "-1", "abc"):
        monkeypatch.setenv("GANLEARN_CACHE_MAX_GB", text)
        assert cache.max_bytes() == 10_000_000_000 and repr(text) in capsys.readouterr().out
    monkeypatch.setenv("GANLEARN_CACHE_MAX_GB", "0")  # no cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    load_image_folder(folder_of_pictures(tmp_path / "pictures"))
    assert cache.entries() == [] and "not caching" not in capsys.readouterr().out
