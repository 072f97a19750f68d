"""The IDX file format of MNIST and Fashion-MNIST: a big-endian header, then the raw array.

Header: two zero bytes, a type code, the number of dimensions, then one big-endian uint32 per
dimension. Files may be gzip-compressed. Every malformed file is a DataError naming the problem.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_BYTES = 1 << 33  # 8 GiB: a header claiming more is refused before anything is allocated
CHUNK = 1 << 24  # read the payload in pieces so a lying header cannot make us allocate its claim


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _read_exact(f, nbytes: int, path: Path) -> bytes:
    chunks, remaining = [], nbytes
    while remaining > 0:
        chunk = f.read(min(CHUNK, remaining))
        if not chunk:
            raise DataError(
                f"{path}: truncated IDX file: header promises {nbytes} bytes of data, file has {nbytes - remaining}"
            )
        chunks.append(chunk)
        remaining -= len(chunk)
    if f.read(1):
        raise DataError(f"{path}: IDX file has trailing bytes after the {nbytes} bytes its header promises")
    return b"".join(chunks)


def _parse(f, path: Path) -> np.ndarray:
    magic = f.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: too short to be an IDX file")
    zero, code, ndim = magic[:2], magic[2], magic[3]
    if zero != b"\x00\x00" or code not in DTYPES or not 1 <= ndim <= 8:
        raise DataError(f"{path}: not an IDX file (magic bytes {magic.hex()})")
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw_dims)
    dtype = np.dtype(DTYPES[code])
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    # an empty dimension does not excuse absurd others (numpy cannot even shape them)
    if int(np.prod([max(d, 1) for d in shape], dtype=object)) * dtype.itemsize > MAX_BYTES:
        raise DataError(f"{path}: IDX header claims shape {shape} ({nbytes / 2**30:.1f} GiB); refusing to load")
    data = np.frombuffer(_read_exact(f, nbytes, path), dtype=dtype).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw or .gz) into a native-endian numpy array, validating its header."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    try:
        if _is_gzip(path):
            with gzip.open(path, "rb") as f:
                return _parse(f, path)
        with path.open("rb") as f:
            return _parse(f, path)
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: corrupt gzip data ({e})") from None


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write an array as IDX (gzip-compressed when the name ends in .gz)."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(DTYPES[code]).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)
