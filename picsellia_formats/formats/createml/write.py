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

from ...model import Annotation, Dataset
from ...report import Report
from ...shapes import annotation_bbox
from .read import COORD_KEYS, ITEM_KEYS, OBJECT_KEYS

#: kinds with no box (reported from the format's declaration, `formats.createml.HOLDS`)
_NO_BOX = frozenset(("line", "point", "classification"))


def _ordered(values: dict[str, Any], keys: Any, default: tuple[str, ...]) -> dict[str, Any]:
    order = [k for k in (keys or default) if k in values]
    order += [k for k in values if k not in order]
    return {k: values[k] for k in order}


def _object(ann: Annotation, c: Counter[str]) -> dict[str, Any] | None:
    kind = ann.kind
    if kind in _NO_BOX:
        return None
    box = ann.box if kind == "box" else annotation_bbox(ann)
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
    return _ordered(values, cm.get("_keys"), OBJECT_KEYS)


def write(dataset: Dataset, path: Path, *, images: Path | None = None, report: Report,
          progress: bool = False) -> None:
    """Write `dataset` to the CreateML file `path`.

    What CreateML cannot hold (kinds other than boxes, scores, attributes, Q&A, tags...) is reported
    once by `api.write` from the format's declaration; here only what depends on each value.
    """
    del images  # CreateML names images; it holds neither their bytes nor their sizes
    c: Counter[str] = Counter()
    out = []
    for asset in dataset.assets:
        objects = [o for ann in asset.annotations if (o := _object(ann, c)) is not None]
        cm = asset.extra.get("createml", {}) if asset.extra else {}
        values = {"image": asset.file_name, "annotations": objects,
                  **{k: v for k, v in cm.items() if not k.startswith("_")}}
        out.append(_ordered(values, cm.get("_keys"), ITEM_KEYS))
    Path(path).write_bytes(orjson.dumps(out))
    r = report
    r.dropped("objects without geometry", c["no_geometry"])
    r.dropped("objects with non-finite coordinates", c["nonfinite"], "JSON has no NaN or infinity")
    r.info("image sizes not written", sum(1 for a in dataset.assets if a.width is not None),
           "CreateML states no size: pass --images when reading it back")
