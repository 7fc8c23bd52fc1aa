"""The bulk polygon numbers agree with the one-ring definitions of `picsellia_formats.geometry`."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from picsellia_formats.geometry import polygons_part_problems, ring_area
from picsellia_formats.validation.polygon_checks import PartStats, simple_flags, star_shaped


def _rings(seed: int, n: int = 400) -> list[list[float]]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        m = rng.randint(3, 14)
        style = k % 4
        if style == 0:  # star-shaped: sorted angles around a centre
            angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(m))
            pts = [(50 + math.cos(a) * rng.uniform(5, 40), 50 + math.sin(a) * rng.uniform(5, 40)) for a in angles]
        elif style == 1:  # anything: random vertices, mostly crossing
            pts = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(m)]
        elif style == 2:  # integer grid: repeated points, collinear runs, touching
            pts = [(rng.randint(0, 6), rng.randint(0, 6)) for _ in range(m)]
        else:  # star-shaped, then one vertex pushed through the centre
            angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(m))
            pts = [(50 + math.cos(a) * 30, 50 + math.sin(a) * 30) for a in angles]
            i = rng.randrange(m)
            pts[i] = (100 - pts[i][0], 100 - pts[i][1])
        if rng.random() < 0.5:
            pts.reverse()
        out.append([float(v) for p in pts for v in p])
    return out


@pytest.mark.parametrize("seed", range(5))
def test_simple_flags_agree_with_geometry(seed: int) -> None:
    rings = [r for r in _rings(seed) if ring_area(r) > 1e-9 and len(set(zip(r[0::2], r[1::2]))) >= 3]
    stats = PartStats(rings)
    ours = simple_flags(stats).tolist()
    theirs = [not any(code == "self_intersection" for _, code in problems)
              for problems in polygons_part_problems([[r] for r in rings])]
    assert ours == theirs
    assert 0 < sum(ours) < len(ours)


@pytest.mark.parametrize("seed", range(5))
def test_star_shaped_rings_never_cross(seed: int) -> None:
    rings = _rings(seed)
    stars = star_shaped(PartStats(rings))
    assert stars.any()
    for ring, star in zip(rings, stars.tolist()):
        if star:
            assert not any(code == "self_intersection" for _, code in polygons_part_problems([[ring]])[0]), ring


def test_part_stats_match_plain_python() -> None:
    rings = _rings(7, 200)
    stats = PartStats(rings)
    assert np.allclose(stats.area, [ring_area(r) for r in rings])
    assert stats.x0.tolist() == [min(r[0::2]) for r in rings] and stats.y1.tolist() == [max(r[1::2]) for r in rings]
    assert PartStats([[1.0, math.nan, 2.0, 2.0, 3.0, 1.0], [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]]).finite.tolist() == [
        False, True]


def test_inside_area_survives_coordinates_that_defeat_geos() -> None:
    """GEOS raised 'Overlay input is mixed-dimension' on this ring (found by hypothesis)."""
    from picsellia_formats.validation.polygon_checks import inside_area

    ring = [-4.499278392795673e-291, -6.30131038209734e-291, 0.0, 2.0, -1.0, 1.0, 0.0, 0.0, 0.0, 1.0,
            2.225073858507203e-309, -1.0, 0.0, 0.0, 1.0, 0.0]
    assert inside_area([ring], 10, 10) == pytest.approx(0.0, abs=1e-5)  # its only area lies at x <= 0
