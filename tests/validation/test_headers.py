"""The JPEG/PNG fast path reads exactly what Pillow (picsellia_formats.images) reads, or steps aside."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from picsellia_formats.images import exif_orientation
from picsellia_formats.validation.headers import HEAD, read_header
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
    fast = read_header(data[:HEAD])
    if fast is not None:
        assert fast == _pillow(data)


def test_fast_path_covers_the_common_files() -> None:
    names = {n: read_header(d[:HEAD]) is not None for n, d in _variants()}
    assert names["terrain1.jpg"] and names["terrain2.png"] and names["jpeg-o6<"] and names["jpeg-o8>"]
    assert not names["jpeg-xmp-6"] and not names["png-xmp-6"]  # Pillow reads XMP orientations


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00",
                                  b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, b"GIF89a", Path(__file__).read_bytes()[:100]])
def test_odd_heads_step_aside(data: bytes) -> None:
    assert read_header(data) is None
