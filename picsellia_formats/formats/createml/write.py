"""Write a `Dataset` as one CreateML JSON file (a list of images with centre-based boxes).

Boxes are written as they are; polygons, masks and keypoints as the box around them (reported);
lines, points and image-level classifications cannot be held and are reported dropped. Images
without objects are kept with an empty ``annotations`` list.

Example:
    >>> import tempfile, json
    >>> from pathlib import Path
    >>> from picsellia_formats.model import Annotation, Asset, Dataset
    >>> from picsellia_formats.report import Report
    >>> out = Path(tempfile.mkdtemp()) / "a.json"
    >>> write(Dataset(assets=[Asset("a.jpg", annotations=[Annotation("car", box=(1, 2, 10, 20))])]), out,
    ...       report=Report())
    >>> json.loads(out.read_text())[0]["annotations"][0]["coordinates"]
    {'x': 6.0, 'y': 12.0, 'width': 10, 'height': 20}
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from ...fidelity import ForeignFields
from ...geometry import annotation_bbox
from ...model import Annotation, Dataset
from ...report import Report
from .read import COORD_KEYS, ITEM_KEYS, OBJECT_KEYS

_APPROX = {"polygon": "polygons", "mask": "masks", "keypoints": "keypoints"}
_DROP = {"line": "lines", "point": "points", "classification": "image-level classifications"}


def _ordered(values: dict[str, Any], keys: Any, default: tuple[str, ...]) -> dict[str, Any]:
    order = [k for k in (keys or default) if k in values]
    order += [k for k in values if k not in order]
    return {k: values[k] for k in order}


def _object(ann: Annotation, c: Counter[str], foreign: ForeignFields) -> dict[str, Any] | None:
    kind = ann.kind
    if kind in _DROP:
        c[kind] += 1
        return None
    box = ann.box if kind == "box" else annotation_bbox(ann)
    if kind != "box":
        c[kind] += 1
    if box is None or not all(math.isfinite(v) for v in box):
        c["nonfinite" if box is not None else "no_geometry"] += 1
        return None
    x, y, w, h = box
    cm = ann.extra.get("createml", {}) if ann.extra else {}
    center = cm.get("_center")
    if center is not None and center[0] - w / 2 == x and center[1] - h / 2 == y:
        cx, cy = center
    else:
        cx, cy = x + w / 2, y + h / 2
    coords = _ordered({"x": cx, "y": cy, "width": w, "height": h, **cm.get("coordinates", {})},
                      cm.get("_coord_keys"), COORD_KEYS)
    values = {"label": ann.label, "coordinates": coords,
              **{k: v for k, v in cm.items() if not k.startswith("_") and k != "coordinates"}}
    c["qa"] += len(ann.qa)
    c["scores"] += ann.score is not None
    c["attributes"] += bool(ann.attributes)
    c["crowd"] += bool(ann.iscrowd)
    if ann.extra:
        foreign.add("objects", ann.extra)
    return _ordered(values, cm.get("_keys"), OBJECT_KEYS)


def write(dataset: Dataset, path: Path, *, images: Path | None = None, report: Report,
          progress: bool = False) -> None:
    """Write `dataset` to the CreateML file `path`."""
    del images  # CreateML names images; it holds neither their bytes nor their sizes
    c: Counter[str] = Counter()
    foreign = ForeignFields("createml")
    out = []
    for asset in dataset.assets:
        objects = [o for ann in asset.annotations if (o := _object(ann, c, foreign)) is not None]
        cm = asset.extra.get("createml", {}) if asset.extra else {}
        values = {"image": asset.file_name, "annotations": objects,
                  **{k: v for k, v in cm.items() if not k.startswith("_")}}
        out.append(_ordered(values, cm.get("_keys"), ITEM_KEYS))
        foreign.add("assets", asset.extra)
    Path(path).write_bytes(orjson.dumps(out))
    for label in dataset.labels:
        foreign.add("labels", label.extra)
    foreign.add("dataset", dataset.metadata)
    foreign.report_to(report)
    r = report
    for kind, plural in _APPROX.items():
        r.approximated(f"{plural} written as boxes", c[kind], "CreateML objects are boxes")
    for kind, plural in _DROP.items():
        r.dropped(plural, c[kind], "CreateML has no such shape")
    r.dropped("objects without geometry", c["no_geometry"])
    r.dropped("objects with non-finite coordinates", c["nonfinite"], "JSON has no NaN or infinity")
    r.dropped("object Q&A answers", c["qa"], "CreateML has no Q&A")
    r.dropped("detection scores", c["scores"], "CreateML has no score")
    r.dropped("object attributes", c["attributes"], "CreateML has no attributes")
    r.dropped("crowd flags (iscrowd)", c["crowd"], "CreateML has no crowd flag")
    r.dropped("asset tags", sum(1 for a in dataset.assets if a.tags), "CreateML has no tags")
    r.dropped("asset statuses", sum(1 for a in dataset.assets if a.status), "CreateML has no review status")
    r.dropped("image Q&A answers", sum(len(a.qa) for a in dataset.assets), "CreateML has no Q&A")
    r.dropped("assets' metadata", sum(1 for a in dataset.assets if a.metadata), "CreateML has no such field")
    used = {ann.label for _, ann in dataset.annotations()}
    r.dropped("labels without objects", sum(1 for lb in dataset.labels if lb.name not in used),
              "CreateML has no label list")
    r.dropped("label groups (supercategories)", sum(1 for lb in dataset.labels if lb.group),
              "CreateML has no label list")
    r.info("image sizes not written", sum(1 for a in dataset.assets if a.width is not None),
           "CreateML states no size: pass --images when reading it back")
