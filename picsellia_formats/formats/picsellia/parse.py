"""parse."""

from __future__ import annotations

from typing import Any

from ...model import EMPTY, QA, QA_KINDS, Mask
from .schema import NUMS, QA_KEYS, XY, flatten, isfinite

# ------------------------------------------------------------------------------------------ geometry


class Bad(Exception):
    """A malformed value inside one record (turned into a problem naming that record)."""


def number(v: Any, what: str) -> Any:
    t = type(v)
    if t is int or (t is float and isfinite(v)):
        return v
    raise Bad(f"{what} must be a finite number, got {v!r:.60}")


def _check_numbers(flat: list[Any], geom: list[Any], what: str, names: str) -> None:
    try:
        if set(map(type, flat)) <= NUMS and all(map(isfinite, flat)):
            return
    except OverflowError:
        pass
    n = len(names)
    for k, v in enumerate(flat):
        if type(v) not in NUMS or not finite(v):
            raise Bad(f"{what}.geometry[{k // n}].{names[k % n]} must be a finite number, got {v!r:.60}")


def finite(v: Any) -> bool:
    try:
        return isfinite(v)
    except OverflowError:
        return False


def _points(obj: Any, what: str, minimum: int) -> tuple[list[Any], bool]:
    """Flat ``[x0, y0, ...]`` of ``{"geometry": [{"x", "y"}, ...]}``; True when it has other keys."""
    try:
        geom = obj["geometry"]
        flat = [*flatten(map(XY, geom))]
    except (KeyError, TypeError, IndexError):
        geom = flat = None
    if type(geom) is not list or flat is None:
        _points_problem(obj, what)
    if len(geom) < minimum:
        raise Bad(f"{what} needs at least {minimum} points, got {len(geom)}")
    try:
        ok = set(map(type, flat)) <= NUMS and isfinite(sum(flat))
    except OverflowError:
        ok = False
    if not ok:
        _check_numbers(flat, geom, what, "xy")
    return flat, len(obj) != 1 or sum(map(len, geom)) != 2 * len(geom)


def _points_problem(obj: Any, what: str) -> None:
    """Raise the precise problem of a malformed ``{"geometry": [...]}`` object."""
    if type(obj) is not dict or type(obj.get("geometry")) is not list:
        raise Bad(f"{what} must be an object with a 'geometry' list of points, got {obj!r:.60}")
    for k, p in enumerate(obj["geometry"]):
        if type(p) is not dict or "x" not in p or "y" not in p:
            raise Bad(f"{what}.geometry[{k}] must be an object with x and y, got {p!r:.60}")
    raise Bad(f"{what} is malformed")


def _parse_rectangle(obj: Any) -> tuple[Any, bool]:
    try:
        top, left, width, height = obj["top"], obj["left"], obj["width"], obj["height"]
        if (type(top) in NUMS and type(left) in NUMS and type(width) in NUMS and type(height) in NUMS
                and width >= 0 and height >= 0 and isfinite(top + left + width + height)):
            return (left, top, width, height), len(obj) != 4
    except (KeyError, TypeError, OverflowError):
        pass
    return _rectangle_problem(obj)


def _rectangle_problem(obj: Any) -> tuple[Any, bool]:
    """The precise problem of a rectangle the fast path refused (or the rectangle, if only its sum
    overflowed)."""
    if type(obj) is not dict:
        raise Bad(f"rectangle must be an object with top, left, width and height, got {obj!r:.60}")
    for key in ("top", "left", "width", "height"):
        if key not in obj:
            raise Bad(f"rectangle lacks {key!r}")
        number(obj[key], f"rectangle.{key}")
    if obj["width"] < 0 or obj["height"] < 0:
        raise Bad(f"rectangle has a negative size ({obj['width']!r} x {obj['height']!r})")
    return (obj["left"], obj["top"], obj["width"], obj["height"]), len(obj) != 4


def parse_polygon(obj: Any) -> tuple[Any, bool]:
    return _points(obj, "polygon", 3)


def _parse_line(obj: Any) -> tuple[Any, bool]:
    return _points(obj, "line", 2)


