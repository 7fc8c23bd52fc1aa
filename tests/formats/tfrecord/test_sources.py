"""Image sources of the TFRecord writer and the decode check: TensorFlow's decoders are the reference."""

from __future__ import annotations

import io
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from picsellia_formats.formats.tfrecord.example import decode_example
from picsellia_formats.formats.tfrecord.records import iter_records
from picsellia_formats.formats.tfrecord.sources import (
    DECODE_CHECKS,
    EmbeddedImages,
    FolderImages,
    decode_problem,
    embedded_images,
    is_record_source,
)
from picsellia_formats.image_header import read_header
from picsellia_formats.images import AmbiguousImageError, ImageIndex

from .conftest import FIXTURES, RACCOON

TRUNCATED = FIXTURES / "real_exports" / "truncated_jpeg" / "images"
JPEG = (RACCOON / "images" / "raccoon-105.jpg").read_bytes()


def _png(size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


def _tf_decodes(tf, data: bytes) -> bool:
    try:
        tf.io.decode_image(data, channels=3, expand_animations=False).numpy()
    except Exception:
        return False
    return True


def _bad_idat_crc(data: bytes) -> bytes:
    i = data.index(b"IDAT") + 8  # a byte of the compressed data: the chunk CRC no longer matches
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]


CASES = [
    # (name, bytes, decodes)
    ("raccoon jpeg", JPEG, True),
    ("real truncated jpeg (cut.jpg)", (TRUNCATED / "cut.jpg").read_bytes(), False),
    ("its intact sibling (ok.jpg)", (TRUNCATED / "ok.jpg").read_bytes(), True),
    ("jpeg cut in half", JPEG[: len(JPEG) // 2], False),
    ("jpeg with 100 bytes after its EOI", JPEG + b"\x01" * 100, True),
    ("jpeg padded with zeros", JPEG + b"\x00" * 16, True),
    ("png", _png(), True),
    ("png without IEND", _png()[:-12], False),
    ("png cut in its IDAT", _png()[: len(_png()) // 2], False),
    ("png with a corrupt IDAT byte", _bad_idat_crc(_png()), False),
]


@pytest.mark.parametrize("check", ["fast", "full"])
@pytest.mark.parametrize(("name", "data", "decodes"), CASES, ids=[c[0] for c in CASES])
def test_decode_check_agrees_with_tensorflow(tf, check, name, data, decodes):
    info = read_header(data)
    assert info is not None, name
    assert _tf_decodes(tf, data) is decodes, "the case itself is wrong"
    problem = decode_problem(data, info, check)
    assert (problem is None) is decodes, problem


def test_no_check_passes_anything_with_a_header():
    data = (TRUNCATED / "cut.jpg").read_bytes()
    assert decode_problem(data, read_header(data), "none") is None
    assert DECODE_CHECKS == ("fast", "full", "none")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=200, max_value=len(JPEG) - 1), fmt=st.sampled_from(["jpeg", "png"]))
def test_no_truncated_image_passes_the_fast_check_unless_tensorflow_decodes_it(tf, cut, fmt):
    data = JPEG if fmt == "jpeg" else _png((120, 90))
    data = data[: min(cut, len(data) - 1)]
    info = read_header(data)
    if info is None:
        return
    if decode_problem(data, info, "fast") is None:
        assert _tf_decodes(tf, data)


def test_folder_images_go_through_the_image_index(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    (tmp_path / "train" / "1.jpg").write_bytes(JPEG)
    (tmp_path / "val" / "1.jpg").write_bytes(JPEG + b"\x00")
    source = FolderImages((ImageIndex(tmp_path),))
    assert source.fetch("1.jpg", "1", "val").data == JPEG + b"\x00"
    assert source.fetch("data/obj_train_data/train/1.jpg", "1", None).data == JPEG
    assert source.fetch("2.jpg", "2", None) is None
    with pytest.raises(AmbiguousImageError, match=r"fit '1\.jpg'"):
        source.fetch("1.jpg", "1", None)  # two files fit, no split hint: never a silent pick


def test_embedded_images_are_the_records_bytes():
    record = RACCOON / "data" / "test.record"
    source = embedded_images(record)
    assert isinstance(source, EmbeddedImages) and is_record_source(record)
    assert not is_record_source(RACCOON / "images")
    for _, data in iter_records(record):
        features = decode_example(data)
        name = features["image/filename"][1][0].decode()
        found = source.fetch(name, features["image/source_id"][1][0].decode(), None)
        assert found is not None and found.data == features["image/encoded"][1][0]
        assert found.where.startswith(str(record))
    assert source.fetch("nowhere.jpg", "x", None) is None


def test_png_crc_helper_really_breaks_the_crc():
    data = _png()
    bad = _bad_idat_crc(data)
    i = data.index(b"IDAT")
    n = int.from_bytes(data[i - 4:i], "big")
    assert zlib.crc32(bad[i:i + 4 + n]) != int.from_bytes(bad[i + 4 + n:i + 8 + n], "big")
