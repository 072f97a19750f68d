"""Fuzzing the parsers of user input: each returns a result or raises its own clear error, never anything else."""

import gzip
import struct
import zlib

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ganlearn
from ganlearn import config
from ganlearn.data import load_dataset, load_image_folder
from ganlearn.data.idx import read_idx
from ganlearn.data.segmentation import load_seg_folder
from ganlearn.errors import ConfigError, DataError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _idx_header(code: int, dims: list[int]) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@FUZZ
@given(data=st.binary(max_size=300), compress=st.booleans())
def test_idx_reader_on_random_bytes(tmp_path, data, compress):
    path = tmp_path / "f.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    try:
        read_idx(path)
    except DataError:
        pass


@FUZZ
@given(
    code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]),
    dims=st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=9),
    payload=st.binary(max_size=200),
)
def test_idx_reader_on_plausible_headers(tmp_path, code, dims, payload):
    """Valid-looking headers with lying dimensions, including ones claiming billions of items."""
    path = tmp_path / "f.idx"
    path.write_bytes(_idx_header(code, dims) + payload)
    try:
        array = read_idx(path)
    except DataError:
        return
    assert list(array.shape) == dims


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)
known_keys = st.sampled_from(["data", "model", "train", "self_training", "cluster", "seg"])


@FUZZ
@given(
    raw=st.dictionaries(known_keys | st.text(max_size=8), yaml_values, max_size=3)
    | st.dictionaries(
        known_keys,
        st.dictionaries(
            st.sampled_from(
                [
                    "epochs",
                    "lr",
                    "mode",
                    "dataset",
                    "labels_per_class",
                    "label_rate",
                    "width",
                    "batch_size",
                    "name",
                    "adv_weight",
                    "semi_start",
                    "pseudo_label_threshold",
                    "latent_weight",
                    "threshold",
                    "beta2",
                    "canvas_size",
                    "d_hidden",
                    "bogus",
                ]
            ),
            yaml_values,
            max_size=4,
        ),
        max_size=3,
    )
)
def test_config_from_random_mappings(raw):
    try:
        config.from_dict(raw)
    except ConfigError:
        pass