def _parse_point(obj: Any) -> tuple[Any, bool]:
    if type(obj) is not dict or "x" not in obj or "y" not in obj:
        raise Bad(f"point must be an object with x and y, got {obj!r:.60}")
    return (number(obj["x"], "point.x"), number(obj["y"], "point.y")), len(obj) != 2


def _parse_keypoints(obj: Any) -> tuple[Any, bool]:
    if type(obj) is not dict or type(obj.get("geometry")) is not list:
        raise Bad(f"keypoints must be an object with a 'geometry' list of {{x, y, v}}, got {obj!r:.60}")
    geom = obj["geometry"]
    if not geom:
        raise Bad("keypoints needs at least 1 point")
    try:
        flat = [v for p in geom for v in (p["x"], p["y"], p["v"])]
    except (KeyError, TypeError):
        for k, p in enumerate(geom):
            if type(p) is not dict or not {"x", "y", "v"} <= p.keys():
                raise Bad(f"keypoints.geometry[{k}] must be an object with x, y and v, "
                           f"got {p!r:.60}") from None
        raise
    try:
        ok = set(map(type, flat)) <= NUMS and isfinite(sum(flat))
    except OverflowError:
        ok = False
    if not ok:
        _check_numbers(flat, geom, "keypoints", "xyv")
    return flat, len(obj) != 1 or set(map(len, geom)) != {3}


def _parse_mask(obj: Any) -> tuple[Any, bool]:
    if type(obj) is not dict:
        raise Bad(f"mask must be a COCO RLE object with size and counts, got {obj!r:.60}")
    size, counts = obj.get("size"), obj.get("counts")
    if type(size) is not list or len(size) != 2 or any(type(v) is not int or v < 0 for v in size):
        raise Bad(f"mask.size must be [height, width] of non-negative integers, got {size!r:.60}")
    from ...masks import rle_counts_problem  # numpy and pycocotools only for files with masks

    why = rle_counts_problem(size[0], size[1], counts)
    if why is not None:
        raise Bad(f"mask: {why}" + ("" if type(counts) in (str, list) else f", got {counts!r:.60}"))
    return Mask(size[0], size[1], counts), len(obj) != 2


PARSERS = {
    "rectangle": _parse_rectangle,
    "polygon": parse_polygon,
    "line": _parse_line,
    "point": _parse_point,
    "keypoints": _parse_keypoints,
    "mask": _parse_mask,
}


def parse_qa(items: Any, what: str) -> list[QA]:
    """Q&A entries (the platform's four kinds), validated; unknown and null keys kept in `QA.extra`."""
    if type(items) is not list:
        raise Bad(f"{what} must be a list, got {type(items).__name__}")
    out = []
    for k, q in enumerate(items):
        where = f"{what}[{k}]"
        if type(q) is not dict:
            raise Bad(f"{where} must be an object, got {q!r:.60}")
        kind = q.get("type")
        if kind not in QA_KINDS:
            raise Bad(f"{where}: Q&A type {kind!r:.40} is not one of {', '.join(QA_KINDS)}")
        question = q.get("question")
        if type(question) is not str:
            raise Bad(f"{where}: question must be a string, got {question!r:.60}")
        if "answer" not in q:
            raise Bad(f"{where}: lacks 'answer'")
        answer = q["answer"]
        if answer is not None:
            if kind == "mc":
                if type(answer) is not list or not all(type(a) is str for a in answer):
                    raise Bad(f"{where}: a mc answer must be a list of strings, got {answer!r:.60}")
            elif kind == "range":
                number(answer, f"{where}: a range answer")
            elif type(answer) is not str:
                raise Bad(f"{where}: a {kind} answer must be a string, got {answer!r:.60}")
        choices = q.get("choices")
        if choices is not None and (type(choices) is not list or not all(type(c) is str for c in choices)):
            raise Bad(f"{where}: choices must be a list of strings, got {choices!r:.60}")
        low, high = q.get("min"), q.get("max")
        if low is not None:
            number(low, f"{where}: min")
        if high is not None:
            number(high, f"{where}: max")
        extra = {key: v for key, v in q.items()
                 if key not in QA_KEYS or (v is None and key in ("choices", "min", "max"))}
        out.append(QA(kind, question, answer, choices, low, high, extra or EMPTY))
    return out


