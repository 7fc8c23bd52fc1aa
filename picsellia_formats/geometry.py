"""Pure geometry on coordinate lists: areas, boxes, part validity, clipping, hole bridging, repair.

No model and no masks here: what dispatches on an annotation's kind is `picsellia_formats.shapes`.

Hot-path helpers work on plain Python lists (no per-object numpy arrays), which is what the
readers produce and what is fastest for the short vertex lists of annotation polygons.

Example:
    >>> polygon_area([[0, 0, 4, 0, 4, 3, 0, 3]])
    12.0
    >>> polygon_bbox([[1, 2, 5, 2, 3, 7]])
    (1, 2, 4, 5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
from operator import mul
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .report import Report

#: ``(x, y, w, h)``, as `picsellia_formats.model.Box`.
Box = tuple[float, float, float, float]

_isfinite = math.isfinite


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


def polygon_areas(polygons: list[list[list[float]]], *, refuse_odd: bool = False) -> list[float]:
    """Areas of many (multi-part) polygons at once, vectorised: one numpy pass for the whole list.

    A part with an odd number of coordinates loses its last one, or with `refuse_odd` raises ValueError (a
    caller that must refuse such a polygon learns it here, not in a loop of its own).

    Example:
        >>> polygon_areas([[[0, 0, 4, 0, 4, 3, 0, 3]], [[0, 0, 1, 0, 0, 1], [5, 5, 6, 5, 5, 6]]])
        [12.0, 1.0]
    """
    parts_all = [part for parts in polygons for part in parts]
    if not parts_all:  # box-only data (the COCO writer asks for every batch): no need to load numpy
        return [0.0] * len(polygons)
    import numpy as np

    lens = np.fromiter(map(len, parts_all), dtype=np.int64, count=len(parts_all))
    if refuse_odd and (lens & 1).any():
        raise ValueError("a polygon part with an odd number of coordinates")
    if (lens & 1).any() or (lens == 0).any():
        parts_all = [part[: len(part) & ~1] for part in parts_all]
        keep = [len(p) > 0 for p in parts_all]
        owners_all = np.repeat(np.arange(len(polygons)), [len(p) for p in polygons])
        parts_all = [p for p, k in zip(parts_all, keep) if k]
        owners = owners_all[np.asarray(keep, dtype=bool)] if len(keep) else owners_all
        lens = np.fromiter(map(len, parts_all), dtype=np.int64, count=len(parts_all))
    else:
        owners = np.repeat(np.arange(len(polygons)), np.fromiter(map(len, polygons), dtype=np.int64,
                                                                 count=len(polygons)))
    total = int(lens.sum())
    if not total:
        return [0.0] * len(polygons)
    flat = np.fromiter(chain.from_iterable(parts_all), dtype=np.float64, count=total)
    x, y = flat[0::2], flat[1::2]
    npts = lens >> 1
    starts = np.zeros(len(npts), dtype=np.int64)
    np.cumsum(npts[:-1], out=starts[1:])
    nxt = np.arange(1, len(x) + 1)
    nxt[starts + npts - 1] = starts
    cross = x * y[nxt] - x[nxt] * y
    ring_area = np.abs(np.add.reduceat(cross, starts)) / 2.0
    return np.bincount(owners, weights=ring_area, minlength=len(polygons)).tolist()


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


# ----------------------------------------------------------------------------------- validity codes

#: Problem codes of `polygons_part_problems`, with what each means (validation turns them into findings).
PROBLEMS: dict[str, str] = {
    "empty": "no parts (or no coordinates)",
    "odd_coordinates": "a part has an odd number of coordinates",
    "non_finite": "a coordinate is NaN or infinite",
    "too_few_points": "a part has fewer than 3 distinct points",
    "zero_area": "a part encloses no area",
    "self_intersection": "two edges of a part cross (touching, as keyhole cuts do, is fine)",
}
_ZERO_AREA = 1e-9
_AREAL = ("Polygon", "MultiPolygon")


def _part_basic(part: Sequence[float]) -> str | None:
    """The first cheap problem of one part (odd length, non-finite, too few points)."""
    n = len(part)
    if n & 1:
        return "odd_coordinates"
    try:
        if not _isfinite(sum(part)):
            return "non_finite"
    except TypeError:
        return "non_finite"
    if n < 6:
        return "too_few_points"
    a, b, c = (part[0], part[1]), (part[2], part[3]), (part[4], part[5])
    if (a == b or b == c or a == c) and len(set(zip(part[0::2], part[1::2]))) < 3:
        return "too_few_points"
    return None


def polygons_part_problems(polygons: Sequence[Sequence[Sequence[float]]]) -> list[list[tuple[int, str]]]:
    """For each (multi-part) polygon, its ``(part index, code)`` problems; vectorised over all parts
    (one shapely 2 call for the self-intersection test of every ring).

    Part index -1 is for the whole object (``empty``). A keyhole ring (a hole joined to its outer
    ring by a zero-width cut, as `masks.mask_to_polygons` writes) is not a self-intersection.

    Example:
        >>> polygons_part_problems([[[0, 0, 2, 2, 2, 0, 0, 2]], [[0, 0, 1, 0]], []])
        [[(0, 'self_intersection')], [(0, 'too_few_points')], [(-1, 'empty')]]
    """
    import numpy as np
    import shapely

    out: list[list[tuple[int, str]]] = [[] for _ in polygons]
    flat: list[float] = []
    ring_sizes: list[int] = []
    ring_ids: list[tuple[int, int]] = []
    for i, parts in enumerate(polygons):
        if not parts or not any(len(p) for p in parts):
            out[i].append((-1, "empty"))
            continue
        for j, part in enumerate(parts):
            why = _part_basic(part)
            if why is not None:
                out[i].append((j, why))
            else:
                flat.extend(part)
                ring_sizes.append(len(part) >> 1)
                ring_ids.append((i, j))
    if ring_ids:
        xy = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
        indices = np.repeat(np.arange(len(ring_sizes)), ring_sizes)
        rings = shapely.linearrings(xy, indices=indices)
        sizes = np.asarray(ring_sizes)
        starts = np.zeros(len(sizes), dtype=np.int64)
        np.cumsum(sizes[:-1], out=starts[1:])
        nxt = np.arange(1, len(xy) + 1)
        nxt[starts + sizes - 1] = starts
        cross = xy[:, 0] * xy[nxt, 1] - xy[nxt, 0] * xy[:, 1]
        stated = np.abs(np.add.reduceat(cross, starts)) / 2.0  # shoelace, every ring at once
        with np.errstate(all="ignore"):  # ~1e-300 coordinates: GEOS divides by them; the ring is checked anyway
            simple = shapely.is_simple(rings)
        suspect = ~simple | (stated <= _ZERO_AREA)
        if suspect.any():
            bad = np.flatnonzero(suspect)
            crossing = _crossing_rings(xy, np.asarray(ring_sizes), bad)
            for k in bad.tolist():
                i, j = ring_ids[k]
                if k in crossing:
                    out[i].append((j, "self_intersection"))
                elif stated[k] <= _ZERO_AREA:
                    out[i].append((j, "zero_area"))
            for problems in out:
                problems.sort()
    return out


def _crossing_rings(xy: Any, sizes: Any, which: Any) -> set[int]:
    """The rings among `which` (indices into `sizes`) two of whose edges cross at a point inside
    both (touching at a vertex or running along each other, as keyhole cuts do, is no crossing).
    Ring by ring, so that rings of different objects never meet."""
    import numpy as np
    import shapely

    starts = np.zeros(len(sizes), dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    out: set[int] = set()
    for k in which.tolist():
        p = xy[starts[k]:starts[k] + sizes[k]]
        q = np.roll(p, -1, axis=0)
        if len(p) <= 256:  # all pairs at once: orientation tests
            d = q - p
            # orient(a, b, c) = (b - a) x (c - a) for every edge (rows) against every vertex (cols)
            o = d[:, None, 0] * (p[None, :, 1] - p[:, None, 1]) - d[:, None, 1] * (p[None, :, 0] - p[:, None, 0])
            o_next = np.roll(o, -1, axis=1)  # against the far end of each other edge
            straddle = o * o_next < 0  # edge i separates the two ends of edge j
            if (straddle & straddle.T).any():
                out.add(k)
        else:
            segs = shapely.linestrings(np.stack([p, q], axis=1))
            a, _ = shapely.STRtree(segs).query(segs, predicate="crosses")
            if len(a):
                out.add(k)
    return out


# -------------------------------------------------------------------------------------------- clip


def clip_box(box: Sequence[float], width: float, height: float) -> Box | None:
    """The part of a box inside the image ``[0, width] x [0, height]``; None when nothing is left.

    Example:
        >>> clip_box((-5, 2, 10, 4), 8, 8), clip_box((9, 9, 2, 2), 8, 8)
        ((0, 2, 5, 4), None)
    """
    x, y, w, h = box
    x0 = x if x > 0 else 0
    y0 = y if y > 0 else 0
    x1 = x + w if x + w < width else width
    y1 = y + h if y + h < height else height
    if x1 <= x0 or y1 <= y0:
        return None
    if x0 == x and y0 == y and x1 == x + w and y1 == y + h:
        return (x, y, w, h)
    return (x0, y0, x1 - x0, y1 - y0)


def _clip_edge(pts: list[tuple[float, float]], axis: int, bound: float, keep_below: bool
               ) -> list[tuple[float, float]]:
    """One Sutherland-Hodgman pass: keep the side of ``coord[axis] <= bound`` (or ``>=``)."""
    out: list[tuple[float, float]] = []
    if not pts:
        return out
    prev = pts[-1]
    prev_in = prev[axis] <= bound if keep_below else prev[axis] >= bound
    for cur in pts:
        cur_in = cur[axis] <= bound if keep_below else cur[axis] >= bound
        if cur_in != prev_in:
            t = (bound - prev[axis]) / (cur[axis] - prev[axis])
            other = 1 - axis
            cross = prev[other] + t * (cur[other] - prev[other])
            out.append((bound, cross) if axis == 0 else (cross, bound))
        if cur_in:
            out.append(cur)
        prev, prev_in = cur, cur_in
    return out


def clip_polygon(parts: Sequence[Sequence[float]], width: float, height: float) -> list[list[float]]:
    """The parts of a polygon inside the image ``[0, width] x [0, height]`` (Sutherland-Hodgman per
    part, which keeps even-odd fills exact). Parts fully inside come back unchanged (same values);
    parts left with no area go. ``[]`` when nothing is inside.

    Example:
        >>> clip_polygon([[-2.0, 0.0, 4.0, 0.0, 4.0, 4.0, -2.0, 4.0]], 10, 10)
        [[0, 0.0, 4.0, 0.0, 4.0, 4.0, 0, 4.0]]
    """
    out: list[list[float]] = []
    for part in parts:
        xs = part[0::2]
        ys = part[1::2]
        if not xs:
            continue
        if min(xs) >= 0 and min(ys) >= 0 and max(xs) <= width and max(ys) <= height:
            out.append(list(part))
            continue
        pts = list(zip(xs, ys))
        pts = _clip_edge(pts, 0, 0, False)
        pts = _clip_edge(pts, 0, width, True)
        pts = _clip_edge(pts, 1, 0, False)
        pts = _clip_edge(pts, 1, height, True)
        ring: list[float] = []
        last = None
        for p in pts:
            if p != last:
                ring.extend(p)
                last = p
        if len(ring) >= 4 and ring[0] == ring[-2] and ring[1] == ring[-1]:
            del ring[-2:]
        if len(ring) >= 6 and ring_area(ring) > _ZERO_AREA:
            out.append(ring)
    return out


# ------------------------------------------------------------------------------------------- repair


def bridge_holes(outer: list[float], holes: Sequence[Sequence[float]]) -> list[float]:
    """One flat ring walking `outer` and, through zero-width cuts walked there and back, every hole:
    a "keyhole" ring that pycocotools (even-odd fill) rasterises as the outer ring minus the holes.

    Each cut runs straight up from the hole's top-most (then left-most) vertex to the first edge
    above it, of the outer ring or of another hole (which is then joined in turn), so cuts cross
    nothing and the ring stays valid for shapely (touching itself only along the cuts).

    Example:
        >>> bridge_holes([0, 0, 0, 4, 4, 4, 4, 0], [[1, 1, 2, 1, 2, 2]])
        [0, 0, 0, 4, 4, 4, 4, 0, 1, 0.0, 1, 1, 2, 1, 2, 2, 1, 1, 1, 0.0]
    """
    holes = [list(h) for h in holes if len(h) >= 6]
    if not holes:
        return list(outer)
    import numpy as np

    rings = [list(outer), *holes]
    # every edge of every ring: x1, y1, x2, y2, ring, index of its first vertex
    segs = []
    for r, ring in enumerate(rings):
        xy = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        nxt = np.roll(xy, -1, axis=0)
        n = len(xy)
        segs.append(np.column_stack([xy, nxt, np.full(n, r), np.arange(n)]))
    edges = np.concatenate(segs)
    x1, y1, x2, y2 = edges[:, 0], edges[:, 1], edges[:, 2], edges[:, 3]
    lo, hi = np.minimum(x1, x2), np.maximum(x1, x2)
    slanted = x1 != x2
    dx = np.where(slanted, x2 - x1, 1.0)
    tops = []
    for hole in holes:
        ys = hole[1::2]
        top_y = min(ys)
        k = min((hole[2 * i], i) for i, y in enumerate(ys) if y == top_y)[1]
        tops.append(k)
    parent: dict[int, tuple[int, int, float, float, float]] = {}  # hole -> (ring, edge, t, hx, hy)
    for h, k in enumerate(tops, start=1):
        hx, hy = rings[h][2 * k], rings[h][2 * k + 1]
        on = slanted & (lo <= hx) & (hx <= hi) & (edges[:, 4] != h)
        y_at = y1 + (hx - x1) * (y2 - y1) / dx
        on &= y_at <= hy
        if on.any():
            i = int(np.flatnonzero(on)[np.argmax(y_at[on])])
            t = (hx - x1[i]) / (x2[i] - x1[i])
            parent[h] = (int(edges[i, 4]), int(edges[i, 5]), float(t), hx, float(y_at[i]))
    for h in range(1, len(rings)):  # no edge above (or a loop): join the nearest outer vertex
        seen = {h}
        p = parent.get(h)
        while p is not None and p[0] != 0 and p[0] not in seen:
            seen.add(p[0])
            p = parent.get(p[0])
        if p is None or p[0] != 0:
            k = tops[h - 1]
            hx, hy = rings[h][2 * k], rings[h][2 * k + 1]
            xy = np.asarray(outer, dtype=np.float64).reshape(-1, 2)
            v = int(((xy - (hx, hy)) ** 2).sum(axis=1).argmin())
            parent[h] = (0, v, 0.0, float(xy[v, 0]), float(xy[v, 1]))
    children: dict[tuple[int, int], list[tuple[float, int]]] = {}
    for h, (r, e, t, _, _) in parent.items():
        children.setdefault((r, e), []).append((t, h))
    for kids in children.values():
        kids.sort()
    out: list[float] = []
    # walk the rings depth first without recursion: frame = [ring, start vertex, step, next child]
    frames = [[0, 0, 0, -1]]
    while frames:
        f = frames[-1]
        r, start, step, ci = f
        ring = rings[r]
        n = len(ring) >> 1
        if step == n:
            frames.pop()
            if r:
                out += (ring[2 * start], ring[2 * start + 1])
                _, _, _, px, py = parent[r]
                out += (px, py)
            continue
        k = (start + step) % n
        if ci < 0:
            out += (ring[2 * k], ring[2 * k + 1])
            f[3] = 0
            continue
        kids = children.get((r, k), ())
        if ci < len(kids):
            h = kids[ci][1]
            f[3] = ci + 1
            _, _, _, px, py = parent[h]
            out += (px, py)
            frames.append([h, tops[h - 1], 0, -1])
            continue
        f[2] = step + 1
        f[3] = -1
    ring_out: list[float] = []
    for i in range(0, len(out), 2):
        if not ring_out or out[i] != ring_out[-2] or out[i + 1] != ring_out[-1]:
            ring_out += (out[i], out[i + 1])
    while len(ring_out) > 2 and ring_out[-2:] == ring_out[:2]:
        del ring_out[-2:]
    return ring_out


#: grids a ring is snapped to when ``make_valid`` fails on it or leaves it crossing (coordinates
#: thousands of times below a pixel: GEOS's overlay is not robust at ~1e-300)
_SNAP_GRIDS = (0.0, 1e-9, 1e-6)


def _valid_pieces(part: Sequence[float]) -> list[list[float]]:
    """The valid parts ``shapely.make_valid`` makes of one self-crossing ring (holes bridged), snapped
    to a finer grid first only when the exact coordinates defeat it; [] when nothing with area is left."""
    import numpy as np
    import shapely

    ring = shapely.Polygon(list(zip(part[0::2], part[1::2])))
    for grid in _SNAP_GRIDS:
        try:  # GEOS's division by ~1e-300 is what the next grid is for, not a warning to print
            with np.errstate(all="ignore"):
                fixed = shapely.make_valid(shapely.set_precision(ring, grid) if grid else ring)
        except shapely.errors.GEOSException:
            continue
        pieces = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in _AREAL]
        polys = sorted((p for g in pieces for p in getattr(g, "geoms", [g])),
                       key=lambda p: (p.bounds[1], p.bounds[0]))
        out = []
        for poly in polys:
            if poly.area <= _ZERO_AREA:
                continue
            outer = [v for xy in poly.exterior.coords[:-1] for v in xy]
            holes = [[v for xy in r.coords[:-1] for v in xy] for r in poly.interiors]
            out.append(bridge_holes(outer, holes))
        if not any(code == "self_intersection" for _, code in polygons_part_problems([out])[0]):
            return out
    return []


def repair_polygon(parts: Sequence[Sequence[float]], report: Report | None = None) -> list[list[float]]:
    """A valid version of a polygon: parts with fewer than 3 distinct points, no area, an odd count
    or non-finite values are dropped; self-crossing parts are rebuilt with
    ``shapely.make_valid`` (the "linework" method, i.e. the even-odd fill pycocotools draws), each
    resulting piece a part, its holes joined by keyhole cuts (`bridge_holes`). Valid parts come back
    unchanged. What was done goes to `report` (``changed``/``dropped``), once per polygon.

    Example:
        >>> repair_polygon([[0, 0, 2, 2, 2, 0, 0, 2], [5, 5, 6, 6]])
        [[0.0, 2.0, 1.0, 1.0, 0.0, 0.0], [2.0, 0.0, 1.0, 1.0, 2.0, 2.0]]
    """
    problems = dict(polygons_part_problems([parts])[0])
    if not problems:
        return [list(p) for p in parts]

    out: list[list[float]] = []
    repaired = dropped = False
    for j, part in enumerate(parts):
        code = problems.get(j)
        if code is None:
            out.append(list(part))
        elif code == "self_intersection":
            repaired = True
            pieces = _valid_pieces(part)
            out.extend(pieces)
            dropped = dropped or not pieces
        else:
            dropped = True
    if report is not None:
        if repaired:
            report.changed("self-intersecting polygons repaired", why="shapely.make_valid")
        if dropped:
            report.dropped("polygon parts without area", why="fewer than 3 distinct points or zero area")
    return out
