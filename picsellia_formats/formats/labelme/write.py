"""Write a `Dataset` as LabelMe JSON: one file per image, beside where the image would be.

Each asset becomes ``<image path without extension>.json`` under the output folder (or the path it
was read from), with ``imagePath`` relative to that file, as LabelMe itself writes it. Boxes are
``rectangle``, polygons ``polygon`` (several parts: one shape per part sharing a ``group_id``), lines
``line``/``linestrip``, points ``point``, keypoints ``points``, image-level classifications the
image ``flags``; masks are traced to polygons. Boolean attributes become the shape's ``flags``,
other attributes its ``attributes`` object (kept by LabelMe as extra shape data), scores its
``score``. What LabelMe cannot hold is reported by `api.write` from the format's declaration
(`formats.labelme.HOLDS`); the writer reports what depends on each value.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from picsellia_formats.model import Annotation, Asset, Dataset
    >>> from picsellia_formats.report import Report
    >>> out = Path(tempfile.mkdtemp())
    >>> ds = Dataset(assets=[Asset("a.jpg", 64, 48, [Annotation("car", box=(1.0, 2.0, 10.0, 12.0))])])
    >>> write(ds, out, report=Report())
    >>> sorted(p.name for p in out.iterdir())
    ['a.json']
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from ...errors import FormatError, OptionError
from ...io_utils import safe_relative_path
from ...model import Annotation, Asset, Dataset
from ...report import Report
from .read import (
    DEFAULT_SHAPE_KEYS,
    DEFAULT_TOP_KEYS,
    circle_polygon,
    default_image_path,
    default_json_path,
)

#: the LabelMe schema version written when the source did not state one
VERSION = "5.5.0"
_IMAGE_DATA_MODES = ("keep", "embed", "none")


def _pairs(flat: list[float]) -> list[list[float]]:
    return [[flat[i], flat[i + 1]] for i in range(0, len(flat) - 1, 2)]


def _finite(values: Any) -> bool:
    return all(math.isfinite(v) for v in values)


def _box_is_data(ann: Annotation) -> bool:
    """A box stated beside a polygon or mask that is not just its extent (that one LabelMe recomputes)."""
    from ...geometry import polygon_bbox

    if ann.polygon is not None:
        extent = polygon_bbox(ann.polygon)
    else:
        from ...masks import rle_bbox

        extent = rle_bbox(ann.mask)  # type: ignore[arg-type]
    return any(abs(a - b) > 1e-6 for a, b in zip(ann.box, extent))  # type: ignore[arg-type]


class _Writer:
    def __init__(self, report: Report, images: Path | None, image_data: str) -> None:
        self.report = report
        self.images = images
        self.image_data = image_data
        self.c: Counter[str] = Counter()

    # --------------------------------------------------------------------------------------- one shape

    def _geometry(self, ann: Annotation, lm: dict[str, Any]) -> list[tuple[str, list[list[float]]]]:
        """(shape_type, points) of each shape the object becomes; empty when it has no geometry."""
        if ann.mask is not None:
            from ...masks import mask_to_polygons

            parts = mask_to_polygons(ann.mask)
            return [("polygon", _pairs(p)) for p in parts]
        if ann.polygon is not None:
            circle = lm.get("circle")
            if circle is not None and len(ann.polygon) == 1 and ann.polygon[0] == circle_polygon(
                    *circle[0], *circle[1], n=len(ann.polygon[0]) // 2):
                return [("circle", [list(circle[0]), list(circle[1])])]
            if circle is not None:
                self.c["circles_edited"] += 1
            if len(ann.polygon) > 1 and "_index" not in lm:
                self.c["multipart"] += 1
            return [("polygon", _pairs(p)) for p in ann.polygon]
        if ann.keypoints is not None:
            kp = ann.keypoints
            pts = [[kp[i], kp[i + 1]] for i in range(0, len(kp) - 2, 3) if kp[i + 2] > 0]
            if len(pts) * 3 != len(kp):
                self.c["kp_unlabelled"] += len(kp) // 3 - len(pts)
            if any(v == 1 for v in kp[2::3]):
                self.c["kp_visibility"] += 1
            if ann.box is not None:
                self.c["kp_boxes"] += 1
            return [("points", pts)] if pts else []
        if ann.line is not None:
            shape_type = lm.get("_shape_type") or ("line" if len(ann.line) == 4 else "linestrip")
            if shape_type == "line" and len(ann.line) != 4:
                shape_type = "linestrip"
            return [(shape_type, _pairs(ann.line))]
        if ann.point is not None:
            return [("point", [list(ann.point)])]
        if ann.box is not None:
            x, y, w, h = ann.box
            far = lm.get("_far")
            x2, y2 = (far[0], far[1]) if far is not None and far[0] - x == w and far[1] - y == h else (x + w, y + h)
            (ax, bx), (ay, by) = (x, x2), (y, y2)
            flip = lm.get("_flip")
            if flip:
                if flip[0]:
                    ax, bx = bx, ax
                if flip[1]:
                    ay, by = by, ay
            return [("rectangle", [[ax, ay], [bx, by]])]
        return []

    def shapes(self, ann: Annotation, group_ids: set[int], next_gid: list[int]
               ) -> list[tuple[int | None, dict[str, Any]]]:
        """The shapes of one object, each with its position in the source file (None: not from one)."""
        lm = ann.extra.get("labelme", {}) if ann.extra else {}
        if ann.polygon is None and ann.mask is None and (ann.line is not None or ann.point is not None) \
                and ann.box is not None:
            self.c["other_boxes"] += 1
        elif (ann.polygon is not None or ann.mask is not None) and ann.box is not None and _box_is_data(ann):
            self.c["stated_boxes"] += 1
        geometry = self._geometry(ann, lm)
        if not geometry or not all(_finite(v for pt in pts for v in pt) for _, pts in geometry):
            self.c["nonfinite" if geometry else "no_geometry"] += 1
            return []
        attributes = dict(ann.attributes) if ann.attributes else {}
        gid = attributes.pop("group_id", None)
        if gid is not None and type(gid) is not int:
            attributes["group_id"] = gid
            gid = None
        description = attributes.pop("description", None)
        if description is not None and not isinstance(description, str):
            attributes["description"] = description
            description = None
        if len(geometry) > 1 and gid is None:
            gid = next_gid[0]
            next_gid[0] += 1
            self.c["group_ids_made"] += 1
        more_keys = lm.get("_attribute_keys", ())
        flags = {k: v for k, v in attributes.items() if type(v) is bool and k not in more_keys}
        more = {k: v for k, v in attributes.items() if k not in flags}
        keys = lm.get("_keys") or DEFAULT_SHAPE_KEYS
        base: dict[str, Any] = {}
        for key in keys:
            if key == "label":
                base[key] = ann.label
            elif key == "points":
                base[key] = None
            elif key == "group_id":
                base[key] = gid
            elif key == "description":
                base[key] = description if description is not None else lm.get("_description")
            elif key == "shape_type":
                base[key] = None
            elif key == "flags":
                base[key] = flags
            elif key == "attributes":
                base[key] = more
            elif key == "score":
                base[key] = ann.score
            elif key == "mask":
                base[key] = None
            elif key in lm:
                base[key] = lm[key]
        if gid is not None:
            base.setdefault("group_id", gid)
        if description is not None:
            base.setdefault("description", description)
        if flags:
            base.setdefault("flags", flags)
        if more:
            base.setdefault("attributes", more)
        if ann.score is not None:
            base.setdefault("score", ann.score)
        for key, value in lm.items():
            if not key.startswith("_") and key != "circle":
                base.setdefault(key, value)
        indexes = lm.get("_index") or []
        null_type = "_shape_type" in lm and lm["_shape_type"] is None
        out: list[tuple[int | None, dict[str, Any]]] = []
        for j, (shape_type, pts) in enumerate(geometry):
            shape = dict(base)
            shape["points"] = pts
            if "shape_type" in shape:
                shape["shape_type"] = None if null_type and shape_type == "polygon" else shape_type
            elif shape_type != "polygon":  # a source without shape_type (LabelMe 3) meant polygons
                shape["shape_type"] = shape_type
            out.append((indexes[j] if j < len(indexes) else None, shape))
        if gid is not None:
            group_ids.add(gid)
        return out

    # --------------------------------------------------------------------------------------- one asset

    def asset_json(self, asset: Asset, json_path: str) -> dict[str, Any]:
        lm = asset.extra.get("labelme", {}) if asset.extra else {}
        true_flags: dict[str, bool] = {}
        shaped: list[tuple[float, dict[str, Any]]] = []
        group_ids = {a.attributes["group_id"] for a in asset.annotations
                     if a.attributes and type(a.attributes.get("group_id")) is int}
        next_gid = [max(group_ids, default=0) + 1]
        prev, bump = -1.0, 0
        for ann in asset.annotations:
            if ann.kind == "classification":
                if ann.label in true_flags:
                    self.c["duplicate_flags"] += 1
                true_flags[ann.label] = True
                self._object_losses(ann, classification=True)
                continue
            made = self.shapes(ann, group_ids, next_gid)
            for index, shape in made:
                if index is None:  # not from a LabelMe file: after the previous object, in order
                    bump += 1
                    shaped.append((prev + bump * 1e-9, shape))
                else:
                    shaped.append((float(index), shape))
            if made and made[0][0] is not None:
                prev, bump = float(made[0][0]), 0
            self._object_losses(ann)
        shaped.sort(key=lambda item: item[0])
        unset = lm.get("flags") or {}
        flags: dict[str, bool] | None = {**true_flags, **{k: v for k, v in unset.items() if k not in true_flags}}
        order = lm.get("_flag_order")
        if order and flags and set(order) == set(flags):
            flags = {k: flags[k] for k in order}
        if not flags and lm.get("_flags_null"):
            flags = None
        image_path = lm["_image_path"] if "_image_path" in lm else default_image_path(asset.file_name, json_path)
        values = {
            "version": lm.get("version", VERSION),
            "flags": flags,
            "shapes": [s for _, s in shaped],
            "imagePath": image_path,
            "imageData": self._image_data(asset, lm),
            "imageHeight": asset.height,
            "imageWidth": asset.width,
        }
        keys = lm.get("_keys") or DEFAULT_TOP_KEYS
        out: dict[str, Any] = {}
        for key in keys:
            if key in values:
                out[key] = values[key]
            elif key in lm:
                out[key] = lm[key]
        for key in ("flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"):
            if key not in out and (values[key] or key == "shapes"):
                out[key] = values[key]
        for key, value in lm.items():
            if not key.startswith("_") and key not in values and key not in out:
                out[key] = value
        return out

    def _image_data(self, asset: Asset, lm: dict[str, Any]) -> str | None:
        kept = lm.get("imageData")
        if self.image_data == "none":
            if kept:
                self.c["image_data_dropped"] += 1
            return None
        if self.image_data == "embed":
            if self.images is None:
                raise FormatError("image_data='embed' needs the image files: pass images= (--images)")
            found = self.images / safe_relative_path(asset.file_name)
            if not found.is_file():
                self.c["embed_missing"] += 1
                return kept or None
            self.c["embedded"] += 1
            return base64.b64encode(found.read_bytes()).decode("ascii")
        if kept:
            return kept
        return lm.get("_image_data")

    def _object_losses(self, ann: Annotation, classification: bool = False) -> None:
        # Q&A, crowd flags and other formats' fields: reported from the format's declaration
        if classification and (ann.attributes or ann.score is not None):
            self.c["classification_fields"] += 1

    # ---------------------------------------------------------------------------------------- report

    def finish(self, dataset: Dataset) -> None:
        # tags, statuses, Q&A, metadata, crowd flags, the label list, label groups and other formats'
        # fields: reported once by api.write from the format's declaration (formats.labelme.HOLDS)
        r, c = self.report, self.c
        r.dropped("keypoint names of labels", sum(1 for lb in dataset.labels if lb.keypoints or lb.skeleton),
                  "LabelMe points have no names or skeleton")
        r.dropped("objects without geometry", c["no_geometry"])
        r.dropped("objects with non-finite coordinates", c["nonfinite"], "JSON has no NaN or infinity")
        r.dropped("attributes or scores of image-level classifications", c["classification_fields"],
                  "LabelMe image flags are true/false only")
        r.dropped("duplicate image-level classifications", c["duplicate_flags"], "one flag per label")
        r.dropped("unlabelled keypoints (visibility 0)", c["kp_unlabelled"], "LabelMe points have no visibility")
        r.dropped("keypoint visibility flags (1 = occluded)", c["kp_visibility"], "LabelMe points have no "
                  "visibility")
        r.dropped("boxes stated beside keypoints", c["kp_boxes"], "a LabelMe 'points' shape has no box")
        r.dropped("boxes stated beside polygons or masks", c["stated_boxes"], "LabelMe writes the shape only")
        r.dropped("boxes stated beside lines or points", c["other_boxes"], "LabelMe writes the shape only")
        r.dropped("embedded images (imageData)", c["image_data_dropped"], "image_data='none'")
        r.changed("circles written as polygons (the polygon no longer matches the circle)", c["circles_edited"])
        r.info("multi-part polygons written as one shape per part", c["multipart"],
                  "sharing a group_id, as LabelMe groups them")
        r.changed("group_ids given to multi-part polygons", c["group_ids_made"])
        r.info("images embedded (imageData)", c["embedded"])
        r.info("images not found to embed", c["embed_missing"], "imageData left as it was")
        r.info("object ids not written", sum(1 for _, a in dataset.annotations() if a.id is not None),
               "LabelMe shapes have no id")


def _json_paths(dataset: Dataset, report: Report) -> list[str]:
    taken: set[str] = set()
    out = []
    unsafe = renamed = 0
    for asset in dataset.assets:
        lm = asset.extra.get("labelme", {}) if asset.extra else {}
        name = lm.get("_json_path") or default_json_path(asset.file_name)
        try:
            name = safe_relative_path(name).as_posix()
        except ValueError:
            name = default_json_path(asset.file_name.replace("\\", "/").rsplit("/", 1)[-1] or "image")
            unsafe += 1
        if name.lower() in taken:
            stem = name[:-5]
            k = 2
            while f"{stem}-{k}.json".lower() in taken:
                k += 1
            name = f"{stem}-{k}.json"
            renamed += 1
        taken.add(name.lower())
        out.append(name)
    report.changed("unsafe image paths: JSON named after the base name", unsafe)
    report.changed("JSON file names made unique", renamed, "several images share a stem")
    return out


def write(
    dataset: Dataset,
    path: Path,
    *,
    images: Path | None = None,
    report: Report,
    image_data: str = "keep",
    progress: bool = False,
) -> None:
    """Write one LabelMe JSON file per asset under the folder `path`.

    `image_data`: ``keep`` (what the source embedded, else null), ``embed`` (the image files found
    under `images`, base64, as LabelMe's "Save With Image Data") or ``none``.
    """
    if image_data not in _IMAGE_DATA_MODES:
        raise OptionError(f"image_data must be one of {', '.join(_IMAGE_DATA_MODES)}, got {image_data!r}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    writer = _Writer(report, images, image_data)
    for asset, json_path in zip(dataset.assets, _json_paths(dataset, report)):
        data = writer.asset_json(asset, json_path)
        target = path / json_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    writer.finish(dataset)
