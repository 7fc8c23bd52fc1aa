"""Kind dispatch: the box and the area of any annotation (box, polygon, mask, keypoints, line, point).

Beside the model because it knows the annotation kinds; the coordinate work is in `geometry`
(pure) and `masks` (RLE).

Example:
    >>> from picsellia_formats.model import Annotation
    >>> annotation_bbox(Annotation("cat", polygon=[[1, 2, 5, 2, 3, 7]]))
    (1, 2, 4, 5)
    >>> annotation_area(Annotation("cat", box=(0.0, 0.0, 2.0, 3.0)))
    6.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .geometry import points_bbox, polygon_area, polygon_bbox

if TYPE_CHECKING:
    from .model import Annotation, Box


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


def shape_bbox(ann: Annotation) -> Box | None:
    """The box computed from an annotation's own geometry (mask, polygon, keypoints, line, point or
    box, by `Annotation.kind`), ignoring a stated box beside it; None for a classification."""
    kind = ann.kind
    if kind == "mask":
        from .masks import rle_bbox

        return rle_bbox(ann.mask)  # type: ignore[arg-type]
    if kind == "polygon":
        return polygon_bbox(ann.polygon)  # type: ignore[arg-type]
    if kind == "keypoints":
        return points_bbox(ann.keypoints, 3)  # type: ignore[arg-type]
    if kind == "line":
        return points_bbox(ann.line)  # type: ignore[arg-type]
    if kind == "point":
        return (ann.point[0], ann.point[1], 0.0, 0.0)  # type: ignore[index]
    return ann.box


def annotation_area(ann: Annotation) -> float:
    """Area of an annotation's primary geometry: mask pixels, polygon area (sum of its parts),
    box area; 0 for keypoints, lines, points and classifications."""
    kind = ann.kind
    if kind == "mask":
        from .masks import rle_area

        return float(rle_area(ann.mask))  # type: ignore[arg-type]
    if kind == "polygon":
        return polygon_area(ann.polygon)  # type: ignore[arg-type]
    if kind == "box":
        return float(ann.box[2] * ann.box[3])  # type: ignore[index]
    return 0.0
