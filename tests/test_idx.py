import gzip
import struct
import time

import numpy as np
import pytest

from ganlearn.data.idx import read_idx, write_idx
from ganlearn.errors import DataError


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip(tmp_path, name, dtype):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, array)


def header(code, dims):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


MALFORMED = {
    "empty": (b"", "too short"),
    "bad magic": (b"\x01\x02\x08\x01" + b"\x00" * 8, "not an IDX file"),
    "unknown type code": (bytes([0, 0, 0x07, 1]) + b"\x00\x00\x00\x01" + b"\x00", "not an IDX file"),
    "zero dimensions": (bytes([0, 0, 0x08, 0]), "not an IDX file"),
    "truncated header": (bytes([0, 0, 0x08, 3]) + b"\x00\x00", "truncated IDX header"),
    "truncated data": (header(0x08, (10, 2)) + b"\x00" * 15, "truncated IDX file"),
    "trailing bytes": (header(0x08, (2,)) + b"\x00" * 3, "trailing bytes"),
}


@pytest.mark.parametrize("case", MALFORMED)
@pytest.mark.parametrize("compress", [False, True])
def test_malformed_files_are_rejected_with_a_clear_message(tmp_path, case, compress):
    payload, message = MALFORMED[case]
    path = tmp_path / ("f.gz" if compress else "f")
    path.write_bytes(gzip.compress(payload) if compress else payload)
    with pytest.raises(DataError, match=message):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(header(0x08, (100,)) + bytes(100))
    path = tmp_path / "corrupt.gz"
    path.write_bytes(good[:12] + b"garbage!" * 4 + good[44:])
    with pytest.raises(DataError, match="corrupt gzip"):
        read_idx(path)
    path.write_bytes(good[: len(good) // 2])  # cut short
    with pytest.raises(DataError, match="corrupt gzip|truncated"):
        read_idx(path)


def test_header_claiming_billions_of_images_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip.compress(header(0x08, (3_000_000_000, 28, 28)) + bytes(100)))
    start = time.perf_counter()
    with pytest.raises(DataError, match="refusing"):
        read_idx(path)
    assert time.perf_counter() - start < 1.0


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_idx(tmp_path / "nope.gz")
