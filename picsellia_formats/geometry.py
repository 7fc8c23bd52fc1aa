"""Pure geometry on the model's shapes: boxes and areas.

Hot-path helpers work on plain Python lists (no per-object numpy arrays), which is what the
readers produce and what is fastest for the short vertex lists of annotation polygons.

Example:
    >>> polygon_area([[0, 0, 4, 0, 4, 3, 0, 3]])
    12.0
    >>> polygon_bbox([[1, 2, 5, 2, 3, 7]])
    (1, 2, 4, 5)
"""

from __future__ import annotations

from operator import mul
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Annotation, Box


def ring_area(part: list[float]) -> float:
    """Unsigned shoelace area of one closed ring given as flat ``[x0, y0, x1, y1, ...]``."""
    xs = part[0::2]
    ys = part[1::2]
    if len(xs) < 3:
        return 0.0
    s = sum(map(mul, xs, ys[1:] + ys[:1])) - sum(map(mul, ys, xs[1:] + xs[:1]))
    return abs(s) / 2.0


def polygon_area(parts: list[list[float]]) -> float:
    """Area of a (multi-part) polygon: the sum of its parts' shoelace areas."""
    return float(sum(ring_area(p) for p in parts))


def polygon_bbox(parts: list[list[float]]) -> Box:
    """Tight box ``(x, y, w, h)`` around every vertex of every part."""
    xs = [v for p in parts for v in p[0::2]]
    ys = [v for p in parts for v in p[1::2]]
    if not xs:
        return (0.0, 0.0, 0.0, 0.0)
    x0, y0 = min(xs), min(ys)
    return (x0, y0, max(xs) - x0, max(ys) - y0)


def points_bbox(flat: list[float], stride: int = 2) -> Box | None:
    """Box of flat points (``stride`` 3 for keypoints, skipping those with visibility 0)."""
    if stride == 3:
        pts = [(flat[i], flat[i + 1]) for i in range(0, len(flat) - 2, 3) if flat[i + 2] > 0]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
    else:
        xs = flat[0::2]
        ys = flat[1::2]
    if not xs:
        return None
    x0, y0 = min(xs), min(ys)
    return (x0, y0, max(xs) - x0, max(ys) - y0)


def annotation_bbox(ann: Annotation) -> Box | None:
    """The box of an annotation: the stated one, else one computed from its geometry."""
    if ann.box is not None:
        return ann.box
    if ann.polygon:
        return polygon_bbox(ann.polygon)
    if ann.mask is not None:
        from .masks import rle_bbox

        return rle_bbox(ann.mask)
    if ann.keypoints:
        return points_bbox(ann.keypoints, 3)
    if ann.line:
        return points_bbox(ann.line)
    if ann.point is not None:
        return (ann.point[0], ann.point[1], 0.0, 0.0)
    return None
