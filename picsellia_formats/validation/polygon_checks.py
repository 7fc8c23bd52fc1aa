"""Polygon numbers for the validator, in bulk: areas, bounds, finiteness and self-crossing of every part.

Self-crossing follows `picsellia_formats.geometry` (two edges crossing; a ring touching itself, as
the keyhole cuts of traced masks do, is fine): GEOS tests every ring at once and only the rings it
flags are confirmed one by one with `geometry.polygons_part_problems`. Repair and clipping (for
``fix``) are `geometry.repair_polygon` and `geometry.clip_polygon`.

Example:
    >>> stats = PartStats([[0, 0, 4, 0, 4, 4, 0, 4], [0, 0, 4, 4, 4, 0, 0, 4]])
    >>> simple_flags(stats).tolist(), stats.area.tolist()
    ([True, False], [16.0, 0.0])
    >>> inside_area([[-2, 0, 2, 0, 2, 2, -2, 2]], 10, 10)
    4.0
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np
import shapely

_CHUNK = 200_000
#: area at or below which a part has none (as `geometry.polygons_part_problems` counts it)
ZERO_AREA = 1e-9


def crosses(part: list[float]) -> bool:
    """Whether two edges of one ring cross (`geometry`'s definition: touching is fine).

    Example:
        >>> crosses([0, 0, 4, 4, 4, 0, 0, 4]), crosses([0, 0, 4, 0, 4, 4])
        (True, False)
    """
    from ..geometry import polygons_part_problems

    return any(code == "self_intersection" for _, code in polygons_part_problems([[part]])[0])


def simple_flags(stats: PartStats, selected: Any = None) -> np.ndarray:
    """For the `selected` parts of `stats` (indices; all by default): does the ring not cross itself?

    The rings are gathered from the flat coordinate arrays of `stats` and tested with GEOS in chunks
    (``linearrings`` + ``is_valid``): no per-ring Python objects. Rings that `star_shaped` proves
    simple skip GEOS. GEOS also refuses rings that merely touch themselves; those few are confirmed
    with `geometry.polygons_part_problems`.
    """
    sel = np.arange(len(stats.n)) if selected is None else np.asarray(selected, np.int64)
    out = np.ones(len(sel), bool)
    star = star_shaped(stats)
    todo = np.flatnonzero(~star[sel])
    for lo in range(0, len(todo), _CHUNK):
        where = todo[lo:lo + _CHUNK]
        chunk = sel[where]
        lens = stats.n[chunk]
        total = int(lens.sum())
        if not total:
            continue
        base = np.repeat(stats.starts[chunk], lens)
        offsets = np.zeros(len(chunk), np.int64)
        np.cumsum(lens[:-1], out=offsets[1:])
        within = np.arange(total) - np.repeat(offsets, lens)
        gather = base + within
        coords = np.column_stack((stats.x[gather], stats.y[gather]))
        rings = shapely.linearrings(coords, indices=np.repeat(np.arange(len(chunk)), lens))
        with np.errstate(all="ignore"):  # ~1e-300 coordinates: GEOS's division, not a user's warning
            out[where] = shapely.is_valid(rings)
    suspects = np.flatnonzero(~out)
    if len(suspects):
        from ..geometry import polygons_part_problems

        parts = [[np.column_stack((stats.x[a:a + n], stats.y[a:a + n])).ravel().tolist()]
                 for a, n in zip(stats.starts[sel[suspects]].tolist(), stats.n[sel[suspects]].tolist())]
        for k, problems in zip(suspects.tolist(), polygons_part_problems(parts)):
            out[k] = not any(code == "self_intersection" for _, code in problems)
    return out


def star_shaped(stats: PartStats) -> np.ndarray:
    """Per part: True when the ring is provably simple because it is star-shaped from its vertex
    mean, i.e. walking the ring turns around that point once, each step by an angle strictly between
    0 and π, always the same way. The wedges (mean, v_i, v_i+1) then tile the turn without
    overlapping, so no two edges can cross. False means "not proven", not "crossing".

    Example:
        >>> star_shaped(PartStats([[0, 0, 4, 0, 4, 4, 0, 4], [0, 0, 4, 4, 4, 0, 0, 4]])).tolist()
        [True, False]
    """
    n = stats.n
    if not len(n) or not len(stats.x):
        return np.zeros(len(n), bool)
    starts = stats.starts
    owner = np.repeat(np.arange(len(n)), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.add.reduceat(stats.x, starts) / n
        cy = np.add.reduceat(stats.y, starts) / n
        angle = np.arctan2(stats.y - cy[owner], stats.x - cx[owner])
        nxt = np.arange(1, len(angle) + 1)
        nxt[starts + n - 1] = starts
        step = np.mod(angle[nxt] - angle, 2 * np.pi)  # in [0, 2π)
        ccw = (step > 1e-9) & (step < np.pi - 1e-9)
        cw_step = 2 * np.pi - step
        cw = (cw_step > 1e-9) & (cw_step < np.pi - 1e-9)
        all_ccw = np.logical_and.reduceat(ccw, starts)
        all_cw = np.logical_and.reduceat(cw, starts)
        turn_ccw = np.add.reduceat(np.where(ccw, step, 0.0), starts)
        turn_cw = np.add.reduceat(np.where(cw, cw_step, 0.0), starts)
        once = 1e-6
        return (n >= 3) & ((all_ccw & (np.abs(turn_ccw - 2 * np.pi) < once))
                           | (all_cw & (np.abs(turn_cw - 2 * np.pi) < once)))


def _geometry(parts: list[list[float]], grid: float = 0.0) -> Any:
    """The union of a polygon's parts (each part made valid first), on a `grid` (0: exact)."""
    polys = []
    for part in parts:
        if len(part) < 6:
            continue
        poly = shapely.Polygon(np.asarray(part, dtype=np.float64).reshape(-1, 2))
        if grid:
            poly = shapely.set_precision(poly, grid)
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
        polys.append(poly)
    if not polys:
        return shapely.Polygon()
    return shapely.union_all(polys) if len(polys) > 1 else polys[0]


def inside_area(parts: list[list[float]], width: float, height: float) -> float:
    """Area of the polygon's parts that lies within the ``width`` × ``height`` image (coordinates that
    defeat GEOS's overlay, e.g. ~1e-300 beside pixels, are snapped to a 1e-6 grid first)."""
    frame = shapely.box(0, 0, width, height)
    try:
        return float(shapely.intersection(_geometry(parts), frame).area)
    except shapely.errors.GEOSException:
        return float(shapely.intersection(_geometry(parts, 1e-6), frame).area)


class PartStats:
    """Per-part numbers of many polygon parts at once (numpy arrays, one entry per part):
    ``finite``, ``area`` (shoelace), ``x0``, ``y0``, ``x1``, ``y1`` (vertex bounds), ``n`` (vertices).

    Example:
        >>> s = PartStats([[0, 0, 4, 0, 4, 3, 0, 3], [1, 1, 2, 2, 3, 3]])
        >>> s.area.tolist(), s.x1.tolist(), s.n.tolist()
        ([12.0, 0.0], [4.0, 3.0], [4, 3])
    """

    def __init__(self, parts: list[list[float]]) -> None:
        n = len(parts)
        lens = np.fromiter(map(len, parts), np.int64, n)
        self.n = lens >> 1
        total = int(lens.sum())
        flat = np.fromiter(chain.from_iterable(parts), np.float64, total)
        x, y = flat[0::2], flat[1::2]
        starts = np.zeros(n, np.int64)
        if n > 1:
            np.cumsum(self.n[:-1], out=starts[1:])
        self.starts = starts
        self.x, self.y = x, y
        self.finite = np.logical_and.reduceat(np.isfinite(flat), starts * 2) if total else np.ones(n, bool)
        if not total:
            zeros = np.zeros(n)
            self.area = self.x0 = self.y0 = self.x1 = self.y1 = zeros
            return
        nxt = np.arange(1, len(x) + 1)
        nxt[starts + self.n - 1] = starts
        with np.errstate(invalid="ignore", over="ignore"):
            cross = x * y[nxt] - x[nxt] * y
            self.area = np.abs(np.add.reduceat(cross, starts)) / 2.0
        self.x0 = np.minimum.reduceat(x, starts)
        self.y0 = np.minimum.reduceat(y, starts)
        self.x1 = np.maximum.reduceat(x, starts)
        self.y1 = np.maximum.reduceat(y, starts)
