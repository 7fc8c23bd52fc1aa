"""Read CreateML JSON (Apple Create ML / Turi Create object detection, as Roboflow exports it).

The file is a list with one item per image: ``{"image": name, "annotations": [{"label": name,
"coordinates": {"x", "y", "width", "height"}}]}`` where ``x``/``y`` is the box centre in pixels.
CreateML states no image size: give ``images`` to read the sizes from the image headers. Keys this
project does not know are kept in ``extra["createml"]`` (and written back).

Example:
    >>> from pathlib import Path
    >>> from picsellia_formats.report import Report
    >>> ds = read(Path("fixtures/createml_roboflow/_annotations.createml.json"), report=Report())
    >>> len(ds), ds.num_annotations, ds.assets[4].annotations[1].box
    (5, 78, (568.0, 312.0, 65, 51))
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ...errors import FormatError, ProblemCollector
from ...images import image_size
from ...io_utils import gc_paused
from ...model import Annotation, Asset, Dataset
from ...report import Report
from .._json_files import load_json, resolve_file_or_folder
from .detect import sniff

ITEM_KEYS = ("image", "annotations")
OBJECT_KEYS = ("label", "coordinates")
COORD_KEYS = ("x", "y", "width", "height")


def _number(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


def _object(i: int, j: int, obj: Any, problems: ProblemCollector) -> Annotation | None:
    record = f"[{i}].annotations[{j}]"
    if not isinstance(obj, dict):
        problems.add(record, f"must be an object, got {type(obj).__name__}")
        return None
    label = obj.get("label")
    if not isinstance(label, str):
        problems.add(record, f"label must be a string, got {label!r:.60}")
        return None
    coords = obj.get("coordinates")
    if not isinstance(coords, dict):
        problems.add(record, f"coordinates must be an object with x, y, width, height, got {coords!r:.60}")
        return None
    values = [coords.get(k) for k in COORD_KEYS]
    bad = [k for k, v in zip(COORD_KEYS, values) if not _number(v)]
    if bad:
        problems.add(record, f"coordinates.{bad[0]} must be a finite number, got {coords.get(bad[0])!r:.60}")
        return None
    x, y, w, h = values
    if w < 0 or h < 0:
        problems.add(record, f"negative width or height ({w}, {h})")
        return None
    left, top = x - w / 2, y - h / 2
    ann = Annotation(label, box=(left, top, w, h))
    cm: dict[str, Any] = {}
    if left + w / 2 != x or top + h / 2 != y:  # the centre would not come back bit for bit
        cm["_center"] = [x, y]
    if tuple(obj) != OBJECT_KEYS:
        cm["_keys"] = list(obj)
    if tuple(coords) != COORD_KEYS:
        cm["_coord_keys"] = list(coords)
    for key, value in obj.items():
        if key not in OBJECT_KEYS:
            cm[key] = value
    for key, value in coords.items():
        if key not in COORD_KEYS:
            cm.setdefault("coordinates", {})[key] = value
    if cm:
        ann.extra = {"createml": cm}
    return ann


def read(path: Path, *, images: Path | None = None, report: Report,
         progress: bool = False) -> Dataset:
    """Read a CreateML file (or the only one of a folder); `images` gives the image sizes."""
    path = resolve_file_or_folder(Path(path), sniff, "CreateML")
    data = load_json(path)
    if not isinstance(data, list):
        raise FormatError(f"not a CreateML file: the top level is a JSON {type(data).__name__}, expected a list",
                          file=path)
    problems = ProblemCollector(path)
    dataset = Dataset()
    with gc_paused():
        for i, item in enumerate(data):
            if not isinstance(item, dict):
                problems.add(f"[{i}]", f"must be an object with image and annotations, got {type(item).__name__}")
                continue
            name = item.get("image")
            if not isinstance(name, str) or not name:
                problems.add(f"[{i}]", f"image must be a non-empty string, got {name!r:.60}")
                continue
            objects = item.get("annotations", [])
            if not isinstance(objects, list):
                problems.add(f"[{i}] ({name})", f"annotations must be a list, got {type(objects).__name__}")
                continue
            asset = Asset(name)
            for j, obj in enumerate(objects):
                ann = _object(i, j, obj, problems)
                if ann is not None:
                    asset.annotations.append(ann)
            cm = {k: v for k, v in item.items() if k not in ITEM_KEYS}
            if tuple(item) != ITEM_KEYS:
                cm["_keys"] = list(item)
            if cm:
                asset.extra = {"createml": cm}
            dataset.add_asset(asset)
    problems.raise_if_any()
    dataset.ensure_labels()
    if images is not None:
        found = 0
        for asset in dataset.assets:
            file = images / asset.file_name
            if file.is_file():
                asset.width, asset.height = image_size(file)
                found += 1
        report.info("image sizes read from the image headers", found, "CreateML states no size")
        report.info("images without a size", len(dataset) - found, f"no image file for them in {images}")
    return dataset
