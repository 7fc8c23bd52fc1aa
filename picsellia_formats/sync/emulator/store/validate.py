"""What the emulator accepts in a request body: shape geometry by kind (the platform's pixel rules)."""

from __future__ import annotations

from typing import Any

from .base import ErrorResponse


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate_shape(kind: str, fields: tuple[str, ...], shape: Any, where: str) -> dict[str, Any]:
    """The geometry of one shape, or ErrorResponse(422) naming the shape (the platform's pixel rules)."""
    if not isinstance(shape, dict):
        raise ErrorResponse(422, f"{where} must be an object")
    if kind == "rectangle":
        if not all(_is_int(shape.get(k)) for k in fields):
            raise ErrorResponse(422, f"{where}: x, y, w, h must be integers", {k: shape.get(k) for k in fields})
        return {k: shape[k] for k in fields}
    if kind in ("polygon", "line"):
        pts = shape.get(kind)
        if not (
            isinstance(pts, list)
            and all(isinstance(p, list) and len(p) == 2 and all(map(_is_int, p)) for p in pts)
        ):
            raise ErrorResponse(422, f"{where}: {kind} must be a list of [x, y] integer pairs")
        if len(pts) < (3 if kind == "polygon" else 2):
            raise ErrorResponse(422, f"{where}: {kind} has too few points", len(pts))
        return {kind: pts}
    if kind == "point":
        pt = shape.get("point")
        if not (isinstance(pt, list) and len(pt) == 2 and all(map(_is_int, pt))):
            raise ErrorResponse(422, f"{where}: point must be [x, y] integers")
        return {"point": pt}
    if kind == "keypoints":
        kps = shape.get("keypoints")
        if not (
            isinstance(kps, list)
            and all(isinstance(k, list) and len(k) == 3 and all(map(_is_number, k)) for k in kps)
        ):
            raise ErrorResponse(422, f"{where}: keypoints must be a list of [x, y, v]")
        return {"keypoints": kps}
    if kind == "mask":
        if not isinstance(shape.get("mask"), str) or not shape["mask"]:
            raise ErrorResponse(422, f"{where}: mask must be a compressed RLE counts string")
        return {"mask": shape["mask"]}
    return {}


def shoelace(points: list[list[int]]) -> float:
    n = len(points)
    s = 0
    for i in range(n):
        x0, y0 = points[i]
        x1, y1 = points[(i + 1) % n]
        s += x0 * y1 - x1 * y0
    return abs(s) / 2.0
