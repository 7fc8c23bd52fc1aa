"""CVAT's own geometry: rotated boxes and the mask RLE (``rle`` + ``left/top/width/height``).

CVAT rotates a box by ``rotation`` degrees about its centre (clockwise on screen, y pointing down),
as its exporter's ``RotatedBoxesToPolygons`` does. A CVAT mask is a row-major run-length list over
its own ``width x height`` crop placed at ``(left, top)``, starting with a run of background.

Example:
    >>> rotated_corners(0.0, 0.0, 2.0, 2.0, 90.0)
    [2.0, 0.0, 2.0, 2.0, 0.0, 2.0, 0.0, 0.0]
    >>> m = cvat_rle_to_mask([1, 2, 1], 0, 0, 2, 2, 2, 2)
    >>> mask_to_cvat_rle(m)
    ([1, 2, 1], 0, 0, 2, 2)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...model import Mask


def rotated_corners(xtl: float, ytl: float, xbr: float, ybr: float, rotation: float) -> list[float]:
    """The 4 corners (top-left, top-right, bottom-right, bottom-left before rotation) of a CVAT box
    rotated by `rotation` degrees about its centre, as a flat list (values rounded to 1e-9 px)."""
    cx, cy = (xtl + xbr) / 2, (ytl + ybr) / 2
    a = math.radians(rotation)
    c, s = math.cos(a), math.sin(a)
    out: list[float] = []
    for x, y in ((xtl, ytl), (xbr, ytl), (xbr, ybr), (xtl, ybr)):
        dx, dy = x - cx, y - cy
        out.append(round(cx + c * dx - s * dy, 9) + 0.0)
        out.append(round(cy + s * dx + c * dy, 9) + 0.0)
    return out


def cvat_rle_to_mask(runs: list[int], left: int, top: int, width: int, height: int,
                     image_width: int, image_height: int) -> Mask:
    """The image-sized COCO RLE `Mask` of a CVAT mask; ValueError when it does not fit."""
    import numpy as np  # imported on use: the CLI start loads no numpy

    from ...masks import mask_to_rle

    if width <= 0 or height <= 0:
        raise ValueError(f"mask size {width}x{height} is empty")
    if left < 0 or top < 0 or left + width > image_width or top + height > image_height:
        raise ValueError(f"mask {width}x{height} at ({left}, {top}) lies outside the "
                         f"{image_width}x{image_height} image")
    if any(r < 0 for r in runs):
        raise ValueError("negative run length in rle")
    if sum(runs) != width * height:
        raise ValueError(f"rle runs add up to {sum(runs)}, expected width*height = {width * height}")
    values = np.zeros(len(runs), dtype=np.uint8)
    values[1::2] = 1
    crop = np.repeat(values, runs).reshape(height, width)
    full = np.zeros((image_height, image_width), dtype=np.uint8)
    full[top:top + height, left:left + width] = crop
    return mask_to_rle(full)


def mask_to_cvat_rle(mask: Mask, box: tuple[int, int, int, int] | None = None
                     ) -> tuple[list[int], int, int, int, int]:
    """``(runs, left, top, width, height)`` of a mask, over `box` (left, top, width, height) when it
    holds every foreground pixel, else over the tight box of the foreground (as CVAT stores masks).
    An empty mask gives a 1x1 crop of background."""
    import numpy as np

    from ...masks import rle_to_mask

    array = rle_to_mask(mask)
    ys, xs = np.nonzero(array)
    if box is not None:
        left, top, width, height = box
        fits = (left >= 0 and top >= 0 and left + width <= mask.width and top + height <= mask.height
                and (xs.size == 0 or (xs.min() >= left and xs.max() < left + width
                                       and ys.min() >= top and ys.max() < top + height)))
        if not fits:
            box = None
    if box is None:
        if xs.size == 0:
            return [1], 0, 0, 1, 1
        left, top = int(xs.min()), int(ys.min())
        width, height = int(xs.max()) - left + 1, int(ys.max()) - top + 1
    else:
        left, top, width, height = box
    flat = array[top:top + height, left:left + width].reshape(-1).astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat[0]:
        runs.insert(0, 0)
    return runs, left, top, width, height
