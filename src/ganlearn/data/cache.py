"""The cache of decoded image files: one .npz per (files, conversion), under ~/.cache/ganlearn/images
(or $XDG_CACHE_HOME/ganlearn/images), so a second run over the same files starts in seconds.

An entry's name hashes the conversion and each file's path, size and modification time: a changed
file is decoded afresh. Each writer writes a temporary file of its own and renames it into place,
so runs over the same folders at once are safe, and a run killed while writing leaves nothing that
is read as an entry. The cache holds at most $GANLEARN_CACHE_MAX_GB gigabytes (default 10; 0 turns
it off), the least recently used entries going first. `ganlearn cache` shows it, `--clear` empties it.
Another run may remove or replace any file here at any moment: every step allows for that.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

VERSION = 2  # of the entries' layout: an entry of another layout is never read
DEFAULT_GB = 10.0
STALE_SECONDS = 24 * 3600  # a temporary file this old belongs to a run that died while writing it


def folder() -> Path:
    """Where the entries are: $XDG_CACHE_HOME/ganlearn/images, where that is an absolute path (as the
    XDG specification asks), else ~/.cache/ganlearn/images."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "ganlearn" / "images"


def max_bytes() -> int:
    """The bound on the cache's size: $GANLEARN_CACHE_MAX_GB gigabytes (default 10; 0: no cache)."""
    text = os.environ.get("GANLEARN_CACHE_MAX_GB", "").strip()
    try:
        gb = float(text) if text else DEFAULT_GB
        if not 0 <= gb < math.inf:
            raise ValueError
    except ValueError:
        print(f"GANLEARN_CACHE_MAX_GB={text!r} is not a size in GB (>= 0); the image cache keeps {DEFAULT_GB:g} GB")
        gb = DEFAULT_GB
    return int(gb * 1e9)


def path_of(files: list[Path], key) -> Path:
    """The entry of these files under `key` (the conversion and what else changes the decoding)."""
    digest = hashlib.sha256(f"{VERSION}\0{key!r}\n".encode())
    for f in files:
        try:
            stat = os.stat(f)
            size, mtime = stat.st_size, stat.st_mtime_ns
        except OSError:  # a dangling link: named when it is decoded
            size = mtime = -1
        digest.update(f"{os.path.abspath(f)}\0{size}\0{mtime}\n".encode())
    return folder() / f"{digest.hexdigest()[:32]}.npz"


def read(path: Path, n_files: int) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """(images, kept, reasons the others were skipped) of the entry `path` (path_of) for `n_files`
    files, or None where the cache holds no whole, consistent entry (a damaged one is decoded afresh
    and replaced)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            images, kept, reasons = f["images"], f["kept"], [str(r) for r in f["reasons"]]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # none, or not whole
        return None
    if kept.shape != (n_files,) or len(images) != kept.sum() or len(reasons) != (~kept).sum():
        return None
    try:
        os.utime(path)  # recently used: evicted last
    except OSError:  # evicted by another run since: what was read stands
        pass
    return images, kept, reasons


def write(path: Path, images: np.ndarray, kept: np.ndarray, reasons: list[str]) -> None:
    """Cache decoded files as the entry `path` (path_of): written to a temporary file of this writer's
    own, renamed into place, then older entries evicted to keep the bound. A full disk or a read-only
    home costs the next run the decoding, nothing more."""
    bound = max_bytes()
    if images.nbytes > bound:
        if bound:
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


def _sizes(pattern: str) -> list[tuple[Path, os.stat_result]]:
    """(path, stat) of the cache's files matching `pattern`, those that still exist."""
    found = []
    for p in sorted(folder().glob(pattern)) if folder().is_dir() else []:
        try:
            found.append((p, p.stat()))
        except OSError:
            continue
    return found


def entries() -> list[Path]:
    """The cache's entries now."""
    return [p for p, _ in _sizes("*.npz")]


def evict(bound: int, keep: Path | None = None) -> None:
    """Remove the least recently used entries until the cache holds at most `bound` bytes (never
    `keep`), and temporary files of writers that died."""
    now = time.time()
    for tmp, stat in _sizes("*.tmp"):
        if now - stat.st_mtime > STALE_SECONDS:
            tmp.unlink(missing_ok=True)
    entries = _sizes("*.npz")
    total = sum(stat.st_size for _, stat in entries)
    for p, stat in sorted(entries, key=lambda entry: entry[1].st_mtime):
        if total <= bound:
            break
        if p != keep:
            p.unlink(missing_ok=True)
            total -= stat.st_size


def summary() -> str:
    """What `ganlearn cache` prints: where the cache is, its entries and size, its bound."""
    entries = _sizes("*.npz")
    return (
        f"image cache: {folder()}\n{len(entries)} entries, {sum(s.st_size for _, s in entries) / 1e6:.1f} MB of at "
        f"most {max_bytes() / 1e9:g} GB ($GANLEARN_CACHE_MAX_GB); `ganlearn cache --clear` empties it"
    )


def clear() -> tuple[int, int]:
    """Remove every entry and temporary file: (files removed, bytes freed)."""
    removed = freed = 0
    for p, stat in [*_sizes("*.npz"), *_sizes("*.tmp")]:
        try:
            p.unlink()
        except OSError:
            continue
        removed, freed = removed + 1, freed + stat.st_size
    return removed, freed
