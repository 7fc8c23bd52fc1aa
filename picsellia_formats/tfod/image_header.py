"""Type, stored size and EXIF orientation of an encoded image, from its header bytes only.

JPEG and PNG headers are parsed by hand (a few segments, no decode); any other type goes through
Pillow's header reader. TensorFlow decodes the stored pixels and ignores EXIF orientation, so the
TFRecord side works in the stored frame and converts from and to the displayed frame (the model's)
with `to_stored` / `to_displayed`.

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("L", (5, 3)).save(buf, "PNG")
    >>> sniff(buf.getvalue())
    HeaderInfo(format='png', width=5, height=3, orientation=1)
    >>> to_stored((0.1, 0.2, 0.3, 0.6), 6)  # displayed (xmin, ymin, xmax, ymax) -> stored, rotated 90°
    (0.2, 0.7, 0.6, 0.9)
"""

from __future__ import annotations

import io
from typing import NamedTuple

#: EXIF orientations whose displayed image has width and height swapped.
SWAPPING = frozenset((5, 6, 7, 8))
NormBox = tuple[float, float, float, float]
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class HeaderInfo(NamedTuple):
    format: str
    width: int
    height: int
    orientation: int

    @property
    def displayed_size(self) -> tuple[int, int]:
        """``(width, height)`` after EXIF orientation."""
        if self.orientation in SWAPPING:
            return self.height, self.width
        return self.width, self.height


def _tiff_orientation(data: bytes, start: int, stop: int) -> int:
    tiff = data[start:stop]
    if len(tiff) < 8:
        return 1
    order = tiff[:2]
    if order == b"II":
        big = False
    elif order == b"MM":
        big = True
    else:
        return 1
    bo = "big" if big else "little"
    ifd = int.from_bytes(tiff[4:8], bo)
    if ifd + 2 > len(tiff):
        return 1
    count = int.from_bytes(tiff[ifd:ifd + 2], bo)
    pos = ifd + 2
    for _ in range(count):
        if pos + 12 > len(tiff):
            return 1
        if int.from_bytes(tiff[pos:pos + 2], bo) == 0x0112:
            kind = int.from_bytes(tiff[pos + 2:pos + 4], bo)
            if kind == 3:  # SHORT
                value = int.from_bytes(tiff[pos + 8:pos + 10], bo)
            elif kind == 4:  # LONG
                value = int.from_bytes(tiff[pos + 8:pos + 12], bo)
            else:
                return 1
            return value if 1 <= value <= 8 else 1
        pos += 12
    return 1


def _jpeg(data: bytes) -> HeaderInfo | None:
    pos, n = 2, len(data)
    orientation = 1
    exif_seen = False
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            pos += 2
            continue
        seglen = (data[pos + 2] << 8) | data[pos + 3]
        if seglen < 2:
            return None
        if marker in _SOF:
            if pos + 9 > n:
                return None
            height = (data[pos + 5] << 8) | data[pos + 6]
            width = (data[pos + 7] << 8) | data[pos + 8]
            return HeaderInfo("jpeg", width, height, orientation)
        if marker == 0xE1 and not exif_seen and data[pos + 4:pos + 10] == b"Exif\x00\x00":
            exif_seen = True
            orientation = _tiff_orientation(data, pos + 10, pos + 2 + seglen)
        if marker in (0xDA, 0xD9):
            return None
        pos += 2 + seglen
    return None


def _png(data: bytes) -> HeaderInfo | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    orientation = 1
    pos, n = 8, len(data)
    while pos + 8 <= n:  # an eXIf chunk before the image data may carry an orientation
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"eXIf":
            orientation = _tiff_orientation(data, pos + 8, pos + 8 + size)
            break
        pos += 12 + size
    return HeaderInfo("png", width, height, orientation)


def sniff(data: bytes) -> HeaderInfo | None:
    """`HeaderInfo` of encoded image bytes, or None when they are not a readable image."""
    if data[:3] == b"\xff\xd8\xff":
        info = _jpeg(data)
        if info is not None:
            return info
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        return _png(data)
    return _pillow(data)


def _pillow(data: bytes) -> HeaderInfo | None:
    from PIL import Image

    from ..images import exif_orientation

    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            return HeaderInfo((im.format or "").lower(), width, height, exif_orientation(im))
    except Exception:  # Pillow raises many types on garbage; all mean "not an image"
        return None


# Normalised corner transforms. Displayed (u, v) -> stored (s, t) for each orientation;
# `to_displayed` applies the inverse. Derived from Pillow's exif_transpose operations.
def _point_to_stored(u: float, v: float, o: int) -> tuple[float, float]:
    if o == 2:
        return 1.0 - u, v
    if o == 3:
        return 1.0 - u, 1.0 - v
    if o == 4:
        return u, 1.0 - v
    if o == 5:
        return v, u
    if o == 6:
        return v, 1.0 - u
    if o == 7:
        return 1.0 - v, 1.0 - u
    if o == 8:
        return 1.0 - v, u
    return u, v


def _point_to_displayed(s: float, t: float, o: int) -> tuple[float, float]:
    if o == 6:
        return 1.0 - t, s
    if o == 8:
        return t, 1.0 - s
    return _point_to_stored(s, t, o)  # the other orientations are their own inverse


def _box(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def to_stored(box: NormBox, orientation: int) -> NormBox:
    """A normalised ``(xmin, ymin, xmax, ymax)`` in the displayed frame, in the stored frame."""
    if orientation == 1:
        return box
    x0, y0, x1, y1 = box
    return _box([_point_to_stored(x0, y0, orientation), _point_to_stored(x1, y1, orientation)])


def to_displayed(box: NormBox, orientation: int) -> NormBox:
    """A normalised ``(xmin, ymin, xmax, ymax)`` in the stored frame, in the displayed frame."""
    if orientation == 1:
        return box
    x0, y0, x1, y1 = box
    return _box([_point_to_displayed(x0, y0, orientation), _point_to_displayed(x1, y1, orientation)])


def array_to_stored(mask, orientation: int):
    """A displayed-frame 2-D array in the stored frame (the inverse of Pillow's exif_transpose)."""
    import numpy as np

    if orientation == 2:
        return mask[:, ::-1]
    if orientation == 3:
        return mask[::-1, ::-1]
    if orientation == 4:
        return mask[::-1, :]
    if orientation == 5:
        return mask.T
    if orientation == 6:
        return np.rot90(mask, 1)
    if orientation == 7:
        return mask[::-1, ::-1].T
    if orientation == 8:
        return np.rot90(mask, -1)
    return mask


def array_to_displayed(mask, orientation: int):
    """A stored-frame 2-D array in the displayed frame (what Pillow's exif_transpose does)."""
    import numpy as np

    if orientation == 6:
        return np.rot90(mask, -1)
    if orientation == 8:
        return np.rot90(mask, 1)
    return array_to_stored(mask, orientation)
