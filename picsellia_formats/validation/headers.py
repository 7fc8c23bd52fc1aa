"""A fast path for the two types that make nearly every dataset: JPEG and PNG headers read directly.

Pillow's ``Image.open`` parses every JPEG table and builds an image object (about 80 µs a file);
a probe only needs the type, the stored size and the EXIF orientation, which sit in the first
bytes. `read_header` reads them from one buffer of the file's head; anything it does not
recognise with certainty (another type, an unusual marker order, EXIF it cannot parse, an XMP
orientation, a PNG with an ``eXIf`` chunk or EXIF/XMP text) returns None and the caller asks
Pillow. Tests hold it equal to Pillow (`picsellia_formats.images`).

Example:
    >>> with open("fixtures/sahi_coco/coco_utils/terrain1.jpg", "rb") as f:
    ...     read_header(f.read(HEAD))
    ('jpeg', 2048, 1365, 1)
"""

from __future__ import annotations

#: bytes of a file's head handed to `read_header` (the EXIF block of a JPEG is at most 64 KiB)
HEAD = 1 << 16
_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
_PNG = b"\x89PNG\r\n\x1a\n"


def read_header(head: bytes) -> tuple[str, int, int, int] | None:
    """``(type, stored width, stored height, EXIF orientation)`` of a JPEG or PNG head, else None."""
    if head[:2] == b"\xff\xd8":
        return _jpeg(head)
    if head[:8] == _PNG:
        return _png(head)
    return None


def _jpeg(b: bytes) -> tuple[str, int, int, int] | None:
    pos, n = 2, len(b)
    orientation = 1
    while pos + 4 <= n:
        if b[pos] != 0xFF:
            return None
        marker = b[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length
            pos += 2
            continue
        length = int.from_bytes(b[pos + 2:pos + 4], "big")
        if length < 2:
            return None
        if marker in _SOF:
            if pos + 9 > n:
                return None
            height = int.from_bytes(b[pos + 5:pos + 7], "big")
            width = int.from_bytes(b[pos + 7:pos + 9], "big")
            if not width or not height:
                return None
            return "jpeg", width, height, orientation
        if marker == 0xDA or marker == 0xD9:  # scan or end before a frame header: let Pillow say
            return None
        if marker == 0xE1 and b"tiff:Orientation" in b[pos + 4:pos + 2 + length]:
            return None  # an XMP orientation, which Pillow reads when EXIF has none
        if marker == 0xE1 and b[pos + 4:pos + 10] == b"Exif\x00\x00":
            if pos + 2 + length > n:
                return None
            value = _orientation(b[pos + 10:pos + 2 + length])
            if value is None:
                return None
            if orientation == 1:  # the first EXIF block counts, as in Pillow
                orientation = value
        pos += 2 + length
    return None


def _orientation(tiff: bytes) -> int | None:
    """EXIF orientation from a TIFF block (1 when absent or out of range, None when unparsable)."""
    if len(tiff) < 8:
        return None
    order = tiff[:2]
    if order == b"II":
        endian = "little"
    elif order == b"MM":
        endian = "big"
    else:
        return None
    ifd = int.from_bytes(tiff[4:8], endian)
    if ifd + 2 > len(tiff):
        return None
    count = int.from_bytes(tiff[ifd:ifd + 2], endian)
    for i in range(count):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(tiff):
            return None
        if int.from_bytes(tiff[entry:entry + 2], endian) == 0x0112:
            kind = int.from_bytes(tiff[entry + 2:entry + 4], endian)
            if kind != 3:  # SHORT
                return None
            value = int.from_bytes(tiff[entry + 8:entry + 10], endian)
            return value if 1 <= value <= 8 else 1
    return 1


def _png(b: bytes) -> tuple[str, int, int, int] | None:
    if b[12:16] != b"IHDR" or len(b) < 33:
        return None
    width = int.from_bytes(b[16:20], "big")
    height = int.from_bytes(b[20:24], "big")
    if not width or not height:
        return None
    pos = 33
    while pos + 8 <= len(b):  # chunks before the image data: an eXIf one means Pillow decides
        kind = b[pos + 4:pos + 8]
        if kind == b"IDAT":
            return "png", width, height, 1
        if kind == b"eXIf":
            return None
        if kind in (b"tEXt", b"zTXt", b"iTXt") and (b[pos + 8:pos + 25] == b"XML:com.adobe.xmp"
                                                    or b[pos + 8:pos + 28] == b"Raw profile type exif"):
            return None  # orientation in XMP or ImageMagick's EXIF text: Pillow reads those
        pos += 12 + int.from_bytes(b[pos:pos + 4], "big")
    return None
