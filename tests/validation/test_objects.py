"""Object rules at the image edge: an overshoot below `EDGE_TOLERANCE` (1e-3 px) is not "out of the image"."""

from __future__ import annotations

import pytest

from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.validation import fix, validate
from picsellia_formats.validation.rules import EDGE_TOLERANCE


def _one(**geometry: object) -> Dataset:
    return Dataset([Label("cat")], [Asset("a.jpg", 640, 480, [Annotation("cat", **geometry)])])


def test_the_tolerance_is_a_millipixel() -> None:
    assert EDGE_TOLERANCE == 1e-3


@pytest.mark.parametrize("box", [
    # YOLO "0 0.950000 0.500000 0.100000 0.100000" on 640 px: the right edge is 640.0000000000001
    ((0.95 - 0.05) * 640, 216.0, 0.1 * 640, 48.0),
    (600.0, 10.0, 40.0004, 20.0),       # 6-decimal rounding of a normalised width (4e-4 px)
    (-0.0009, -0.0009, 10.0, 10.0),     # a hair before the top-left corner
    (0.0, 0.0, 640.0, 480.000999),
])
def test_sub_millipixel_overshoot_is_not_out_of_the_image(box: tuple[float, ...]) -> None:
    # regression (issue 14): bbox-partly-out-of-image on YOLO's rounding, and --fix "clipped" by nothing
    ds = _one(box=box)
    assert "bbox-partly-out-of-image" not in validate(ds).codes()
    fixed, log = fix(ds)
    assert "bbox-partly-out-of-image" not in log.codes
    assert fixed.assets[0].annotations[0].box == box


@pytest.mark.parametrize("box", [(600.0, 10.0, 40.002, 20.0), (-0.01, 0.0, 10.0, 10.0), (0.0, 0.0, 10.0, 481.0)])
def test_a_real_overshoot_is_still_found_and_clipped(box: tuple[float, ...]) -> None:
    ds = _one(box=box)
    assert "bbox-partly-out-of-image" in validate(ds).codes()
    fixed, log = fix(ds)
    assert "bbox-partly-out-of-image" in log.codes
    x, y, w, h = fixed.assets[0].annotations[0].box
    assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480


def test_polygon_overshoot_below_the_tolerance() -> None:
    inside = _one(polygon=[[0.0, 0.0, 640.0004, 0.0, 640.0004, 10.0, 0.0, 10.0]])
    assert "polygon-partly-out-of-image" not in validate(inside).codes()
    outside = _one(polygon=[[0.0, 0.0, 640.5, 0.0, 640.5, 10.0, 0.0, 10.0]])
    assert "polygon-partly-out-of-image" in validate(outside).codes()
