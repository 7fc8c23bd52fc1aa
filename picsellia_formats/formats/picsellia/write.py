"""write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from ...errors import OptionError
from ...io_utils import gc_paused
from ...labels import labels_in_use
from ...model import EMPTY, Annotation, Asset, Dataset, Label
from ...report import Report
from ...shapes import annotation_bbox
from .._writer import chunks, dumps, write_json_array
from .parse import PARSERS, Bad
from .schema import DEFAULT_ALWAYS, JOIN_KEYS, NAME, STATUS_FLAGS, TOP_KEYS, flags_of_status, status_from_flags

# ---------------------------------------------------------------------------------------------- write

ATTR_OF = {"rectangle": "box", "polygon": "polygon", "line": "line", "point": "point", "keypoints": "keypoint"}


def _points_obj(flat: list[Any]) -> dict[str, Any]:
    return {"geometry": [{"x": x, "y": y} for x, y in zip(flat[0::2], flat[1::2])]}


def _keypoints_obj(flat: list[Any]) -> dict[str, Any]:
    return {"geometry": [{"x": x, "y": y, "v": v} for x, y, v in zip(flat[0::3], flat[1::3], flat[2::3])]}


def _geometry_obj(key: str, value: Any, raw: Any) -> Any:
    """The JSON object of one geometry; the object as read when it still says the same."""
    if raw is not None:
        try:
            if PARSERS[key](raw)[0] == value:
                return raw
        except Bad:
            pass
    if key == "rectangle":
        x, y, w, h = value
        return {"top": y, "left": x, "width": w, "height": h}
    if key in ("polygon", "line"):
        return _points_obj(value)
    if key == "point":
        return {"x": value[0], "y": value[1]}
    if key == "keypoints":
        return _keypoints_obj(value)
    return value.to_coco()


class _Writer:
    def __init__(self, dataset: Dataset, report: Report, masks: str, platform_only: bool) -> None:
        self.dataset = dataset
        self.report = report
        self.masks = "polygon" if platform_only and masks == "rle" else masks
        self.platform_only = platform_only
        meta = dataset.metadata.get(NAME)
        always = meta.get("always") if meta else None
        if always is None:
            always = DEFAULT_ALWAYS
        self.always = {k: frozenset(v) for k, v in always.items()}
        self.record_join = [k for k in JOIN_KEYS if k in self.always.get("record", ())] or list(JOIN_KEYS)
        self.counts: dict[tuple[str, str, str], int] = {}

    def count(self, kind: str, what: str, why: str = "", n: int = 1) -> None:
        key = (kind, what, why)
        self.counts[key] = self.counts.get(key, 0) + n

    # -- shapes
    def shapes(self, ann: Annotation, asset: Asset) -> list[dict[str, Any]]:
        pe = ann.extra.get(NAME) if ann.extra else None
        keys = pe.get("keys") if pe else None
        raw = pe.get("raw") if pe else None
        geoms = self._geometries(ann, asset)
        if geoms is None:
            return []
        t = geoms[0][0] if geoms else "classification"
        out: dict[str, Any] = {"type": t, "label": ann.label}
        parts: list[list[Any]] = []
        for key, value in geoms:
            r = raw.get(key) if raw else None
            if key == "polygon":
                if key == t:
                    parts = value
                    r = r[0] if type(r) is list else r
                elif len(value) > 1:
                    self.count("dropped", "polygon parts beside a mask", "only the first part is written")
                value = value[0]
            if self.platform_only and key != "mask":
                value = self._truncated(key, value)
            out[key] = _geometry_obj(key, value, r)
        always = self.always.get(t, frozenset())
        if ann.qa or "qa" in always:
            out["qa"] = [q.to_dict() for q in ann.qa]
        if not self.platform_only:
            if ann.id is not None:
                out["id"] = ann.id
            if len(parts) > 1:
                out["part"] = 0
            if ann.attributes or "attributes" in always:
                out["attributes"] = dict(ann.attributes)
            if ann.score is not None:
                out["score"] = ann.score
            if ann.iscrowd:
                out["iscrowd"] = ann.iscrowd
            if ann.area is not None:
                out["area"] = ann.area
        else:
            self._count_extensions(ann)
        if keys:
            for k, v in keys.items():
                if k not in out:
                    out[k] = v
        if len(parts) <= 1:
            return [out]
        result = [out]
        raws = raw.get("polygon") if raw else None
        if self.platform_only:
            self.count("approximated", "multi-part polygons written as one polygon per part",
                       "the platform has no multi-part polygon")
        for k in range(1, len(parts)):
            r = raws[k] if type(raws) is list and k < len(raws) else None
            part = self._truncated("polygon", parts[k]) if self.platform_only else parts[k]
            more: dict[str, Any] = {"type": "polygon", "label": ann.label,
                                    "polygon": _geometry_obj("polygon", part, r)}
            if "qa" in out:
                more["qa"] = []
            if not self.platform_only:
                if ann.id is not None:
                    more["id"] = ann.id
                more["part"] = k
            result.append(more)
        return result

    def _truncated(self, key: str, value: Any) -> Any:
        """Integer pixels as the SDK makes them (``int()``: toward zero); each moved value counted."""
        what = ATTR_OF[key]
        if key == "keypoints":
            out = list(value)
            out[0::3] = self._ints(what, value[0::3])
            out[1::3] = self._ints(what, value[1::3])
            return out
        ints = self._ints(what, value)
        return tuple(ints) if key == "rectangle" else ints

    def _ints(self, what: str, values: Any) -> list[Any]:
        ints = [int(v) for v in values]
        moved = sum(1 for a, b in zip(ints, values) if a != b)
        if moved:
            self.count("rounded", f"{what} coordinates",
                       "--picsellia-platform-only: truncated to integer pixels with int(), as the SDK does", moved)
        return ints

    def _count_extensions(self, ann: Annotation) -> None:
        if ann.id is not None:
            self.count("dropped", "object ids", "--picsellia-platform-only")
        if ann.attributes:
            self.count("dropped", "object attributes", "--picsellia-platform-only")
        if ann.score is not None:
            self.count("dropped", "scores", "--picsellia-platform-only")
        if ann.iscrowd:
            self.count("dropped", "iscrowd flags", "--picsellia-platform-only")
        if ann.area is not None:
            self.count("dropped", "stated areas", "--picsellia-platform-only")

    def _geometries(self, ann: Annotation, asset: Asset) -> list[tuple[str, Any]] | None:
        """(key, value) of every geometry to write, the primary one first; None drops the object."""
        mask, polygon, box = ann.mask, ann.polygon, ann.box
        keypoints, line, point = ann.keypoints, ann.line, ann.point
        if mask is not None and self.masks != "rle":
            traced = None
            if polygon is None and self.masks == "polygon":
                from ... import masks as masks_module

                to_polygons = getattr(masks_module, "mask_to_polygons", None)
                traced = to_polygons(mask) if to_polygons is not None else None
                traced = [list(p) for p in traced or () if len(p) >= 6 and not len(p) % 2]
            if traced:
                polygon = traced
                self.count("approximated", "masks written as polygons", "traced outlines")
            elif polygon is not None:
                self.count("dropped", "masks beside a polygon", f"--picsellia-masks {self.masks}")
            else:
                box = box if box is not None else annotation_bbox(ann)
                self.count("approximated", "masks written as boxes",
                           "no polygon tracer" if self.masks == "polygon" else "--picsellia-masks box")
            mask = None
        if polygon is not None:
            good = [p for p in polygon if len(p) >= 6 and not len(p) % 2]
            if len(good) != len(polygon):
                self.count("dropped", "polygon parts with fewer than 3 points",
                           "a Picsellia polygon needs 3 points")
                if not good:
                    if box is None and mask is None:
                        box = annotation_bbox(ann)
                        self.count("approximated", "degenerate polygons written as boxes")
                    polygon = None
                else:
                    polygon = good
        if line is not None and (len(line) < 4 or len(line) % 2):
            if box is None and polygon is None and mask is None:
                box = annotation_bbox(ann) if len(line) >= 2 else None
            line = None
            self.count("dropped", "lines with fewer than 2 points")
        if keypoints is not None and (not keypoints or len(keypoints) % 3 or self.platform_only):
            alone = mask is None and polygon is None and line is None and point is None and box is None
            what = "keypoint objects" if alone else "keypoints beside another geometry"
            why = "--picsellia-platform-only" if self.platform_only else "malformed keypoint list"
            self.count("dropped", what, why)
            if alone:
                return None
            keypoints = None
        out = []
        if mask is not None:
            out.append(("mask", mask))
        if polygon is not None:
            out.append(("polygon", polygon))
        if keypoints is not None:
            out.append(("keypoints", keypoints))
        if line is not None:
            out.append(("line", line))
        if point is not None:
            out.append(("point", point))
        if box is not None:
            out.append(("rectangle", box))
        if self.platform_only and len(out) > 1:
            self.count("dropped", "secondary geometries (e.g. a stated box beside a polygon)",
                       "--picsellia-platform-only")
            out = out[:1]
        return out

    # -- records
    def record(self, asset: Asset) -> dict[str, Any] | None:
        pe = asset.extra.get(NAME) if asset.extra else None
        pe = pe or EMPTY
        flags = pe.get("flags")
        status = asset.status
        has_record = ("record" in pe or asset.annotations or asset.qa or status is not None
                      or "time_spent" in pe)
        if not has_record:
            return None
        rec: dict[str, Any] = {}
        join = pe.get("join", self.record_join)
        if "internal_picture_id" in join and asset.id is not None:
            rec["internal_picture_id"] = asset.id
        # every legacy uploader (4.7, 5.0, 5.1) looks the picture up by external_picture_url
        rec["external_picture_url"] = asset.file_name
        shapes = [s for ann in asset.annotations for s in self.shapes(ann, asset)]
        # required by every legacy uploader too (4.7/5.0 rec["nb_labels"], 5.1 int(rec["nb_labels"]))
        rec["nb_labels"] = pe["nb_labels"] if "nb_labels" in pe else len(shapes)
        # 4.7/5.0 read rec["time_spent"] (KeyError without it), 5.1 float(duration or time_spent)
        time_spent = pe.get("time_spent")
        if time_spent is None:
            time_spent = 0
            self.count("changed", "time_spent written as 0 (not known)",
                       "the SDK uploaders of this format require a number")
        rec["time_spent"] = time_spent
        if flags is not None and status_from_flags(flags) == status:
            rec.update(flags)
        elif status is not None:
            if status in STATUS_FLAGS:
                rec.update(flags_of_status(status))
            else:
                self.count("dropped", "unknown statuses", "not PENDING, SKIPPED, ACCEPTED or REFUSED")
        rec["annotations"] = shapes
        if asset.qa or "image_qa" in self.always.get("record", ()):
            rec["image_qa"] = [q.to_dict() for q in asset.qa]
        verbatim = pe.get("record")
        if verbatim:
            for k, v in verbatim.items():
                if k not in rec:
                    rec[k] = v
        return rec

    def image(self, asset: Asset) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if asset.id is not None:
            out["internal_picture_id"] = asset.id
        out["external_picture_url"] = asset.file_name
        if asset.width is not None:
            out["width"] = asset.width
        if asset.height is not None:
            out["height"] = asset.height
        always = self.always.get("image", ())
        if asset.tags or "tags" in always:
            out["tags"] = list(asset.tags)
        if asset.metadata or "metadata" in always:
            out["metadata"] = dict(asset.metadata)
        pe = asset.extra.get(NAME) if asset.extra else None
        verbatim = pe.get("image") if pe else None
        if verbatim:
            for k, v in verbatim.items():
                if k not in out:
                    out[k] = v
        return out

    def category(self, label: Label) -> dict[str, Any]:
        out: dict[str, Any] = {"name": label.name}
        if label.group is not None:
            out["group"] = label.group
        if label.keypoints is not None:
            out["keypoints"] = label.keypoints
        if label.skeleton is not None:
            out["skeleton"] = label.skeleton
        pe = label.extra.get(NAME) if label.extra else None
        if pe:
            for k, v in pe.items():
                out.setdefault(k, v)
        return out

    def flush(self) -> None:
        for (kind, what, why), n in self.counts.items():
            self.report.add(kind, what, n, why)


def write(
    dataset: Dataset,
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    masks: str = "rle",
    platform_only: bool = False,
    progress: bool = False,
) -> None:
    """Write `dataset` as a Picsellia annotation JSON file.

    Every picture is listed in ``images``; pictures with shapes, Q&A, a status or a record in
    their source get an ``annotations`` record; ``categories`` lists the dataset's labels in order
    (then any label used but not declared). `masks`: ``rle`` (default, the ``mask`` shape
    extension, exact), ``polygon`` (traced outlines where `picsellia_formats.masks` has
    ``mask_to_polygons``, else boxes) or ``box``. `platform_only`: write only what the platform
    documents (masks as polygons, no keypoints, ids, scores, attributes or secondary geometries;
    multi-part polygons as one polygon per part), counting what it leaves out.

    Example:
        >>> import tempfile, pathlib
        >>> ds = Dataset(assets=[Asset("a.jpg", 4, 4, [Annotation("cat", box=(0, 0, 2, 2))],
        ...                            status="ACCEPTED")])
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "p.json"
        >>> write(ds, out)
        >>> out.read_bytes()[:80]
        b'{"images":[{"external_picture_url":"a.jpg","width":4,"height":4}],"annotations":'
    """
    report = report if report is not None else Report()
    if masks not in ("rle", "polygon", "box"):
        raise OptionError(f"masks must be rle, polygon or box, got {masks!r}")
    w = _Writer(dataset, report, masks, platform_only)
    meta = dataset.metadata.get(NAME) or {}
    labels = labels_in_use(dataset)
    with_ids = sum(1 for label in labels if label.id is not None)
    if with_ids:
        report.info("label ids not written", with_ids, "Picsellia JSON names labels; their order gives ids")

    with gc_paused():
        _write(dataset, path, w, meta, labels)
    w.flush()


def _write(dataset: Dataset, path: str | Path, w: _Writer, meta: dict[str, Any], labels: list[Label]) -> None:
    records = [w.record(asset) for asset in dataset.assets]
    order = [k for k in meta.get("key_order", TOP_KEYS) if k in TOP_KEYS]
    if "images" not in order and _needs_images(dataset, records):
        order.insert(0, "images")
    if "categories" not in order and _needs_categories(labels, dataset):
        order.append("categories")
    if "annotations" not in order and any(r is not None for r in records):
        order.insert(1 if order[:1] == ["images"] else 0, "annotations")
    with open(path, "wb") as f:
        f.write(b"{")
        for i, key in enumerate(order):
            f.write((b"," if i else b"") + orjson.dumps(key) + b":")
            if key == "images":
                write_json_array(f, chunks(w.image(a) for a in dataset.assets))
            elif key == "annotations":
                write_json_array(f, chunks(r for r in records if r is not None))
            else:
                f.write(dumps([w.category(label) for label in labels]))
        for key, value in (meta.get("top") or {}).items():
            f.write((b"," if order else b"") + dumps(key) + b":" + dumps(value))
            order = order or [key]
        f.write(b"}")


def _needs_images(dataset: Dataset, records: list[dict[str, Any] | None]) -> bool:
    for asset, rec in zip(dataset.assets, records):
        pe = asset.extra.get(NAME) if asset.extra else None
        if rec is None or asset.width is not None or asset.height is not None or asset.tags \
                or asset.metadata or (pe and pe.get("image")):
            return True
    return not dataset.assets


def _needs_categories(labels: list[Label], dataset: Dataset) -> bool:
    used: list[str] = []
    seen: set[str] = set()
    for _, ann in dataset.annotations():
        if ann.label not in seen:
            seen.add(ann.label)
            used.append(ann.label)
    if used != [label.name for label in labels]:
        return True
    return any(label.group is not None or label.keypoints is not None or label.skeleton is not None
               or label.extra for label in labels)


