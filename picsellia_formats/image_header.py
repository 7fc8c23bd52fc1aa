"""The one image-header reader: type, stored size and EXIF orientation from a file's first bytes.

JPEG and PNG (nearly every dataset) are parsed by hand from one buffer of the file's head; it is
measured 10-20x faster than Pillow's ``Image.open`` on the bundled real files (about 10 µs against
200 µs a file, ``benchmarks/image_headers.py``). Whatever the fast path does not recognise with
certainty (another type, an unusual marker order, an EXIF block it cannot parse, an XMP
orientation, a PNG ``eXIf`` chunk or EXIF/XMP text) goes to Pillow's lazy header reader, so the
answer is always Pillow's (tests hold the two equal). A header claiming more pixels than
`max_pixels` (default: Pillow's default ``MAX_IMAGE_PIXELS``, 89,478,485) is refused before anything is allocated.

This module also holds the one EXIF-orientation table: which orientations swap width and height,
and the frame transforms between the stored pixels (what TensorFlow decodes) and the displayed
image (the model's frame, what Pillow's ``exif_transpose`` gives).

Example:
    >>> with open("fixtures/sahi_coco/coco_utils/terrain1.jpg", "rb") as f:
    ...     read_header(f.read(HEAD))
    HeaderInfo(format='jpeg', width=2048, height=1365, orientation=1)
    >>> to_stored((0.1, 0.2, 0.3, 0.6), 6)  # displayed (xmin, ymin, xmax, ymax) -> stored, rotated 90°
    (0.2, 0.7, 0.6, 0.9)
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import FormatError
from .inputs import read_input

if TYPE_CHECKING:
    from PIL import Image

#: Bytes of a file's head that `read_header` needs (a JPEG's EXIF block is at most 64 KiB).
HEAD = 1 << 16
#: EXIF orientations whose displayed image has width and height swapped (transpose, 90°, transverse, 270°).
SWAPPING = frozenset((5, 6, 7, 8))
NormBox = tuple[float, float, float, float]
_EXIF_ORIENTATION = 0x0112
_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
_PNG = b"\x89PNG\r\n\x1a\n"


class ImageTooLargeError(FormatError):
    """A header claims more pixels than the limit (a decompression bomb or a mistake)."""


class HeaderInfo(NamedTuple):
    """What an image header says: its type (``jpeg``, ``png``...), stored size and EXIF orientation."""

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


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1..8) of an open Pillow image, 1 when absent or unreadable."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a corrupt EXIF block must not make the image unreadable
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


#: Pillow's own default decompression-bomb limit (``1024 * 1024 * 1024 // 4 // 3`` pixels), held here as a
#: constant: other libraries (labelme, ultralytics) set ``PIL.Image.MAX_IMAGE_PIXELS = None`` when imported,
#: which must not switch our limit off.
DEFAULT_MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3


def max_image_pixels() -> int | None:
    """The default pixel limit of a header (Pillow's default limit, whatever Pillow's global says now)."""
    return DEFAULT_MAX_PIXELS


def read_header(data: bytes, *, file: str | os.PathLike[str] | None = None,
                max_pixels: int | None = -1) -> HeaderInfo | None:
    """`HeaderInfo` of an encoded image's first bytes (`HEAD` of them suffice), None when not an image.

    `max_pixels`: refuse larger headers (-1: `DEFAULT_MAX_PIXELS`; None: no limit).
    Raises ImageTooLargeError naming `file` when the header claims more pixels than the limit.
    """
    info = fast_header(data)
    if info is None:
        info = _pillow(data, file)
    if info is not None:
        check_pixels(info.width, info.height, file=file, max_pixels=max_pixels)
    return info


def read_file_header(path: str | os.PathLike[str], *, max_pixels: int | None = -1) -> HeaderInfo:
    """`HeaderInfo` of an image file (its head only, or Pillow's lazy open for other types).

    Raises FormatError naming the file when it is missing or not an image, ImageTooLargeError when
    its header claims more pixels than the limit.
    """
    try:
        head = read_input(path, HEAD)  # a FIFO, device or dangling link: FormatError naming it
    except FileNotFoundError:
        raise FormatError("image file not found", file=path) from None
    except IsADirectoryError:
        raise FormatError("not a readable image: it is a folder", file=path) from None
    info = fast_header(head)
    if info is None:
        info = _pillow(path, path, strict=True)
    assert info is not None  # strict mode raises instead
    check_pixels(info.width, info.height, file=path, max_pixels=max_pixels)
    return info


def check_pixels(width: int, height: int, *, file: str | os.PathLike[str] | None = None,
                 max_pixels: int | None = -1) -> None:
    """Raise ImageTooLargeError when ``width × height`` exceeds the limit (-1: Pillow's)."""
    limit = max_image_pixels() if max_pixels == -1 else max_pixels
    if limit is not None and width * height > limit:
        raise ImageTooLargeError(f"the header claims {width}×{height} = {width * height:,} pixels, more than "
                                 f"the limit of {limit:,}", file=file)


def fast_header(head: bytes) -> HeaderInfo | None:
    """The hand-parsed header of a JPEG or PNG head, None when not sure (then ask Pillow)."""
    if head[:2] == b"\xff\xd8":
        return _jpeg(head)
    if head[:8] == _PNG:
        return _png(head)
    return None


def _pillow(source: bytes | str | os.PathLike[str], file: object, strict: bool = False) -> HeaderInfo | None:
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():  # the size limit is ours to check, after the header is read
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
                fmt = (im.format or "").lower()
                return HeaderInfo("jpeg" if fmt == "mpo" else fmt, *im.size, exif_orientation(im))
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"the header claims too many pixels: {exc}",
                                 file=file if file is None else str(file)) from None
    except FileNotFoundError:
        raise FormatError("image file not found", file=str(file)) from None
    except Exception as exc:  # Pillow raises many types on garbage; all mean "not an image"
        if strict:
            raise FormatError(f"not a readable image: {exc}", file=str(file)) from None
        return None


def _jpeg(b: bytes) -> HeaderInfo | None:
    pos, n = 2, len(b)
    orientation = 1
    exif_seen = False
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
            return HeaderInfo("jpeg", width, height, orientation)
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
            if not exif_seen:  # the first EXIF block counts, as in Pillow
                orientation, exif_seen = value, True
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
        if int.from_bytes(tiff[entry:entry + 2], endian) == _EXIF_ORIENTATION:
            if int.from_bytes(tiff[entry + 2:entry + 4], endian) != 3:  # not a SHORT: Pillow decides
                return None
            value = int.from_bytes(tiff[entry + 8:entry + 10], endian)
            return value if 1 <= value <= 8 else 1
    return 1


def _png(b: bytes) -> HeaderInfo | None:
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
            return HeaderInfo("png", width, height, 1)
        if kind == b"eXIf":
            return None
        if kind in (b"tEXt", b"zTXt", b"iTXt") and (b[pos + 8:pos + 25] == b"XML:com.adobe.xmp"
                                                    or b[pos + 8:pos + 28] == b"Raw profile type exif"):
            return None  # orientation in XMP or ImageMagick's EXIF text: Pillow reads those
        pos += 12 + int.from_bytes(b[pos:pos + 4], "big")
    return None


# The orientation table. Displayed (u, v) -> stored (s, t), normalised, for each orientation;
# derived from Pillow's exif_transpose operations. 6 and 8 are each other's inverse; the others
# are their own.
_TO_STORED = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1.0 - u, v),
    3: lambda u, v: (1.0 - u, 1.0 - v),
    4: lambda u, v: (u, 1.0 - v),
    5: lambda u, v: (v, u),
    6: lambda u, v: (v, 1.0 - u),
    7: lambda u, v: (1.0 - v, 1.0 - u),
    8: lambda u, v: (1.0 - v, u),
}
_TO_DISPLAYED = {**_TO_STORED, 6: _TO_STORED[8], 8: _TO_STORED[6]}


def _mapped(box: NormBox, table: dict[int, Any], orientation: int) -> NormBox:
    if orientation == 1 or orientation not in table:
        return box
    f = table[orientation]
    x0, y0, x1, y1 = box
    (a, b), (c, d) = f(x0, y0), f(x1, y1)
    return min(a, c), min(b, d), max(a, c), max(b, d)


def to_stored(box: NormBox, orientation: int) -> NormBox:
    """A normalised ``(xmin, ymin, xmax, ymax)`` in the displayed frame, in the stored frame."""
    return _mapped(box, _TO_STORED, orientation)


def to_displayed(box: NormBox, orientation: int) -> NormBox:
    """A normalised ``(xmin, ymin, xmax, ymax)`` in the stored frame, in the displayed frame."""
    return _mapped(box, _TO_DISPLAYED, orientation)


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
