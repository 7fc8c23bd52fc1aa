"""Write CVAT for images XML 1.1 as CVAT's own exporter does (``dump_as_cvat_annotation``): the same
element order, attribute names and order, ``{:.2f}`` coordinates, two-space indentation, and the
``<meta>`` block written back (labels regenerated from the dataset's labels).

What CVAT cannot hold is reported: scores, Q&A, statuses, metadata, crowd flags, keypoint
visibility outside skeletons, other formats' fields. Multi-part polygons become one polygon per part.

Example:
    >>> import tempfile, pathlib
    >>> from picsellia_formats.model import Annotation, Asset, Dataset
    >>> ds = Dataset(assets=[Asset("a.jpg", 8, 6, [Annotation("cat", box=(1.0, 2.0, 3.0, 2.0))])])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "annotations.xml"
    >>> write(ds, out)
    >>> '<box label="cat" occluded="0" xtl="1.00" ytl="2.00" xbr="4.00" ybr="4.00" z_order="0">' in out.read_text()
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import XMLGenerator

from ...model import Annotation, Asset, Dataset, Label
from ...report import Report
from .geometry import mask_to_cvat_rle, rotated_corners
from .meta import Node


def _f(v: float) -> str:
    return f"{v:.2f}"


class _Writer:
    """CVAT's ``XmlAnnotationWriter``: indentation by level, elements opened/closed explicitly."""

    def __init__(self, stream: Any) -> None:
        self.gen = XMLGenerator(stream, "utf-8")
        self.level = 0

    def indent(self, newline: bool = True) -> None:
        if newline:
            self.gen.ignorableWhitespace("\n")
        self.gen.ignorableWhitespace("  " * self.level)

    def open(self, tag: str, attrs: dict[str, str]) -> None:
        self.indent()
        self.gen.startElement(tag, attrs)
        self.level += 1

    def close(self, tag: str) -> None:
        self.level -= 1
        self.indent()
        self.gen.endElement(tag)

    def leaf(self, tag: str, text: str, attrs: dict[str, str] | None = None) -> None:
        self.indent()
        self.gen.startElement(tag, attrs or {})
        self.gen.characters(text)
        self.gen.endElement(tag)

    def nodes(self, nodes: Iterable[Node], labels: Any) -> None:
        self.level += 1
        for tag, value in nodes:
            if tag == "labels" and value is None:
                self.indent()
                self.gen.startElement("labels", {})
                labels(self)
                self.indent()
                self.gen.endElement("labels")
            elif isinstance(value, list):
                self.indent()
                self.gen.startElement(tag, {})
                self.nodes(value, labels)
                self.indent()
                self.gen.endElement(tag)
            else:
                self.leaf(tag, value)
        self.level -= 1


def write(dataset: Dataset, path: str | Path, *, images: Path | None = None, report: Report | None = None,
          progress: bool = False) -> None:
    """Write `dataset` to `path` as one CVAT for images XML 1.1 file."""
    report = report if report is not None else Report()
    state = _State(dataset, report)
    with open(path, "wb") as f:
        w = _Writer(f)
        w.gen.startDocument()
        w.gen.startElement("annotations", {})
        w.level += 1
        w.leaf("version", "1.1")
        w.indent()
        w.gen.startElement("meta", {})
        w.nodes(state.meta_tree(), state.write_labels)
        w.indent()
        w.gen.endElement("meta")
        for index, asset in enumerate(dataset.assets):
            state.image(w, index, asset)
        w.level -= 1
        w.indent()
        w.gen.endElement("annotations")
        w.indent()
        w.gen.endDocument()
    state.finish()


