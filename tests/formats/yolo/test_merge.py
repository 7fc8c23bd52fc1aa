"""join_parts: one ring through every part, each bridge walked there and back (zero width).

Equality with Ultralytics' own ``merge_multi_segment`` is in test_ultralytics.py (needs the extra).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from picsellia_formats.formats.yolo.merge import join_parts

_part = st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=3, max_size=8)


def test_the_fixture_object_becomes_one_ring_of_15_points() -> None:
    parts = [[2.0, 3.0, 8.0, 3.0, 8.0, 9.0, 2.0, 9.0], [20.0, 15.0, 32.0, 15.0, 32.0, 23.0, 20.0, 23.0],
             [12.0, 4.0, 16.0, 4.0, 14.0, 7.5]]
    ring = join_parts(parts)
    assert len(ring) == 30  # NOTES.md: Ultralytics' convert_coco wrote this object as one row of 15 points


@given(st.lists(_part, min_size=1, max_size=5))
def test_every_vertex_is_kept_and_every_bridge_is_walked_twice(parts: list[list[tuple[int, int]]]) -> None:
    flat = [[float(v) for xy in p for v in xy] for p in parts]
    ring = join_parts(flat)
    points = list(zip(ring[0::2], ring[1::2]))
    n = len(parts)
    assert len(points) == (len(parts[0]) if n == 1 else sum(len(p) for p in parts) + 2 * n - 2)
    assert {(float(x), float(y)) for p in parts for x, y in p} == set(points)
    if n > 1:
        edges = list(zip(points, points[1:] + points[:1]))
        inside = {(float(x), float(y)) for x, y in parts[0]}
        crossings = [(a, b) for a, b in edges if (a in inside) != (b in inside)]
        assert len(crossings) % 2 == 0  # leaving part 0 is matched by coming back: no open bridge
