"""The cache of decoded image files: one .npz per (files, conversion), under ~/.cache/ganlearn/images
(or $XDG_CACHE_HOME/ganlearn/images), so a second run over the same files starts in seconds.

A file's key holds the conversion and each file's path, size and modification time: a changed file is
decoded afresh. Each writer writes its own temporary file and renames it into place, so runs over the
same folders at once are safe and a run killed while writing leaves nothing that reads as a cache.
The cache holds at most $GANLEARN_CACHE_MAX_GB gigabytes (default 10): the least recently used go
first. `ganlearn cache` shows it, `ganlearn cache --clear` empties it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

VERSION = 2  # of the layout below: a cache of another layout is never read
STALE_SECONDS = 24 * 3600  # a temporary file this old belongs to a run that died while writing it


def folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ganlearn" / "images"


def max_bytes() -> int:
    """The bound on the cache's size: $GANLEARN_CACHE_MAX_GB (default 10), in bytes."""
    try:
        return int(float(os.environ.get("GANLEARN_CACHE_MAX_GB", "10")) * 1e9)
    except ValueError:
        print("GANLEARN_CACHE_MAX_GB is not a number; the image cache keeps its default bound of 10 GB")
        return int(10e9)


def path_of(files: list[Path], key) -> Path:
    digest = hashlib.sha256(f"{VERSION}\0{key!r}\n".encode())
    for f in files:
        stat = os.stat(f)
        digest.update(f"{os.path.abspath(f)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return folder() / f"{digest.hexdigest()[:32]}.npz"


def read(files: list[Path], key) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """(images, kept, reasons the others were skipped) of these files under `key`, or None where the
    cache has no whole, consistent entry (a damaged one is decoded afresh and replaced)."""
    path = path_of(files, key)
    try:
        with np.load(path, allow_pickle=False) as f:
            images, kept, reasons = f["images"], f["kept"], [str(r) for r in f["reasons"]]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # none, or not whole
        return None
    if kept.shape != (len(files),) or len(images) != kept.sum() or len(reasons) != (~kept).sum():
        return None
    os.utime(path)  # recently used: evicted last
    return images, kept, reasons


def write(files: list[Path], key, images: np.ndarray, kept: np.ndarray, reasons: list[str]) -> None:
    """Cache the decoded files: written to a temporary file of this writer's own, renamed into place,
    then older entries evicted to keep the bound. A full disk or a read-only home costs the next run
    the decoding, nothing more."""
    path, bound = path_of(files, key), max_bytes()
    if images.nbytes > bound:
        print(f"not caching {images.nbytes / 1e9:.1f} GB of decoded images: over $GANLEARN_CACHE_MAX_GB")
        return
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, images=images, kept=kept, reasons=np.array(reasons, dtype=str))
        os.replace(tmp, path)
    except OSError as e:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        print(f"could not cache the decoded images in {path.parent} ({e.strerror or e}); the next run decodes again")
        return
    evict(bound, keep=path)


def entries() -> list[Path]:
    return sorted(folder().glob("*.npz")) if folder().is_dir() else []


def evict(bound: int, keep: Path | None = None) -> None:
    """Remove the least recently used entries until the cache holds at most `bound` bytes (never
    `keep`), and temporary files of writers that died."""
    now = time.time()
    for tmp in folder().glob("*.tmp"):
        _remove_if(tmp, lambda stat: now - stat.st_mtime > STALE_SECONDS)
    sized = [(p, p.stat()) for p in entries() if p.exists()]
    total = sum(stat.st_size for _, stat in sized)
    for p, stat in sorted(sized, key=lambda item: item[1].st_mtime):
        if total <= bound:
            break
        if p != keep and _remove_if(p, lambda _: True):
            total -= stat.st_size


def _remove_if(path: Path, condition) -> bool:
    try:
        if condition(path.stat()):
            path.unlink()
            return True
    except OSError:  # another run removed or replaced it meanwhile
        pass
    return False


def summary() -> str:
    """What `ganlearn cache` prints: where the cache is, its entries and size, its bound."""
    sizes = [p.stat().st_size for p in entries()]
    return (
        f"image cache: {folder()}\n{len(sizes)} entries, {sum(sizes) / 1e6:.1f} MB of at most "
        f"{max_bytes() / 1e9:g} GB ($GANLEARN_CACHE_MAX_GB); `ganlearn cache --clear` empties it"
    )


def clear() -> tuple[int, int]:
    """Remove every entry and temporary file; (files removed, bytes freed)."""
    removed = freed = 0
    for p in [*entries(), *(folder().glob("*.tmp") if folder().is_dir() else [])]:
        try:
            size = p.stat().st_size
            p.unlink()
        except OSError:
            continue
        removed, freed = removed + 1, freed + size
    return removed, freed