class _State:
    def __init__(self, dataset: Dataset, report: Report) -> None:
        self.ds = dataset
        self.report = report
        self.n: dict[str, int] = {}
        self.labels = {label.name: label for label in dataset.labels}
        ids = [a.id for a in dataset.assets]
        self.keep_ids = all(isinstance(i, int) and not isinstance(i, bool) for i in ids) and len(set(ids)) == len(ids)
        if not self.keep_ids:  # written as their index: say so only of the ids that were there and change
            self.count("renumbered", sum(1 for k, i in enumerate(ids) if i is not None and i != k))

    def count(self, key: str, n: int = 1) -> None:
        self.n[key] = self.n.get(key, 0) + n

    # ------------------------------------------------------------------ meta
    def meta_tree(self) -> list[Node]:
        tree = (self.ds.metadata.get("cvat") or {}).get("meta")
        if tree:
            return tree
        return [("task", [("size", str(len(self.ds.assets))), ("mode", "annotation"), ("labels", None)])]

    def write_labels(self, w: _Writer) -> None:
        w.level += 1
        for label in self.ds.labels:
            spec = (label.extra.get("cvat") or {}).get("spec") if label.extra else None
            self._label(w, label.name, spec or self._default_spec(label))
            for element in (label.extra.get("cvat") or {}).get("elements", ()) if label.extra else ():
                name = next((v for t, v in element if t == "__name__"), "")
                self._label(w, name, [n for n in element if n[0] != "__name__"])
            if label.extra.get("cvat") is None and label.keypoints:
                for name in label.keypoints:
                    self._label(w, name, [("name", None), ("type", "points"), ("attributes", []),
                                          ("parent", label.name)])
        w.level -= 1

    def _label(self, w: _Writer, name: str, spec: list[Node]) -> None:
        w.indent()
        w.gen.startElement("label", {})
        w.nodes([("name", name) if t == "name" and v is None else (t, v) for t, v in spec], None)
        w.indent()
        w.gen.endElement("label")

    def _default_spec(self, label: Label) -> list[Node]:
        seen: dict[str, str] = {}
        for _, ann in self.ds.annotations():
            if ann.label == label.name:
                for key, value in ann.attributes.items():
                    if key != "occluded" and key not in seen:
                        seen[key] = "checkbox" if isinstance(value, bool) else "text"
        attrs = [("attribute", [("name", k), ("mutable", "False"), ("input_type", t),
                                ("default_value", "false" if t == "checkbox" else ""),
                                ("values", "false\ntrue" if t == "checkbox" else "")]) for k, t in seen.items()]
        spec: list[Node] = [("name", None)]
        if label.keypoints:
            spec.append(("type", "skeleton"))
        spec.append(("attributes", attrs))
        return spec

    # ------------------------------------------------------------------ images
    def image(self, w: _Writer, index: int, asset: Asset) -> None:
        extra = (asset.extra.get("cvat") or {}) if asset.extra else {}
        attrs = {"id": str(asset.id if self.keep_ids else index), "name": asset.file_name}
        if asset.tags:
            attrs["subset"] = asset.tags[0]
            if len(asset.tags) > 1:
                self.count("tags", len(asset.tags) - 1)
        for key, value in extra.items():
            attrs[key] = str(value)
        if asset.width is None or asset.height is None:
            self.count("sizes")
        attrs["width"], attrs["height"] = str(asset.width or 0), str(asset.height or 0)
        w.open("image", attrs)
        tags = []
        for ann in asset.annotations:
            if ann.kind == "classification":
                tags.append(ann)
            else:
                self.shape(w, ann)
        for ann in tags:
            cv = (ann.extra.get("cvat") or {}) if ann.extra else {}
            data = {"label": ann.label}
            if "source" in cv:
                data["source"] = cv["source"]
            if cv.get("group_id"):
                data["group_id"] = str(cv["group_id"])
            self._common(ann)
            w.open("tag", data)
            self.attributes(w, ann.attributes, skip_occluded=False)
            w.close("tag")
        w.close("image")

    def _common(self, ann: Annotation) -> None:
        cv = (ann.extra.get("cvat") or {}) if ann.extra else {}
        if "track_id" in cv:
            self.count("track ids")

    def attributes(self, w: _Writer, attributes: Any, skip_occluded: bool = True) -> None:
        for key, value in attributes.items():
            if skip_occluded and key == "occluded":
                continue
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            w.leaf("attribute", text, {"name": str(key)})

    def shape(self, w: _Writer, ann: Annotation) -> None:
        cv = (ann.extra.get("cvat") or {}) if ann.extra else {}
        self._common(ann)
        kind = ann.kind
        parts: list[tuple[str, dict[str, str]]] = []
        if kind == "polygon" and "box" in cv and "rotation" in cv \
                and ann.polygon == [rotated_corners(*cv["box"], cv["rotation"])]:
            xtl, ytl, xbr, ybr = cv["box"]
            parts.append(("box", {"xtl": _f(xtl), "ytl": _f(ytl), "xbr": _f(xbr), "ybr": _f(ybr),
                                  "rotation": _f(cv["rotation"])}))
        elif kind == "box":
            x, y, bw, bh = ann.box  # type: ignore[misc]
            geo = {"xtl": _f(x), "ytl": _f(y), "xbr": _f(x + bw), "ybr": _f(y + bh)}
            if cv.get("rotation"):
                geo["rotation"] = _f(cv["rotation"])
            parts.append(("box", geo))
        elif kind == "polygon":
            usable = [p for p in ann.polygon or [] if len(p) >= 6]
            if len(usable) < len(ann.polygon or []):
                self.count("degenerate parts", len(ann.polygon or []) - len(usable))
            parts += [("polygon", {"points": _pts(p)}) for p in usable]
        elif kind == "line":
            parts.append(("polyline", {"points": _pts(ann.line or [])}))
        elif kind == "point":
            parts.append(("points", {"points": _pts(list(ann.point or ()))}))
        elif kind == "mask":
            box = cv.get("mask_box")
            runs, left, top, mw, mh = mask_to_cvat_rle(ann.mask, tuple(box) if box else None)  # type: ignore[arg-type]
            parts.append(("mask", {"rle": ", ".join(map(str, runs)), "left": str(left), "top": str(top),
                                   "width": str(mw), "height": str(mh)}))
        elif kind == "keypoints":
            label = self.labels.get(ann.label)
            if cv.get("shape") == "skeleton" or (label is not None and label.keypoints
                                                  and len(label.keypoints) * 3 == len(ann.keypoints or [])):
                self.skeleton(w, ann, cv)
                return
            kps = ann.keypoints or []
            pts = [v for i in range(0, len(kps), 3) if kps[i + 2] for v in kps[i:i + 2]]
            self.count("unlabelled keypoints", sum(1 for i in range(2, len(kps), 3) if not kps[i]))
            self.count("occluded keypoints", sum(1 for i in range(2, len(kps), 3) if kps[i] == 1))
            if not pts:
                self.count("empty keypoints")
                return
            parts.append(("points", {"points": _pts(pts)}))
        if kind != "mask" and parts and _rounds(_source_values(ann, cv, parts[0][0])):
            self.count("rounded")
        for tag, geo in parts:
            data = {"label": ann.label}
            if "source" in cv:
                data["source"] = cv["source"]
            data["occluded"] = "1" if ann.attributes.get("occluded") else "0"
            data.update(geo)
            data["z_order"] = str(cv.get("z_order", 0))
            if cv.get("group_id"):
                data["group_id"] = str(cv["group_id"])
            for key, value in (cv.get("other") or {}).items():
                data.setdefault(key, value)
            w.open(tag, data)
            self.attributes(w, ann.attributes)
            w.close(tag)

    def skeleton(self, w: _Writer, ann: Annotation, cv: dict[str, Any]) -> None:
        label = self.labels.get(ann.label)
        names = (label.keypoints if label is not None else None) or []
        kps = ann.keypoints or []
        if len(names) * 3 != len(kps):
            names = [str(i + 1) for i in range(len(kps) // 3)]
        data = {"label": ann.label}
        if "source" in cv:
            data["source"] = cv["source"]
        data["z_order"] = str(cv.get("z_order", 0))
        if cv.get("group_id"):
            data["group_id"] = str(cv["group_id"])
        if _rounds(v for i, v in enumerate(kps) if i % 3 != 2):
            self.count("rounded")
        w.open("skeleton", data)
        elements = cv.get("elements") or {}
        for i, name in enumerate(names):
            x, y, v = kps[3 * i:3 * i + 3]
            info = elements.get(name) or {}
            p = {"label": name}
            if "source" in info:
                p["source"] = info["source"]
            p["outside"] = "1" if not v else "0"
            p["occluded"] = "1" if v == 1 or info.get("occluded") else "0"
            p["points"] = _pts([x, y])
            w.open("points", p)
            self.attributes(w, info.get("attributes") or {})
            w.close("points")
        self.attributes(w, ann.attributes)
        w.close("skeleton")

    def finish(self) -> None:
        r, n = self.report, self.n
        # scores, Q&A, statuses, metadata, crowd flags, label groups, multi-part polygons and other
        # formats' fields are reported from FORMAT.holds
        r.dropped("asset tags beyond the first", n.get("tags", 0), "CVAT has one subset per image")
        r.dropped("unlabelled keypoints (v=0)", n.get("unlabelled keypoints", 0), "CVAT points have no visibility")
        r.dropped("keypoint objects with no labelled point", n.get("empty keypoints", 0))
        r.dropped("polygon parts with fewer than 3 points", n.get("degenerate parts", 0))
        r.dropped("video track ids", n.get("track ids", 0), "written as CVAT for images")
        r.approximated("occluded keypoints written as plain points", n.get("occluded keypoints", 0),
                       "CVAT points have no per-point visibility outside skeletons")
        r.rounded("objects' coordinates", n.get("rounded", 0), "CVAT writes two decimals (0.01 px)")
        r.dropped("image sizes unknown, written as 0", n.get("sizes", 0))
        r.changed("image ids renumbered", n.get("renumbered", 0), "source ids were not unique integers")


def _rounds(values: Iterable[float]) -> bool:
    """True when writing `values` with two decimals changes one of them."""
    return any(float(f"{v:.2f}") != v for v in values)


def _pts(flat: list[float]) -> str:
    return ";".join(f"{flat[i]:.2f},{flat[i + 1]:.2f}" for i in range(0, len(flat) - 1, 2))


def _source_values(ann: Annotation, cv: dict[str, Any], tag: str) -> list[float]:
    """The coordinates (and angle) a shape is written from."""
    if tag == "box" and ann.box is None:
        return [*cv["box"], cv["rotation"]]
    if ann.kind == "box":
        x, y, w, h = ann.box  # type: ignore[misc]
        return [x, y, x + w, y + h]
    if ann.kind == "polygon":
        return [v for part in ann.polygon or [] for v in part]
    if ann.kind == "line":
        return list(ann.line or [])
    if ann.kind == "point":
        return list(ann.point or [])
    kps = ann.keypoints or []
    return [v for i, v in enumerate(kps) if i % 3 != 2 and kps[i - i % 3 + 2]]
