"""One ring from a multi-part polygon, joined by zero-width bridges, as Ultralytics' COCO converter does.

A YOLO segment row holds one ring, so an object of several parts is written as one ring that walks
part 0 (closed), jumps to part 1 at the closest pair of vertices, ..., walks the last part (closed) and
comes back through the other halves of the middle parts; each jump is walked there and back, so the
bridges have no width. The rule (``merge_multi_segment`` in ``ultralytics/data/converter.py``,
described in ``fixtures/real_exports/NOTES.md``) is followed step by step so that our rows equal the ones
Ultralytics writes from the same COCO object; the tests compare with Ultralytics' own function.

Example:
    >>> join_parts([[0, 0, 1, 0, 1, 1], [5, 5, 6, 5, 6, 6]])
    [1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 5.0, 5.0, 6.0, 5.0, 6.0, 6.0, 5.0, 5.0]
"""

from __future__ import annotations

Point = tuple[float, float]


def _closest(a: list[Point], b: list[Point]) -> tuple[int, int]:
    """Indexes of the closest pair (vertex of `a`, vertex of `b`); the first one in row-major order on ties."""
    best = float("inf")
    found = (0, 0)
    for i, (ax, ay) in enumerate(a):
        for j, (bx, by) in enumerate(b):
            dx = ax - bx
            dy = ay - by
            d = dx * dx + dy * dy
            if d < best:
                best = d
                found = (i, j)
    return found


def join_parts(parts: list[list[float]]) -> list[float]:
    """Flat ``[x0, y0, x1, y1, ...]`` of one ring through every part (each a flat list of >= 3 points)."""
    rings = [[(float(p[k]), float(p[k + 1])) for k in range(0, len(p) - 1, 2)] for p in parts]
    if len(rings) == 1:
        return [v for xy in rings[0] for v in xy]
    n = len(rings)
    links: list[list[int]] = [[] for _ in range(n)]
    for i in range(1, n):
        a, b = _closest(rings[i - 1], rings[i])
        links[i - 1].append(a)
        links[i].append(b)
    walked: list[list[Point]] = []
    out: list[Point] = []
    for i, ring in enumerate(rings):
        idx = links[i]
        if len(idx) == 2 and idx[0] > idx[1]:  # a middle part walked backwards
            ring = ring[::-1]
            idx = [len(ring) - 1 - k for k in idx]
        ring = ring[idx[0]:] + ring[:idx[0]]
        ring.append(ring[0])
        walked.append(ring)
        if i in (0, n - 1):
            out += ring
        else:
            out += ring[: idx[1] - idx[0] + 1]
    for i in range(n - 2, 0, -1):
        out += walked[i][abs(links[i][1] - links[i][0]):]
    return [v for xy in out for v in xy]
