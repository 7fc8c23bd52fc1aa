"""Canonical annotations to and from the platform's shapes (reference §1.3 and §5.5).

The platform keeps integer pixels: boxes are rounded corner by corner to the nearest pixel (so edges
move by at most half a pixel), polygon, line and point vertices to the nearest pixel, and the report
counts every shape that moved. A multi-part polygon becomes one platform polygon per part.

Example:
    >>> from picsellia_formats.model import Annotation
    >>> from picsellia_formats.report import Report
    >>> item = to_platform([Annotation("cat", box=(10.4, 20.0, 30.2, 40.0))], {"cat": "L1"}, 100, 100, Report())
    >>> item["rectangles"]
    [{'x': 10, 'y': 20, 'w': 31, 'h': 40, 'label_id': 'L1'}]
    >>> [a.box for a in from_platform({"rectangles": [{"x": 1, "y": 2, "w": 3, "h": 4, "label": "cat"}]}, 9, 9)]
    [(1, 2, 3, 4)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..model import Annotation, Mask
from ..report import Report

#: Platform shape lists, in the order they are read back.
SHAPE_KEYS = ("rectangles", "polygons", "masks", "keypoints", "lines", "points", "classifications")
#: Keys of a ``bulk-annotations`` item, as the SDK's importers build them (``services/coco_importer.py``).
BULK_KEYS = ("rectangles", "classifications", "polygons", "keypoints", "masks")
#: Shapes the SDK creates one annotation at a time (``Annotation.create_multiple_lines|points``).
PER_ANNOTATION_KEYS = ("lines", "points")
#: Shape lists each version type holds: the SDK's importers write one kind per type and masks "only in
#: MASK datasets"; MULTI takes every kind but masks.
ALLOWED = {
    "OBJECT_DETECTION": ("rectangles",),
    "SEGMENTATION": ("polygons",),
    "MASK": ("masks",),
    "CLASSIFICATION": ("classifications",),
    "KEYPOINT": ("keypoints",),
    "LINE": ("lines",),
    "POINT": ("points",),
    "MULTI": ("rectangles", "polygons", "classifications", "keypoints", "lines", "points"),
    "NOT_CONFIGURED": (),
}


def _r(v: float) -> int:
    """Round half up (nearest pixel), the same way for every coordinate."""
    return math.floor(v + 0.5)


def _pairs(flat: list[float]) -> tuple[list[list[int]], bool]:
    out = [[_r(flat[i]), _r(flat[i + 1])] for i in range(0, len(flat) - 1, 2)]
    moved = any(out[k][0] != flat[2 * k] or out[k][1] != flat[2 * k + 1] for k in range(len(out)))
    return out, moved


def _common(ann: Annotation, label_id: str) -> dict[str, Any]:
    shape: dict[str, Any] = {"label_id": label_id}
    text = ann.extra.get("picsellia", {}).get("text") if ann.extra else None
    if text is not None:
        shape["text"] = text
    if ann.attributes:
        shape["attributes"] = dict(ann.attributes)
    return shape


def empty_item() -> dict[str, list[Any]]:
    return {key: [] for key in SHAPE_KEYS}


def to_platform(annotations: Iterable[Annotation], label_ids: Mapping[str, str], width: int | None,
                height: int | None, report: Report) -> dict[str, list[dict[str, Any]]]:
    """The shape lists of one asset for ``bulk-annotations`` (without ``asset_id``)."""
    item = empty_item()
    for ann in annotations:
        shape = _common(ann, label_ids[ann.label])
        kind = ann.kind
        if ann.score is not None:
            report.dropped("detection scores", 1, "the platform keeps no score on annotations")
        if ann.qa:
            report.dropped("object Q&A answers", len(ann.qa), "sent as nothing; use attributes instead")
        if ann.iscrowd and kind != "mask":
            report.dropped("iscrowd flags", 1, "the platform has no crowd flag")
        if kind == "box":
            x, y, w, h = ann.box  # type: ignore[misc]
            x0, y0, x1, y1 = _r(x), _r(y), _r(x + w), _r(y + h)
            if (x0, y0, x1 - x0, y1 - y0) != (x, y, w, h):
                report.rounded("box coordinates to whole pixels", 1, "the platform stores integer pixels")
            item["rectangles"].append({"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0, **shape})
        elif kind == "polygon":
            parts = [p for p in ann.polygon or () if len(p) >= 6]
            if len(parts) < len(ann.polygon or ()):
                report.dropped("polygon parts with fewer than 3 points", len(ann.polygon or ()) - len(parts))
            if len(parts) > 1:
                report.approximated("multi-part polygons sent as one polygon per part", 1,
                                    "the platform has no multi-part polygon")
            moved = False
            for part in parts:
                pts, m = _pairs(part)
                moved |= m
                item["polygons"].append({"polygon": pts, **shape})
            if moved:
                report.rounded("polygon vertices to whole pixels", 1, "the platform stores integer pixels")
        elif kind == "mask":
            item["masks"].append({"mask": _compressed_counts(ann.mask), **shape})  # type: ignore[arg-type]
        elif kind == "keypoints":
            kps = ann.keypoints or []
            triples = [[_r(kps[i]), _r(kps[i + 1]), int(kps[i + 2])] for i in range(0, len(kps) - 2, 3)]
            if any(t[0] != kps[3 * k] or t[1] != kps[3 * k + 1] for k, t in enumerate(triples)):
                report.rounded("keypoints to whole pixels", 1, "the platform stores integer pixels")
            item["keypoints"].append({"keypoints": triples, **shape})
        elif kind == "line":
            pts, moved = _pairs(ann.line or [])
            if moved:
                report.rounded("line vertices to whole pixels", 1, "the platform stores integer pixels")
            item["lines"].append({"line": pts, **shape})
        elif kind == "point":
            px, py = ann.point  # type: ignore[misc]
            if (_r(px), _r(py)) != (px, py):
                report.rounded("points to whole pixels", 1, "the platform stores integer pixels")
            item["points"].append({"point": [_r(px), _r(py)], **shape})
        else:
            item["classifications"].append(shape)
        if ann.box is not None and kind in ("keypoints", "line", "point"):
            report.dropped(f"boxes stated beside {kind}", 1, "the platform keeps one shape per object")
    return item


def restrict(item: dict[str, list[dict[str, Any]]], version_type: str, report: Report) -> None:
    """Empty the shape lists `version_type` does not hold, counting each dropped shape in `report`."""
    allowed = ALLOWED.get(version_type, ())
    for key in SHAPE_KEYS:
        if item.get(key) and key not in allowed:
            report.dropped(f"{key} in a {version_type} dataset version", len(item[key]),
                           f"the platform holds only {', '.join(allowed) or 'no shapes'} there")
            item[key] = []


def bulk_item(asset_id: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """The ``bulk-annotations`` item of one asset: the keys the SDK sends, every shape with ``text`` and
    ``attributes`` (null when unset), as ``coco_importer.read_annotations`` builds them."""
    out: dict[str, Any] = {"asset_id": asset_id}
    for key in BULK_KEYS:
        out[key] = [{**s, "text": s.get("text"), "attributes": s.get("attributes")} for s in item.get(key) or ()]
    out["attributes"] = None
    return out


def _compressed_counts(mask: Mask) -> str:
    if isinstance(mask.counts, str):
        return mask.counts
    from ..masks import to_compressed

    return to_compressed(mask)["counts"].decode("ascii")


def from_platform(item: Mapping[str, Any], width: int | None, height: int | None) -> list[Annotation]:
    """Canonical annotations of one loaded platform annotation (``XGET annotations`` item)."""
    out: list[Annotation] = []
    for key in SHAPE_KEYS:
        for shape in item.get(key) or ():
            label = shape.get("label")
            if isinstance(label, Mapping):
                label = label.get("name")
            ann = Annotation(str(label))
            if key == "rectangles":
                ann.box = (shape["x"], shape["y"], shape["w"], shape["h"])
            elif key == "polygons":
                ann.polygon = [[c for pt in shape["polygon"] for c in pt[:2]]]
            elif key == "masks":
                ann.mask = Mask(height or 0, width or 0, shape["mask"])
            elif key == "keypoints":
                ann.keypoints = [c for kp in shape["keypoints"] for c in kp[:3]]
            elif key == "lines":
                ann.line = [c for pt in shape["line"] for c in pt[:2]]
            elif key == "points":
                ann.point = (shape["point"][0], shape["point"][1])
            if shape.get("attributes"):
                ann.attributes = dict(shape["attributes"])
            if shape.get("text") is not None:
                ann.extra = {"picsellia": {"text": shape["text"]}}
            out.append(ann)
    return out


def signature(item: Mapping[str, Any], label_names: Mapping[str, str] | None = None) -> list[tuple[Any, ...]]:
    """A comparable, order-free summary of an asset's shapes: the same for what we would send
    (``label_id``) and what the platform holds (``label`` name), so unchanged assets are skipped."""
    sig: list[tuple[Any, ...]] = []
    for key in SHAPE_KEYS:
        for shape in item.get(key) or ():
            label = shape.get("label")
            if label is None and label_names is not None:
                label = label_names.get(str(shape.get("label_id")))
            if isinstance(label, Mapping):
                label = label.get("name")
            geometry = {k: shape[k] for k in ("x", "y", "w", "h", "polygon", "mask", "keypoints", "line", "point")
                        if k in shape}
            sig.append((key, str(label), repr(sorted(geometry.items())), repr(shape.get("text")),
                        repr(sorted((shape.get("attributes") or {}).items()))))
    sig.sort()
    return sig


def shape_count(item: Mapping[str, Any]) -> int:
    return sum(len(item.get(key) or ()) for key in SHAPE_KEYS)
