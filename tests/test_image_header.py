"""The one header reader: the JPEG/PNG fast path reads exactly what Pillow reads or steps aside; the
orientation table against Pillow's exif_transpose; the pixel limit."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from picsellia_formats.errors import FormatError
from picsellia_formats.image_header import (
    HEAD,
    ImageTooLargeError,
    array_to_displayed,
    array_to_stored,
    exif_orientation,
    fast_header,
    read_file_header,
    read_header,
    to_displayed,
    to_stored,
)
from tests.conftest import FIXTURES


def _pillow(data: bytes) -> tuple[str, int, int, int]:
    with Image.open(io.BytesIO(data)) as im:
        fmt = {"mpo": "jpeg"}.get(im.format.lower(), im.format.lower())
        return fmt, im.size[0], im.size[1], exif_orientation(im)


def _variants() -> list[tuple[str, bytes]]:
    out = [(p.name, p.read_bytes()) for p in sorted(FIXTURES.rglob("*")) if p.suffix.lower() in
           (".jpg", ".jpeg", ".png")]
    base = Image.new("RGB", (37, 23), (1, 2, 3))
    for orientation in range(0, 10):
        exif = Image.Exif()
        if orientation:
            exif[0x0112] = orientation
        exif[0x010F] = "maker"
        for order in ("<", ">"):
            exif.endian = order  # type: ignore[attr-defined]
            buf = io.BytesIO()
            base.save(buf, "JPEG", exif=exif.tobytes())
            out.append((f"jpeg-o{orientation}{order}", buf.getvalue()))
        buf = io.BytesIO()
        base.save(buf, "PNG", exif=exif.tobytes())
        out.append((f"png-exif-o{orientation}", buf.getvalue()))
    for mode, fmt, kw in (("L", "JPEG", {}), ("CMYK", "JPEG", {}), ("RGB", "JPEG", {"progressive": True}),
                          ("RGB", "JPEG", {"icc_profile": b"x" * 70000}), ("P", "PNG", {}), ("I;16", "PNG", {}),
                          ("RGBA", "PNG", {}), ("1", "PNG", {})):
        buf = io.BytesIO()
        Image.new(mode, (31, 17)).save(buf, fmt, **kw)
        out.append((f"{mode}-{fmt}-{sorted(kw)}", buf.getvalue()))
    xmp = b'<x:xmpmeta><rdf:Description tiff:Orientation="6"/></x:xmpmeta>'
    buf = io.BytesIO()
    base.save(buf, "JPEG", xmp=xmp)
    out.append(("jpeg-xmp-6", buf.getvalue()))
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp.decode())
    info.add_text("Software", "test")
    buf = io.BytesIO()
    base.save(buf, "PNG", pnginfo=info)
    out.append(("png-xmp-6", buf.getvalue()))
    return out


@pytest.mark.parametrize(("name", "data"), _variants(), ids=[n for n, _ in _variants()])
def test_fast_header_equals_pillow_or_steps_aside(name: str, data: bytes) -> None:
    fast = fast_header(data[:HEAD])
    if fast is not None:
        assert fast == _pillow(data)


def test_fast_path_covers_the_common_files() -> None:
    names = {n: fast_header(d[:HEAD]) is not None for n, d in _variants()}
    assert names["terrain1.jpg"] and names["terrain2.png"] and names["jpeg-o6<"] and names["jpeg-o8>"]
    assert not names["jpeg-xmp-6"] and not names["png-xmp-6"]  # Pillow reads XMP orientations


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00",
                                  b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, b"GIF89a", Path(__file__).read_bytes()[:100]])
def test_odd_heads_step_aside(data: bytes) -> None:
    assert fast_header(data) is None


IMAGES = sorted(p for p in FIXTURES.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"))


@pytest.mark.parametrize("path", IMAGES, ids=[p.relative_to(FIXTURES).as_posix() for p in IMAGES])
def test_read_header_agrees_with_pillow(path):
    data = path.read_bytes()
    with Image.open(path) as im:
        expected = ((im.format or "").lower(), *im.size, exif_orientation(im))
    assert tuple(read_header(data)) == expected


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
    info = read_header(data)
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
    info = read_header(buf.getvalue())
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        assert info.orientation == exif_orientation(im) == 8
    assert info.displayed_size == (3, 5)


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "WEBP", "TIFF"])
def test_other_types_through_pillow(fmt):
    buf = io.BytesIO()
    Image.new("RGB", (9, 4)).save(buf, fmt)
    info = read_header(buf.getvalue())
    assert (info.format, info.width, info.height) == (fmt.lower(), 9, 4)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b""]))
def test_garbage_gives_none_or_a_header(tail, head):
    try:
        info = read_header(head + tail)
    except ImageTooLargeError:  # garbage may claim a huge size: refused, never allocated
        return
    assert info is None or (info.width >= 0 and info.height >= 0 and 1 <= info.orientation <= 8)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF"])
def test_a_header_over_the_pixel_limit_is_refused_naming_the_file(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"big.{fmt.lower()}"
    Image.new("RGB", (40, 30)).save(path, fmt)
    assert read_file_header(path, max_pixels=1200).width == 40
    with pytest.raises(ImageTooLargeError, match=r"big\.\w+: .*1,200 pixels, more than the limit of 1,199"):
        read_file_header(path, max_pixels=1199)
    with pytest.raises(ImageTooLargeError):
        read_header(path.read_bytes(), file=path, max_pixels=1199)


def test_a_forged_png_header_is_refused_before_any_allocation(tmp_path: Path) -> None:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = struct.pack(">I", 0) + b"IDAT" + struct.pack(">I", zlib.crc32(b"IDAT"))
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + idat)
    with pytest.raises(ImageTooLargeError, match=r"bomb\.png"):
        read_file_header(path)  # the default limit is Pillow's MAX_IMAGE_PIXELS


@pytest.mark.parametrize(("content", "message"), [(None, "image file not found"), (b"not an image", "not a readable")])
def test_missing_or_garbage_files_name_the_file(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "x.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FormatError, match=f"x.jpg: {message}"):
        read_file_header(path)
