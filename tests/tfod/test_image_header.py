"""Header sniffing against Pillow, and the EXIF frame transforms against Pillow's exif_transpose."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from picsellia_formats.images import exif_orientation
from picsellia_formats.tfod.image_header import (
    array_to_displayed,
    array_to_stored,
    sniff,
    to_displayed,
    to_stored,
)

from .conftest import FIXTURES

IMAGES = sorted(p for p in FIXTURES.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"))


@pytest.mark.parametrize("path", IMAGES, ids=[p.relative_to(FIXTURES).as_posix() for p in IMAGES])
def test_sniff_agrees_with_pillow(path):
    data = path.read_bytes()
    with Image.open(path) as im:
        expected = ((im.format or "").lower(), *im.size, exif_orientation(im))
    assert tuple(sniff(data)) == expected


def _exif_jpeg(array: np.ndarray, orientation: int, extra_app: bool = False) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG", quality=100, exif=exif.tobytes())
    data = buf.getvalue()
    if extra_app:  # an APP0 JFIF and a comment segment before the EXIF one
        com = b"\xff\xfe\x00\x07hello"
        data = data[:2] + com + data[2:]
    return data


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("extra_app", [False, True])
def test_transforms_match_pillow_exif_transpose(orientation, extra_app):
    stored = np.zeros((4, 7), np.uint8)
    stored[1:3, 4:6] = 255
    data = _exif_jpeg(stored, orientation, extra_app)
    info = sniff(data)
    assert (info.format, info.width, info.height, info.orientation) == ("jpeg", 7, 4, orientation)
    shown = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data)))) > 128
    assert info.displayed_size == (shown.shape[1], shown.shape[0])
    ys, xs = np.nonzero(shown)
    h, w = shown.shape
    displayed_box = (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h)
    stored_box = (4 / 7, 1 / 4, 6 / 7, 3 / 4)
    assert np.allclose(to_displayed(stored_box, orientation), displayed_box)
    assert np.allclose(to_stored(displayed_box, orientation), stored_box)
    assert (array_to_displayed(stored > 128, orientation) == shown).all()
    assert (array_to_stored(shown, orientation) == (stored > 128)).all()


def test_png_exif_chunk_orientation():
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.new("L", (5, 3)).save(buf, "PNG", exif=exif.tobytes())
    info = sniff(buf.getvalue())
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        assert info.orientation == exif_orientation(im) == 8
    assert info.displayed_size == (3, 5)


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "WEBP", "TIFF"])
def test_other_types_through_pillow(fmt):
    buf = io.BytesIO()
    Image.new("RGB", (9, 4)).save(buf, fmt)
    info = sniff(buf.getvalue())
    assert (info.format, info.width, info.height) == (fmt.lower(), 9, 4)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b""]))
def test_garbage_gives_none_or_a_header(tail, head):
    info = sniff(head + tail)
    assert info is None or (info.width >= 0 and info.height >= 0 and 1 <= info.orientation <= 8)
