"""Bad bytes into the TFRecord reader: it reads them or raises FormatError, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picsellia_formats.errors import FormatError
from picsellia_formats.formats.tfrecord.read import read_tfrecords
from picsellia_formats.formats.tfrecord.records import frame, iter_records

from .conftest import RACCOON


@pytest.fixture(scope="module")
def payloads() -> list[bytes]:
    """The first three Examples of the bundled record with their images cut short (fast to fuzz),
    plus one of ours with masks."""
    from picsellia_formats.formats.tfrecord.example import decode_example, encode_example

    out = []
    for i, (_, data) in enumerate(iter_records(RACCOON / "data" / "test.record")):
        features = decode_example(data)
        features["image/encoded"] = ("bytes", [features["image/encoded"][1][0][:600]])
        out.append(encode_example(features))
        if i == 2:
            break
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("L", (4, 3)).save(png, "PNG")
    out.append(encode_example({
        "image/height": ("int64", [3]), "image/width": ("int64", [4]),
        "image/object/bbox/xmin": ("float", [0.0]), "image/object/bbox/xmax": ("float", [0.5]),
        "image/object/bbox/ymin": ("float", [0.0]), "image/object/bbox/ymax": ("float", [1.0]),
        "image/object/class/text": ("bytes", [b"x"]), "image/object/mask": ("bytes", [png.getvalue()]),
    }))
    return out


def _read(tmp_path, data: bytes, check_crc: bool = True) -> None:
    path = tmp_path / "f.record"
    path.write_bytes(data)
    try:
        read_tfrecords(path, check_crc=check_crc)
    except FormatError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_files(tmp_path, payloads, data):
    raw = bytearray(b"".join(frame(p) for p in payloads))
    for _ in range(data.draw(st.integers(1, 5))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    _read(tmp_path, bytes(raw[:cut]), check_crc=data.draw(st.booleans()))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_examples_correctly_framed(tmp_path, payloads, data):
    """The Example bytes are garbled but the framing is right: the decoder itself is exercised."""
    payload = bytearray(payloads[data.draw(st.integers(0, len(payloads) - 1))])
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(payload) // 2, len(payload)))
    _read(tmp_path, frame(bytes(payload[:cut])))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=80))
def test_random_bytes(tmp_path, raw):
    _read(tmp_path, raw)
    _read(tmp_path, frame(raw))
