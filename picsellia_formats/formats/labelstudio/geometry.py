"""Label Studio's percentage geometry and its rotation (degrees clockwise about the top-left corner).

Example:
    >>> rect_corners(10.0, 20.0, 30.0, 40.0, 90.0)
    [10.0, 20.0, 10.0, 50.0, -30.0, 50.0, -30.0, 20.0]
"""

from __future__ import annotations

import math


def rect_corners(x: float, y: float, w: float, h: float, rotation: float) -> list[float]:
    """Corners (pixels) of a Label Studio rectangle at top-left `(x, y)` rotated about that corner."""
    a = math.radians(rotation)
    c, s = math.cos(a), math.sin(a)
    out: list[float] = []
    for dx, dy in ((0.0, 0.0), (w, 0.0), (w, h), (0.0, h)):
        out.append(round(x + c * dx - s * dy, 9) + 0.0)
        out.append(round(y + s * dx + c * dy, 9) + 0.0)
    return out


def rect_px(value: dict, width: int, height: int) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` in pixels of a rectangle value in percent."""
    return (value["x"] * width / 100, value["y"] * height / 100,
            value["width"] * width / 100, value["height"] * height / 100)
