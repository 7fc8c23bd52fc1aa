"""Read a CVAT XML 1.1 file ("CVAT for images", or "CVAT for video" tracks as per-frame images).

Mapping to the model:

* ``<image>`` -> `Asset` (``id`` kept; ``subset`` -> the asset's tag; ``task_id`` in ``extra``).
* ``box`` -> box; a ``rotation`` makes it the rotated 4-point polygon (the box and angle kept in
  ``extra["cvat"]`` so that CVAT -> CVAT writes the same box back), reported.
* ``polygon`` -> polygon, ``polyline`` -> line, ``points`` -> a point (one) or keypoints with
  visibility 2 (several), ``mask`` -> the image-sized COCO RLE of exactly the same pixels,
  ``skeleton`` -> keypoints of the skeleton label (names from its ``<parent>`` sub-labels;
  visibility 0 when ``outside``, 1 when ``occluded``, else 2), ``tag`` -> image classification.
* ``<attribute>`` -> ``attributes`` (checkbox values as booleans, others as the text);
  ``occluded="1"`` -> ``attributes["occluded"] = True``; ``source``, ``z_order`` (non-zero) and
  ``group_id`` -> ``extra["cvat"]``.
* ``<meta>`` is kept whole in ``dataset.metadata["cvat"]``; label specs on the labels.

Example:
    >>> ds = read("fixtures/cvat/docs_example/annotations.xml")
    >>> len(ds), ds.num_annotations
    (1, 8)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import FormatError, OptionError, ProblemCollector
from ...inputs import read_input
from ...model import EMPTY, Annotation, Asset, Dataset
from ...report import Report
from ..voc.xml import new_parser, parse
from . import meta as cvat_meta
from .detect import resolve
from .geometry import cvat_rle_to_mask, rotated_corners

SHAPES = ("box", "polygon", "polyline", "points", "mask", "skeleton")
#: shapes CVAT has that the model has no kind for: refused by name, never mis-read
UNSUPPORTED = ("ellipse", "cuboid")
_COMMON = frozenset(("label", "source", "occluded", "z_order", "group_id", "frame", "keyframe", "outside",
                     "xtl", "ytl", "xbr", "ybr", "rotation", "points", "rle", "left", "top", "width", "height"))


def read(path: str | Path, *, images: Path | None = None, report: Report | None = None,
         tracks: str = "frames", progress: bool = False) -> Dataset:
    """Read a CVAT XML 1.1 file (or the only one of a folder).

    `tracks`: ``frames`` reads a video export's ``<track>`` s as objects on per-frame images
    (``frame_000000.PNG``...), ``refuse`` raises FormatError on them.
    """
    report = report if report is not None else Report()
    if tracks not in ("frames", "refuse"):
        raise OptionError(f"tracks must be frames or refuse, got {tracks!r}")
    file = resolve(Path(path))
    try:
        data = read_input(file)
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=file) from None
    root = parse(data, new_parser(), file)
    if root.tag != "annotations":
        raise FormatError(f"root element is <{root.tag}>, expected <annotations> (CVAT XML)", file=file,
                          record="line 1")
    return _Reader(file, report, tracks).run(root)


class _Reader:
    def __init__(self, file: Path, report: Report, tracks: str) -> None:
        self.file = file
        self.report = report
        self.tracks = tracks
        self.problems = ProblemCollector(file)
        self.ds = Dataset()
        self.types: dict[str, dict[str, str]] = {}
        self.skeletons: dict[str, list[str]] = {}
        self.counts: dict[str, int] = {}

    def run(self, root: Any) -> Dataset:
        version = root.find("version")
        meta_el = root.find("meta")
        metadata: dict[str, Any] = {"version": version.text if version is not None else None}
        if meta_el is not None:
            label_els: list[Any] = []
            metadata["meta"] = cvat_meta.to_tree(meta_el, label_els)
            self._labels(label_els)
        self.ds.metadata["cvat"] = metadata
        frames: dict[int, Asset] = {}
        for el in root:
            if not isinstance(el.tag, str):
                continue
            if el.tag == "image":
                asset = self._image(el)
                if asset is not None:
                    self.ds.add_asset(asset)
            elif el.tag == "track":
                if self.tracks == "refuse":
                    raise FormatError("CVAT for video tracks are refused (tracks='refuse'); read them as "
                                      "per-frame images with tracks='frames'", file=self.file,
                                      record=f"line {el.sourceline}")
                self._track(el, frames, meta_el)
            elif el.tag not in ("version", "meta"):
                self.problems.add(f"line {el.sourceline}", f"unexpected element <{el.tag}> in <annotations>")
        self.problems.raise_if_any()
        if frames:
            self._frames(frames, meta_el)
        self.ds.ensure_labels()
        self._report()
        return self.ds

    # ------------------------------------------------------------------ labels
    def _labels(self, els: list[Any]) -> None:
        children: dict[str, list[str]] = {}
        for el in els:
            name, spec = cvat_meta.label_spec(el)
            parent = cvat_meta.spec_value(spec, "parent")
            if parent:
                children.setdefault(parent, []).append(name)
        for el in els:
            name, spec = cvat_meta.label_spec(el)
            self.types[name] = cvat_meta.attribute_types(spec)
            parent = cvat_meta.spec_value(spec, "parent")
            if parent:  # a skeleton's point: kept with its skeleton label
                skeleton = self.ds.add_label(parent)
                extra = dict(skeleton.extra.get("cvat", {}))
                extra.setdefault("elements", []).append([*spec, ("__name__", name)])
                skeleton.extra = {"cvat": extra}
                continue
            label = self.ds.add_label(name)
            extra = dict(label.extra.get("cvat", {}))
            extra["spec"] = spec
            label.extra = {"cvat": extra}
            if name in children:
                label.keypoints = children[name]
                self.skeletons[name] = children[name]

    # ------------------------------------------------------------------ images
    def _image(self, el: Any) -> Asset | None:
        record = f"image id={el.get('id')} (line {el.sourceline})"
        name = el.get("name")
        if not name:
            self.problems.add(record, "image has no name")
            return None
        width, height = self._int(el, "width", record), self._int(el, "height", record)
        image_id = self._int(el, "id", record)
        extra = {k: v for k, v in el.attrib.items() if k not in ("id", "name", "width", "height", "subset")}
        asset = Asset(name, width, height, [], image_id, [el.get("subset")] if el.get("subset") else None,
                      extra={"cvat": extra} if extra else EMPTY)
        for i, child in enumerate(el):
            if not isinstance(child.tag, str):
                continue
            ann = self._shape(child, f"{record}: <{child.tag}> #{i}", asset)
            if ann is not None:
                asset.annotations.append(ann)
        return asset

    def _int(self, el: Any, key: str, record: str) -> int | None:
        text = el.get(key)
        if text is None:
            return None
        try:
            return int(text)
        except ValueError:
            self.problems.add(record, f"{key}={text!r} is not an integer")
            return None

    def _float(self, el: Any, key: str, record: str) -> float:
        text = el.get(key)
        if text is None:
            raise ValueError(f"lacks {key!r}")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{key}={text!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{key}={text!r} is not a finite number")
        return value

    def _points(self, el: Any) -> list[float]:
        text = el.get("points")
        if text is None:
            raise ValueError("lacks 'points'")
        out: list[float] = []
        for pair in text.split(";"):
            xy = pair.split(",")
            if len(xy) != 2:
                raise ValueError(f"points {pair!r} is not 'x,y'")
            for v in xy:
                f = float(v)
                if f != f or f in (float("inf"), float("-inf")):
                    raise ValueError(f"points value {v!r} is not finite")
                out.append(f)
        return out

    # ------------------------------------------------------------------ shapes
    def _shape(self, el: Any, record: str, asset: Asset) -> Annotation | None:
        tag = el.tag
        if tag in UNSUPPORTED:
            self.problems.add(record, f"CVAT {tag} shapes are not supported (the model has no {tag}); "
                                      "convert them in CVAT first")
            return None
        if tag not in (*SHAPES, "tag"):
            self.problems.add(record, f"unknown element <{tag}> in <image>")
            return None
        label = el.get("label")
        if label is None:
            self.problems.add(record, "lacks 'label'")
            return None
        try:
            ann = self._geometry(el, tag, label, asset)
        except ValueError as exc:
            self.problems.add(record, str(exc))
            return None
        extra: dict[str, Any] = {}
        if el.get("source") is not None:
            extra["source"] = el.get("source")
        for key in ("z_order", "group_id"):
            if el.get(key) is not None:
                try:
                    value = int(el.get(key))
                except ValueError:
                    self.problems.add(record, f"{key}={el.get(key)!r} is not an integer")
                    return None
                if value:
                    extra[key] = value
        other = {k: v for k, v in el.attrib.items() if k not in _COMMON}
        if other:
            extra["other"] = other
        if ann.extra:
            extra.update(ann.extra["cvat"])
        ann.extra = {"cvat": extra} if extra else EMPTY
        attributes = self._attributes(el, label)
        if el.get("occluded") == "1":
            attributes["occluded"] = True
        elif el.get("occluded") not in (None, "0"):
            self.problems.add(record, f"occluded={el.get('occluded')!r} is not 0 or 1")
        if attributes:
            ann.attributes = attributes
        self.counts[tag] = self.counts.get(tag, 0) + 1
        return ann

    def _attributes(self, el: Any, label: str) -> dict[str, Any]:
        types = self.types.get(label, {})
        out: dict[str, Any] = {}
        for child in el:
            if isinstance(child.tag, str) and child.tag == "attribute":
                name = child.get("name", "")
                text = child.text or ""
                out[name] = (text == "true") if types.get(name) == "checkbox" and text in ("true", "false") \
                    else text
        return out

    def _geometry(self, el: Any, tag: str, label: str, asset: Asset) -> Annotation:
        if tag == "tag":
            return Annotation(label)
        if tag == "box":
            xtl, ytl, xbr, ybr = (self._float(el, k, "") for k in ("xtl", "ytl", "xbr", "ybr"))
            rotation = self._float(el, "rotation", "") if el.get("rotation") is not None else 0.0
            if rotation % 360:
                corners = rotated_corners(xtl, ytl, xbr, ybr, rotation)
                return Annotation(label, polygon=[corners], extra={"cvat": {
                    "rotation": rotation, "box": [xtl, ytl, xbr, ybr]}})
            extra = {"cvat": {"rotation": rotation}} if el.get("rotation") is not None else EMPTY
            return Annotation(label, box=(xtl, ytl, xbr - xtl, ybr - ytl), extra=extra)
        if tag == "polygon":
            return Annotation(label, polygon=[self._points(el)])
        if tag == "polyline":
            return Annotation(label, line=self._points(el))
        if tag == "points":
            pts = self._points(el)
            if len(pts) == 2:
                return Annotation(label, point=(pts[0], pts[1]))
            kps: list[float] = []
            for i in range(0, len(pts), 2):
                kps += [pts[i], pts[i + 1], 2]
            return Annotation(label, keypoints=kps, extra={"cvat": {"shape": "points"}})
        if tag == "mask":
            return self._mask(el, label, asset)
        return self._skeleton(el, label)

    def _mask(self, el: Any, label: str, asset: Asset) -> Annotation:
        if asset.width is None or asset.height is None:
            raise ValueError("a mask needs the image's width and height")
        try:
            runs = [int(v) for v in (el.get("rle") or "").split(",")]
            left, top, width, height = (int(el.get(k, "")) for k in ("left", "top", "width", "height"))
        except ValueError:
            raise ValueError("mask rle/left/top/width/height must be integers") from None
        mask = cvat_rle_to_mask(runs, left, top, width, height, asset.width, asset.height)
        return Annotation(label, mask=mask, extra={"cvat": {"mask_box": [left, top, width, height]}})

    def _skeleton(self, el: Any, label: str) -> Annotation:
        names = self.skeletons.get(label)
        if names is None:
            raise ValueError(f"skeleton label {label!r} declares no points in <meta> (no <parent> labels)")
        found: dict[str, Any] = {}
        for child in el:
            if isinstance(child.tag, str) and child.tag == "points":
                found[child.get("label", "")] = child
        unknown = sorted(set(found) - set(names))
        if unknown:
            raise ValueError(f"skeleton points {unknown} are not declared for {label!r}")
        kps: list[float] = []
        element_extra: dict[str, Any] = {}
        for name in names:
            p = found.get(name)
            if p is None:
                kps += [0.0, 0.0, 0]
                continue
            x, y = self._points(p)[:2]
            v = 0 if p.get("outside") == "1" else 1 if p.get("occluded") == "1" else 2
            kps += [x, y, v]
            info: dict[str, Any] = {}
            if p.get("source") is not None:
                info["source"] = p.get("source")
            if p.get("outside") == "1" and p.get("occluded") == "1":
                info["occluded"] = True
            attrs = self._attributes(p, name)
            if attrs:
                info["attributes"] = attrs
            if info:
                element_extra[name] = info
        extra: dict[str, Any] = {"shape": "skeleton"}
        if element_extra:
            extra["elements"] = element_extra
        return Annotation(label, keypoints=kps, extra={"cvat": extra})

    # ------------------------------------------------------------------ tracks
    def _track(self, el: Any, frames: dict[int, Asset], meta_el: Any) -> None:
        record = f"track id={el.get('id')} (line {el.sourceline})"
        label = el.get("label")
        if label is None:
            self.problems.add(record, "lacks 'label'")
            return
        self.counts["track"] = self.counts.get("track", 0) + 1
        for i, child in enumerate(el):
            if not isinstance(child.tag, str):
                continue
            rec = f"{record}: <{child.tag}> #{i}"
            frame = self._int(child, "frame", rec)
            if frame is None:
                self.problems.add(rec, "lacks 'frame'")
                continue
            if child.get("outside") == "1":
                self.counts["outside"] = self.counts.get("outside", 0) + 1
                continue
            asset = frames.get(frame)
            if asset is None:
                asset = frames[frame] = Asset(f"frame_{frame:06d}.PNG", None, None, [], frame)
            child.set("label", label)
            for key in ("source", "group_id"):
                if el.get(key) is not None and child.get(key) is None:
                    child.set(key, el.get(key))
            ann = self._shape(child, rec, asset)
            if ann is not None:
                extra = dict(ann.extra.get("cvat", {}))
                extra["track_id"] = int(el.get("id", "0")) if (el.get("id") or "").isdigit() else el.get("id")
                extra["keyframe"] = child.get("keyframe") == "1"
                ann.extra = {"cvat": extra}
                asset.annotations.append(ann)

    def _frames(self, frames: dict[int, Asset], meta_el: Any) -> None:
        width = height = None
        size = None
        if meta_el is not None:
            w, h = meta_el.find(".//original_size/width"), meta_el.find(".//original_size/height")
            s = meta_el.find(".//task/size")
            width = int(w.text) if w is not None and (w.text or "").isdigit() else None
            height = int(h.text) if h is not None and (h.text or "").isdigit() else None
            size = int(s.text) if s is not None and (s.text or "").isdigit() else None
        last = max(max(frames), (size or 0) - 1)
        for frame in range(last + 1):
            asset = frames.get(frame) or Asset(f"frame_{frame:06d}.PNG", None, None, [], frame)
            asset.width, asset.height = width, height
            self.ds.add_asset(asset)
        self.report.changed("video tracks read as objects on per-frame images", self.counts.get("track", 0),
                            "CVAT for video: frames named frame_NNNNNN.PNG")
        self.report.info("track positions marked outside (not on that frame) skipped", self.counts.get("outside", 0))

    def _report(self) -> None:
        rotated = sum(1 for _, a in self.ds.annotations() if a.extra and "box" in a.extra.get("cvat", {}))
        self.report.changed("rotated boxes read as 4-point polygons", rotated,
                            "the model has no rotated box; CVAT -> CVAT writes the box and angle back")
        multi = sum(1 for _, a in self.ds.annotations() if a.extra and a.extra.get("cvat", {}).get("shape") == "points")
        self.report.changed("multi-point 'points' shapes read as keypoints", multi, "visibility 2 for every point")
