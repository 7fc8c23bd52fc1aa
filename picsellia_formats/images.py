"""Image files: sizes from headers (after EXIF orientation, never a full decode), types, lookup.

Example:
    >>> image_size("fixtures/sahi_coco/coco_utils/terrain1.jpg")
    (2048, 1365)
    >>> image_type("fixtures/sahi_coco/coco_utils/terrain2.png")
    'png'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import FormatError

if TYPE_CHECKING:
    from PIL import Image

#: Extensions recognised as images (compared lower-case).
IMAGE_EXTENSIONS = frozenset((".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"))
#: EXIF orientations that swap width and height (transpose, rotate 90/270, transverse).
SWAPPING_ORIENTATIONS = frozenset((5, 6, 7, 8))
_EXIF_ORIENTATION = 0x0112


def is_image(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1..8), 1 when absent or unreadable."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a corrupt EXIF block must not make the image unreadable
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(width, height)`` as displayed, i.e. after EXIF orientation, read from the header only.

    Raises FormatError naming the file when it is missing or not an image.
    """
    from PIL import Image  # Pillow loads on first use: format modules import this one, --help must stay light

    try:
        with Image.open(path) as im:
            width, height = im.size
            if exif_orientation(im) in SWAPPING_ORIENTATIONS:
                width, height = height, width
            return width, height
    except FileNotFoundError:
        raise FormatError("image file not found", file=path) from None
    except (OSError, ValueError) as exc:  # UnidentifiedImageError is an OSError
        raise FormatError(f"not a readable image: {exc}", file=path) from None


def image_type(path: str | os.PathLike[str]) -> str:
    """The real type of an image from its bytes (``jpeg``, ``png``, ``bmp``, ``webp``…), not its name."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return (im.format or "").lower()
    except FileNotFoundError:
        raise FormatError("image file not found", file=path) from None
    except (OSError, ValueError) as exc:
        raise FormatError(f"not a readable image: {exc}", file=path) from None


def iter_images(folder: str | os.PathLike[str], recursive: bool = True) -> Iterator[Path]:
    """Image files under `folder`, sorted, any case of extension."""
    folder = Path(folder)
    paths = folder.rglob("*") if recursive else folder.iterdir()
    yield from sorted(p for p in paths if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def images_by_stem(folder: str | os.PathLike[str], recursive: bool = True) -> dict[str, list[Path]]:
    """Images under `folder` grouped by relative path without extension (``sub/img_6`` -> [img_6.jpeg])."""
    folder = Path(folder)
    out: dict[str, list[Path]] = {}
    for p in iter_images(folder, recursive):
        key = p.relative_to(folder).with_suffix("").as_posix()
        out.setdefault(key, []).append(p)
    return out
