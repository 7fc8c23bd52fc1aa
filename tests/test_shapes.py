"""Kind dispatch: the box and area of every annotation kind."""

from __future__ import annotations

import pytest

from picsellia_formats.model import Annotation, Mask
from picsellia_formats.shapes import annotation_area, annotation_bbox, shape_bbox

SQUARE = [0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0]


@pytest.mark.parametrize(
    ("ann", "box"),
    [
        (Annotation("a", box=(1.0, 2.0, 3.0, 4.0)), (1.0, 2.0, 3.0, 4.0)),
        (Annotation("a", polygon=[[1, 2, 5, 2, 3, 7]], box=(0, 0, 99, 99)), (1, 2, 4, 5)),
        (Annotation("a", mask=Mask(2, 3, [1, 4, 1])), (0.0, 0.0, 3.0, 2.0)),
        (Annotation("a", keypoints=[1, 1, 2, 50, 50, 0, 4, 5, 1]), (1, 1, 3, 4)),
        (Annotation("a", line=[0, 0, 10, 5]), (0, 0, 10, 5)),
        (Annotation("a", point=(3.0, 4.0)), (3.0, 4.0, 0.0, 0.0)),
        (Annotation("a"), None),
    ],
)
def test_shape_bbox_of_every_kind(ann: Annotation, box: tuple | None) -> None:
    assert shape_bbox(ann) == box


def test_annotation_area_of_every_kind() -> None:
    assert annotation_area(Annotation("a", box=(0, 0, 3, 4))) == 12.0
    assert annotation_area(Annotation("a", polygon=[SQUARE, [10, 10, 12, 10, 12, 12, 10, 12]])) == 20.0
    assert annotation_area(Annotation("a", mask=Mask(2, 3, [1, 4, 1]))) == 4.0
    assert annotation_area(Annotation("a", point=(1, 1))) == 0.0


@pytest.mark.parametrize(
    ("ann", "box"),
    [
        (Annotation("a", polygon=[[1, 2, 5, 2, 3, 7]], box=(0, 0, 99, 99)), (0, 0, 99, 99)),  # the stated box
        (Annotation("a", polygon=[[1, 2, 5, 2, 3, 7]]), (1, 2, 4, 5)),
        (Annotation("a"), None),
    ],
)
def test_annotation_bbox_prefers_the_stated_box(ann: Annotation, box: tuple | None) -> None:
    assert annotation_bbox(ann) == box


def test_geometry_knows_no_annotation_kinds() -> None:
    """The kind dispatch lives in `shapes` only: geometry is pure coordinate work."""
    from picsellia_formats import geometry

    for name in ("annotation_bbox", "shape_bbox", "annotation_area", "box_problems"):
        assert not hasattr(geometry, name), name
