"""Geometry: part validity codes, clipping, hole bridging and repair (pure coordinate lists)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from picsellia_formats.geometry import (
    PROBLEMS,
    bridge_holes,
    clip_box,
    clip_polygon,
    polygons_part_problems,
    repair_polygon,
)
from picsellia_formats.masks import iou, mask_to_polygons, mask_to_rle, polygon_to_mask, polygon_to_rle
from picsellia_formats.report import Report

SQUARE = [0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0]
BOWTIE = [0.0, 0.0, 2.0, 2.0, 2.0, 0.0, 0.0, 2.0]


def polygon_problems(parts: list) -> list[str]:
    """The codes of one polygon, each once, in `PROBLEMS` order."""
    order = list(PROBLEMS)
    return sorted({code for _, code in polygons_part_problems([parts])[0]}, key=order.index)


# ------------------------------------------------------------------------------------------ box, area


# -------------------------------------------------------------------------------------------- validity


@pytest.mark.parametrize(
    ("parts", "codes"),
    [
        ([SQUARE], []),
        ([SQUARE, SQUARE], []),  # overlapping parts are a union, not a problem
        ([], ["empty"]),
        ([[]], ["empty"]),
        ([[0, 0, 1, 1, 2]], ["odd_coordinates"]),
        ([[0, 0, 1, math.nan, 2, 2]], ["non_finite"]),
        ([[0, 0, 1, math.inf, 2, 2]], ["non_finite"]),
        ([[0, 0, 1, "x", 2, 2]], ["non_finite"]),
        ([[0, 0, 1, 1]], ["too_few_points"]),
        ([[0, 0, 1, 1, 0, 0, 1, 1]], ["too_few_points"]),  # 4 points, 2 distinct
        ([[0, 0, 1, 1, 2, 2]], ["zero_area"]),  # collinear
        ([[0, 0, 4, 0, 4, 0, 0, 0, 2, 0]], ["zero_area"]),
        ([BOWTIE], ["self_intersection"]),
        ([SQUARE, BOWTIE, [0, 0, 1, 1]], ["too_few_points", "self_intersection"]),
        ([[0, 0, 10, 0, 10, 10, 0, 10, 0, 0, 5, 5, 0, 10]], []),  # touches itself, crosses nothing
        ([[10, 0, 16, 18, 1, 7, 19, 7, 4, 18]], ["self_intersection"]),  # a pentagram
    ],
)
def test_polygon_problems(parts: list, codes: list[str]) -> None:
    assert polygon_problems(parts) == codes
    assert all(c in PROBLEMS for c in codes)


def test_part_indices_are_given() -> None:
    assert polygons_part_problems([[SQUARE, BOWTIE, [0, 0, 1, 1]]]) == [[(1, "self_intersection"),
                                                                       (2, "too_few_points")]]


def test_keyhole_rings_from_masks_are_valid() -> None:
    array = np.ones((30, 30), np.uint8)
    array[5:10, 5:10] = 0
    array[15:25, 12:20] = 0
    array[17:20, 14:17] = 1  # an island in a hole
    parts = mask_to_polygons(array)
    assert len(parts) == 2
    assert polygon_problems(parts) == []
    bowtie_keyhole = bridge_holes(BOWTIE, [[0.5, 0.9, 0.6, 0.9, 0.6, 1.0]])
    assert polygon_problems([bowtie_keyhole]) == ["self_intersection"]


def _densify(flat: list[float], per_edge: int) -> list[float]:
    pts = np.reshape(flat, (-1, 2))
    out = []
    for a, b in zip(pts, np.roll(pts, -1, axis=0)):
        for t in np.arange(per_edge) / per_edge:
            out += (a + t * (b - a)).tolist()
    return out


@pytest.mark.parametrize("per_edge", [1, 80])  # 80: rings over 256 vertices take the STRtree path
def test_long_rings(per_edge: int) -> None:
    assert polygon_problems([_densify(SQUARE, per_edge)]) == []
    assert polygon_problems([_densify([10, 0, 16, 18, 1, 7, 19, 7, 4, 18], per_edge)]) == ["self_intersection"]
    assert polygon_problems([_densify([0, 0, 10, 0, 20, 0], per_edge)]) == ["zero_area"]


def test_vectorised_problems_equal_one_by_one() -> None:
    rng = np.random.default_rng(3)
    polys = [[rng.uniform(0, 10, 2 * int(rng.integers(1, 8))).tolist() for _ in range(int(rng.integers(1, 3)))]
             for _ in range(300)]
    batch = polygons_part_problems(polys)
    assert batch == [polygons_part_problems([p])[0] for p in polys]
    assert any(batch) and not all(batch)


# ------------------------------------------------------------------------------------------------ clip


@pytest.mark.parametrize(
    ("box", "clipped"),
    [
        ((1, 1, 3, 3), (1, 1, 3, 3)),
        ((-5, 2, 10, 4), (0, 2, 5, 4)),
        ((5, 5, 10, 10), (5, 5, 5, 5)),
        ((9, 9, 2, 2), (9, 9, 1, 1)),
        ((10, 0, 2, 2), None),
        ((-3, -3, 3, 3), None),
    ],
)
def test_clip_box(box: tuple, clipped: tuple | None) -> None:
    assert clip_box(box, 10, 10) == clipped


def test_clip_polygon_inside_is_unchanged_and_outside_is_gone() -> None:
    inside = [[1, 1, 3, 1, 2, 2]]
    assert clip_polygon(inside, 10, 10) == inside
    assert clip_polygon([[20, 20, 30, 20, 30, 30]], 10, 10) == []
    clipped = clip_polygon([[0, 0, 20, 0, 20, 20, 0, 20]], 10, 10)
    assert len(clipped) == 1 and len(clipped[0]) == 8
    assert sorted(zip(clipped[0][0::2], clipped[0][1::2])) == [(0, 0), (0, 10), (10, 0), (10, 10)]


def test_clip_polygon_keeps_pixels_inside_the_image() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        parts = [rng.uniform(-10, 30, 2 * int(rng.integers(3, 9))).tolist()]
        clipped = clip_polygon(parts, 20, 15)
        # pycocotools cuts at the image border too: the same pixels but where it rounds the cut
        # points to its 1/5 px grid (the edges inside the image come out a hair apart)
        diff = polygon_to_mask(clipped, 15, 20) != polygon_to_mask(parts, 15, 20)
        assert diff.sum() <= 12
        for p in clipped:
            assert min(p[0::2]) >= 0 and max(p[0::2]) <= 20 and min(p[1::2]) >= 0 and max(p[1::2]) <= 15


# ---------------------------------------------------------------------------------------------- repair


def test_repair_splits_a_bowtie_and_drops_degenerate_parts() -> None:
    report = Report()
    fixed = repair_polygon([SQUARE, BOWTIE, [0, 0, 1, 1]], report)
    assert fixed[0] == SQUARE
    assert len(fixed) == 3
    assert polygon_problems(fixed) == []
    assert report.count("changed") == 1 and report.count("dropped") == 1
    assert shapely.MultiPolygon([shapely.Polygon(np.reshape(p, (-1, 2))) for p in fixed[1:]]).area == 2.0


def test_repair_of_a_valid_polygon_is_a_copy() -> None:
    parts = [SQUARE]
    report = Report()
    fixed = repair_polygon(parts, report)
    assert fixed == parts and fixed[0] is not parts[0] and not report


def test_repair_of_a_pentagram_keeps_its_even_odd_pixels() -> None:
    # pycocotools fills by the even-odd rule: the pentagon in the middle of a star stays empty
    star = [10, 0, 16, 18, 1, 7, 19, 7, 4, 18]
    fixed = repair_polygon([star])
    assert polygon_problems(fixed) == []
    assert len(fixed) == 5  # the five points of the star
    before = polygon_to_rle([star], 20, 20)
    after = polygon_to_rle(fixed, 20, 20)
    assert iou(before, after) >= 0.9


#: pixel-range values, plus values far below a pixel (GEOS's overlay is not robust at ~1e-300)
_coord = st.one_of(st.floats(-5, 25, allow_nan=False, allow_infinity=False),
                   st.floats(-1e-290, 1e-290, allow_nan=False, allow_infinity=False))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(_coord, _coord), min_size=1, max_size=9), min_size=1, max_size=3))
def test_repair_always_gives_a_valid_polygon(points: list[list[tuple[float, float]]]) -> None:
    parts = [[v for xy in part for v in xy] for part in points]
    fixed = repair_polygon(parts)
    problems = polygon_problems(fixed)
    assert problems in ([], ["empty"])
    for code in polygon_problems(parts):
        assert code in PROBLEMS


def test_repair_survives_coordinates_that_defeat_make_valid() -> None:
    """shapely.make_valid raised 'Overlay input is mixed-dimension' on this ring (found by hypothesis):
    it is snapped to a finer grid and repaired instead."""
    ring = [-4.499278392795673e-291, -6.30131038209734e-291, 0.0, 2.0, -1.0, 1.0, 0.0, 0.0, 0.0, 1.0,
            2.225073858507203e-309, -1.0, 0.0, 0.0, 1.0, 0.0]
    report = Report()
    fixed = repair_polygon([ring], report)
    assert polygon_problems(fixed) == []
    assert report.count("changed") == 1


def test_mask_to_polygons_output_has_no_problems() -> None:
    rng = np.random.default_rng(9)
    for _ in range(100):
        array = (rng.random((16, 16)) < 0.6).astype(np.uint8)
        parts = mask_to_polygons(mask_to_rle(array))
        assert "self_intersection" not in polygon_problems(parts)
