"""Mask conversions over pycocotools (COCO RLE is the model's mask).

Example:
    >>> from picsellia_formats.model import Mask
    >>> m = Mask(2, 3, [1, 4, 1])
    >>> rle_area(m), rle_bbox(m)
    (4, (0.0, 0.0, 3.0, 2.0))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pycocotools import mask as _coco_mask

if TYPE_CHECKING:
    from .model import Box, Mask


def to_compressed(mask: Mask) -> dict[str, Any]:
    """pycocotools' compressed RLE dict (``counts`` as bytes) for `mask`, either encoding."""
    if isinstance(mask.counts, str):
        return {"size": [mask.height, mask.width], "counts": mask.counts.encode("ascii")}
    return _coco_mask.frPyObjects({"size": [mask.height, mask.width], "counts": list(mask.counts)},
                                  mask.height, mask.width)


def polygon_to_rle(parts: list[list[float]], height: int, width: int) -> Mask:
    """Rasterise a (multi-part) polygon to compressed RLE exactly as pycocotools does
    (``frPyObjects`` then ``merge``)."""
    from .model import Mask

    rles = _coco_mask.frPyObjects([list(map(float, p)) for p in parts], height, width)
    rle = _coco_mask.merge(rles) if len(rles) > 1 else rles[0]
    return Mask(height, width, rle["counts"].decode("ascii"))


def rle_area(mask: Mask) -> int:
    """Number of foreground pixels."""
    if not isinstance(mask.counts, str):
        return int(sum(mask.counts[1::2]))
    return int(_coco_mask.area(to_compressed(mask)))


def rle_bbox(mask: Mask) -> Box:
    """Tight box ``(x, y, w, h)`` of the foreground, as pycocotools' ``toBbox``."""
    x, y, w, h = _coco_mask.toBbox(to_compressed(mask)).tolist()
    return (x, y, w, h)
