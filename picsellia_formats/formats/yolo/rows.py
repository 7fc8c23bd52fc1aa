"""rows."""

from __future__ import annotations

from typing import Any

_SNAP = 1e-9  # pixel values this close to a multiple of 1e-6 px are taken as that multiple

# ------------------------------------------------------------------------------------- numbers


def snap(v: float) -> float:
    """`v` or, when within 1e-9 px of it, the nearest multiple of 1e-6 px.

    Undoes the last-digit noise of ``value * size`` (``0.02708333333333 * 480`` is
    ``12.9999999999998``, written by someone as 13), far below any meaningful precision.
    """
    r = round(v * 1e6) / 1e6
    return r if r != v and -_SNAP <= r - v <= _SNAP else v


def box_of(cx: float, cy: float, w: float, h: float, W: int, H: int) -> tuple[float, float, float, float]:
    bw = w * W
    bh = h * H
    return (snap(cx * W - bw * 0.5), snap(cy * H - bh * 0.5), snap(bw), snap(bh))


def box_text(box: tuple[float, float, float, float], W: float, H: float) -> str:
    """The writer's text of a box (no clipping): ``cx cy w h``."""
    x, y, w, h = box
    return f"{(x + w * 0.5) / W:.14g} {(y + h * 0.5) / H:.14g} {w / W:.14g} {h / H:.14g}"


def poly_of(vals: list[float], W: int, H: int) -> list[float]:
    out = vals[:]
    out[0::2] = [snap(v * W) for v in vals[0::2]]
    out[1::2] = [snap(v * H) for v in vals[1::2]]
    return out


def poly_text(part: list[float], W: float, H: float) -> str:
    xs = part[0::2]
    ys = part[1::2]
    return " ".join([f"{x / W:.14g} {y / H:.14g}" for x, y in zip(xs, ys)])


def parse_floats(text: str) -> list[float] | None:
    try:
        return [float(t) for t in text.split()]
    except ValueError:
        return None


def text_matches_box(text: str, box: Any, W: float, H: float) -> bool:
    vals = parse_floats(text)
    if vals is None or len(vals) != 4:
        return False
    return box_of(vals[0], vals[1], vals[2], vals[3], W, H) == tuple(box)  # type: ignore[arg-type]


def text_matches_poly(text: str, part: list[float], W: float, H: float) -> bool:
    vals = parse_floats(text)
    if vals is None or len(vals) != len(part):
        return False
    return poly_of(vals, W, H) == list(part)  # type: ignore[arg-type]