@FUZZ
@given(text=st.text(max_size=200) | st.builds(lambda v: yaml.safe_dump(v), yaml_values))
def test_config_file_from_random_text(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    try:
        config.load(str(path), [])
    except ConfigError:
        pass


def _png_bytes(rng: np.random.Generator, shape) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


files = st.tuples(st.sampled_from(["png", "garbage", "truncated", "rgb", "other_size"]), st.integers(0, 2**16))


def _write_file(path, kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    content = {
        "png": lambda: _png_bytes(rng, (8, 8)),
        "rgb": lambda: _png_bytes(rng, (8, 8, 3)),
        "other_size": lambda: _png_bytes(rng, (6, 8)),
        "garbage": lambda: rng.bytes(40),
        "truncated": lambda: _png_bytes(rng, (8, 8))[:30],
    }[kind]()
    path.write_bytes(content)


@FUZZ
@given(layout=st.lists(st.tuples(st.sampled_from(["a", "b"]), files), min_size=0, max_size=6))
def test_image_folder_loader_on_random_files(tmp_path_factory, layout):
    root = tmp_path_factory.mktemp("folder")
    for i, (cls, (kind, seed)) in enumerate(layout):
        (root / cls).mkdir(exist_ok=True)
        _write_file(root / cls / f"{i}.png", kind, seed)
    try:
        data = load_image_folder(str(root))
    except DataError:
        return
    assert data.x_train.dtype == np.float32 and len(data.x_train) + len(data.x_test) == len(layout)


@FUZZ
@given(images=st.lists(files, min_size=1, max_size=3), labels=st.lists(files, min_size=0, max_size=3))
def test_seg_folder_loader_on_random_files(tmp_path_factory, images, labels):
    root = tmp_path_factory.mktemp("seg")
    for split in ("train", "test"):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        for i, (kind, seed) in enumerate(images):
            _write_file(root / split / "images" / f"{i}.png", kind, seed)
        for i, (kind, seed) in enumerate(labels):
            _write_file(root / split / "labels" / f"{i}.png", kind, seed)
    try:
        data = load_seg_folder(str(root))
    except DataError:
        return
    assert data.y_train.dtype == np.uint8 and data.y_train.shape == data.x_train.shape[:1] + data.x_train.shape[2:]


@pytest.mark.parametrize("dims", [[10**9, 28, 28], [2**32 - 1] * 4])
def test_huge_claims_are_refused_before_allocating(tmp_path, dims):
    path = tmp_path / "huge.idx"
    path.write_bytes(_idx_header(0x08, dims))
    with pytest.raises(DataError, match="refusing to load"):
        read_idx(path)


MODES_BY_FORMAT = {  # what each format can hold; a picture of another mode is saved as PNG
    "PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"),
    "JPEG": ("L", "RGB", "CMYK"),
    "BMP": ("1", "L", "P", "RGB"),
    "GIF": ("L", "P"),
    "TIFF": ("1", "L", "RGB", "RGBA", "CMYK", "I", "I;16", "F"),
    "WEBP": ("RGB", "RGBA"),
}


@st.composite
def picture_files(draw) -> bytes:
    """The bytes of a file a user's folder might hold: random bytes, or a picture of random size,
    mode, bit depth and format, maybe cut short, maybe with non-finite values, maybe a bomb's header."""
    import io

    from PIL import Image

    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.binary(max_size=400))
    fmt = draw(st.sampled_from(sorted(MODES_BY_FORMAT)))
    mode = draw(st.sampled_from(sorted({m for modes in MODES_BY_FORMAT.values() for m in modes})))
    width, height = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if mode == "F":
        values = rng.normal(0.5, draw(st.sampled_from([0.1, 1.0, 300.0])), (height, width)).astype(np.float32)
        values[0, 0] = draw(st.sampled_from([0.5, np.nan, np.inf]))
        image = Image.fromarray(values, mode="F")
    else:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    try:
        image.save(buf, format=fmt if mode in MODES_BY_FORMAT[fmt] else "PNG")
    except (OSError, ValueError, KeyError):  # this Pillow cannot write that mode in that format
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="PNG")
    data = buf.getvalue()
    if draw(st.integers(0, 9)) == 0 and data[:4] == b"\x89PNG":  # a header that declares a huge picture
        header = data[12:16] + struct.pack(">II", 30000, 30000) + data[24:29]  # IHDR's type and fields
        data = data[:16] + header[4:] + struct.pack(">I", zlib.crc32(header)) + data[33:]
    cut = draw(st.sampled_from([None, None, 0.5, 0.9]))
    return data if cut is None else data[: int(len(data) * cut)]


def _one_line_error(call) -> None:
    """Run `call`: it returns, or raises a DataError of one line; any other exception fails the test."""
    try:
        call()
    except DataError as e:
        assert "\n" not in str(e), str(e)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's remarks on the files it reads ("Truncated File Read")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    layout=st.lists(
        st.tuples(st.sampled_from(["a", "b", "unlabelled"]), st.sampled_from([".png", ".jpg", ".tif", ".gif"])),
        min_size=1,
        max_size=6,
    ),
    contents=st.lists(picture_files(), min_size=6, max_size=6),
    skip_bad=st.booleans(),
)
def test_loader_and_predict_on_a_folder_of_random_files(tmp_path_factory, digits_run, layout, contents, skip_bad):
    """Every call on a folder of random files returns or raises the one-line DataError."""
    root = tmp_path_factory.mktemp("random")
    for i, ((folder, suffix), content) in enumerate(zip(layout, contents)):
        (root / folder).mkdir(exist_ok=True)
        (root / folder / f"{i}{suffix}").write_bytes(content)
    labelled = [f for f in ("a", "b") if (root / f).is_dir()]
    overrides = [f"data.path={root}", "data.dataset=folder", "data.labels_per_class=null"]
    overrides += [f"data.skip_bad_images={str(skip_bad).lower()}"]
    if labelled:
        _one_line_error(lambda: load_dataset(config.load(None, overrides)[0].data))
    model = ganlearn.load(digits_run, skip_bad=skip_bad)
    _one_line_error(lambda: model.predict([root]))
