"""Read LabelMe JSON (one file per image, or a folder of them, recursive) into a `Dataset`.

Shapes become objects: ``rectangle`` a box, ``polygon`` a polygon, ``circle`` a polygon of
`circle_points` vertices (the circle itself is kept for LabelMe output), ``point`` a point,
``line``/``linestrip`` a line, ``points`` keypoints (all visible). Polygon shapes sharing a label
and a ``group_id`` are one object with several parts (as labelme2coco reads them). Image ``flags``
set to true are image-level classifications (the false ones are kept for LabelMe output). A
shape's ``flags`` are boolean attributes, its ``group_id`` and ``description`` the attributes of
the same names, its ``score`` (X-AnyLabeling) the score. What LabelMe holds that no other format
does (``imageData``, colours, the key order...) is kept in ``extra["labelme"]`` so that LabelMe ->
LabelMe gives the same JSON.

Example:
    >>> from pathlib import Path
    >>> from picsellia_formats.report import Report
    >>> ds = read(Path("fixtures/labelme/primitives/primitives.json"), report=Report())
    >>> sorted({a.kind for _, a in ds.annotations()})
    ['box', 'line', 'point', 'polygon']
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from ...errors import FormatError, OptionError, ProblemCollector
from ...image_header import read_header
from ...images import image_size
from ...io_utils import gc_paused, safe_relative_path
from ...model import Annotation, Asset, Dataset
from ...report import Report
from .._json_files import load_json
from .detect import label_files

#: top-level keys LabelMe itself reads and writes (`labelme._label_file`)
TOP_KEYS = ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth")
#: shape keys read into the model (the others are kept in ``extra["labelme"]``)
SHAPE_KEYS = frozenset(("label", "points", "group_id", "shape_type", "flags", "description", "attributes",
                        "score", "mask"))
#: labelme's default key order for a shape (what its writer produces)
DEFAULT_SHAPE_KEYS = ("label", "points", "group_id", "description", "shape_type", "flags", "mask")
DEFAULT_TOP_KEYS = TOP_KEYS
SHAPE_TYPES = ("polygon", "rectangle", "circle", "point", "line", "linestrip", "points", "mask")
CIRCLE_POINTS = 64


def circle_polygon(cx: float, cy: float, px: float, py: float, n: int = CIRCLE_POINTS) -> list[float]:
    """The `n`-vertex polygon inscribed in LabelMe's circle (centre, a point on the rim).

    Example:
        >>> [round(v, 6) for v in circle_polygon(0, 0, 1, 0, 4)]
        [1.0, 0.0, 0.0, 1.0, -1.0, 0.0, -0.0, -1.0]
    """
    r = math.hypot(px - cx, py - cy)
    out: list[float] = []
    for k in range(n):
        t = 2 * math.pi * k / n
        out += (cx + r * math.cos(t), cy + r * math.sin(t))
    return out


def default_json_path(file_name: str) -> str:
    """Where the LabelMe file of an image goes: beside it, named after it.

    Example:
        >>> default_json_path("images/a.jpg"), default_json_path("b")
        ('images/a.json', 'b.json')
    """
    head, _, base = file_name.rpartition("/")
    stem = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    return f"{head}/{stem}.json" if head else f"{stem}.json"


def default_image_path(file_name: str, json_path: str) -> str:
    """``imagePath`` as LabelMe writes it: the image relative to the folder of the JSON file.

    Example:
        >>> default_image_path("images/a.jpg", "labels/a.json")
        '../images/a.jpg'
    """
    json_dir = PurePosixPath(json_path).parent.as_posix()
    if json_dir == ".":
        return file_name
    return os.path.relpath(file_name, json_dir).replace(os.sep, "/")


def _number(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


class _FileReader:
    """Reads one LabelMe file into an `Asset`."""

    def __init__(self, file: Path, root: Path, report: Report, circle_points: int, counts: dict[str, int]) -> None:
        self.file = file
        self.root = root
        self.report = report
        self.circle_points = circle_points
        self.counts = counts
        self.problems = ProblemCollector(file)
        self._key_cache: dict[tuple[str, ...], tuple[str, ...]] = {}

    def read(self, data: Any) -> Asset:
        p = self.problems
        if not isinstance(data, dict):
            raise FormatError(f"not a LabelMe file: the top level is a JSON {type(data).__name__}, "
                              "expected an object", file=self.file)
        shapes = data.get("shapes")
        if not isinstance(shapes, list):
            raise FormatError("not a LabelMe file: 'shapes' is missing or not a list", file=self.file)
        lm: dict[str, Any] = {}
        asset = Asset(self._file_name(data, lm))
        keys = tuple(data)
        if keys != DEFAULT_TOP_KEYS:
            lm["_keys"] = list(keys)
        if "version" in data:
            lm["version"] = data["version"]
        self._size(data, asset, lm)
        for key, value in data.items():
            if key not in TOP_KEYS:
                lm[key] = value
        self._flags(data.get("flags"), asset, lm)
        annotations: list[Annotation] = []
        for i, shape in enumerate(shapes):
            ann = self._shape(i, shape)
            if ann is not None:
                annotations.append(ann)
        p.raise_if_any()
        asset.annotations.extend(_merge_groups(annotations, self.counts))
        rel = self.file.relative_to(self.root).as_posix()
        if rel != default_json_path(asset.file_name):
            lm["_json_path"] = rel
        asset.extra = {"labelme": lm}
        return asset

    # ------------------------------------------------------------------------------------- image fields

    def _file_name(self, data: dict[str, Any], lm: dict[str, Any]) -> str:
        raw = data.get("imagePath")
        if raw is None or raw == "":
            lm["_image_path"] = raw
            self.counts["no_image_path"] += 1
            rel = self.file.relative_to(self.root)
            return rel.with_suffix("").as_posix()
        if not isinstance(raw, str):
            raise FormatError(f"imagePath must be a string, got {type(raw).__name__}", file=self.file,
                              record="imagePath")
        posix = PureWindowsPath(raw).as_posix() if "\\" in raw else raw
        json_dir = self.file.parent.relative_to(self.root).as_posix()
        joined = os.path.normpath(posix if json_dir == "." else f"{json_dir}/{posix}").replace(os.sep, "/")
        try:
            name = safe_relative_path(joined).as_posix()
        except ValueError:
            name = PurePosixPath(posix).name or self.file.stem
            self.counts["outside"] += 1
        if raw != default_image_path(name, self.file.relative_to(self.root).as_posix()):
            lm["_image_path"] = raw
        return name

    def _size(self, data: dict[str, Any], asset: Asset, lm: dict[str, Any]) -> None:
        for key, attr in (("imageWidth", "width"), ("imageHeight", "height")):
            v = data.get(key)
            if v is None:
                continue
            if type(v) is float and v.is_integer() and v > 0:
                v = int(v)
            if type(v) is not int or v <= 0:
                self.problems.add(key, f"must be a positive integer, got {v!r}")
                continue
            setattr(asset, attr, v)
        image_data = data.get("imageData")
        if isinstance(image_data, str) and image_data:
            lm["imageData"] = image_data
            if asset.width is None or asset.height is None:
                try:
                    info = read_header(decode_image_data(image_data, self.file), file=self.file)
                    if info is None:
                        raise FormatError("imageData is not an image", file=self.file)
                    asset.width, asset.height = info.displayed_size
                except FormatError as exc:
                    self.problems.add("imageData", exc.message)
                    return
                self.counts["size_from_data"] += 1
        elif "imageData" in data:
            if image_data is not None and image_data != "":
                self.problems.add("imageData", f"must be a base64 string or null, got {type(image_data).__name__}")
            elif image_data == "":
                lm["_image_data"] = ""

    def _flags(self, flags: Any, asset: Asset, lm: dict[str, Any]) -> None:
        if flags is None:
            if "flags" in lm.get("_keys", TOP_KEYS):
                lm["_flags_null"] = True
            return
        if not isinstance(flags, dict):
            self.problems.add("flags", f"must be an object of true/false values, got {type(flags).__name__}")
            return
        unset = {}
        for name, value in flags.items():
            if type(value) is not bool:
                self.problems.add(f"flags[{name!r}]", f"must be true or false, got {value!r}")
            elif value:
                asset.annotations.append(Annotation(name))
            else:
                unset[name] = False
        if unset:
            lm["flags"] = unset
        if unset and any(flags.values()):
            lm["_flag_order"] = list(flags)

    # ------------------------------------------------------------------------------------------- shapes

    def _points(self, record: str, points: Any, shape_type: str) -> list[float] | None:
        if not isinstance(points, list) or not points:
            self.problems.add(record, f"points must be a non-empty list of [x, y], got {points!r:.60}")
            return None
        flat: list[float] = []
        for j, pt in enumerate(points):
            if not isinstance(pt, list) or len(pt) != 2 or not _number(pt[0]) or not _number(pt[1]):
                self.problems.add(record, f"points[{j}] must be [x, y] with finite numbers, got {pt!r:.60}")
                return None
            flat += pt
        n = len(flat) // 2
        need = {"rectangle": (2, 2), "circle": (2, 2), "point": (1, 1), "line": (2, 2), "linestrip": (2, None),
                "polygon": (1, None), "points": (1, None), "mask": (2, 2)}[shape_type]
        if n < need[0] or (need[1] is not None and n > need[1]):
            want = f"{need[0]}" if need[0] == need[1] else f"at least {need[0]}"
            self.problems.add(record, f"a {shape_type} needs {want} points, got {n}")
            return None
        return flat

    def _shape(self, i: int, shape: Any) -> Annotation | None:
        record = f"shapes[{i}]"
        if not isinstance(shape, dict):
            self.problems.add(record, f"must be an object, got {type(shape).__name__}")
            return None
        label = shape.get("label")
        if not isinstance(label, str):
            self.problems.add(record, f"label must be a string, got {label!r:.60}")
            return None
        record = f"shapes[{i}] ({label!r})"
        shape_type = shape.get("shape_type", "polygon")
        if shape_type is None:
            shape_type = "polygon"
        if shape_type not in SHAPE_TYPES:
            self.problems.add(record, f"unknown shape_type {shape_type!r} (LabelMe has {', '.join(SHAPE_TYPES)})")
            return None
        if shape_type == "mask":
            self.problems.add(record, "shape_type 'mask' (a PNG per shape) is not supported; convert it to a "
                              "polygon in LabelMe first")
            return None
        flat = self._points(record, shape.get("points"), shape_type)
        if flat is None:
            return None
        lm: dict[str, Any] = {"_index": [i]}
        keys = tuple(shape)
        if keys != DEFAULT_SHAPE_KEYS:
            lm["_keys"] = self._key_cache.setdefault(keys, keys)
        ann = Annotation(label)
        if shape_type == "rectangle":
            x1, y1, x2, y2 = flat
            ann.box = (min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1))
            if x1 > x2 or y1 > y2:
                lm["_flip"] = [x1 > x2, y1 > y2]
            lm["_far"] = [max(x1, x2), max(y1, y2)]
        elif shape_type == "circle":
            ann.polygon = [circle_polygon(*flat, n=self.circle_points)]
            lm["circle"] = [flat[:2], flat[2:]]
            self.counts["circles"] += 1
        elif shape_type == "polygon":
            ann.polygon = [flat]
            if len(flat) < 6:
                self.counts["small_polygons"] += 1
        elif shape_type == "point":
            ann.point = (flat[0], flat[1])
        elif shape_type in ("line", "linestrip"):
            ann.line = flat
            if (shape_type == "line") != (len(flat) == 4):
                lm["_shape_type"] = shape_type
        else:  # points
            kp: list[float] = []
            for j in range(0, len(flat), 2):
                kp += (flat[j], flat[j + 1], 2)
            ann.keypoints = kp
        if shape_type == "polygon" and shape.get("shape_type") is None:
            lm["_shape_type"] = shape.get("shape_type")
        attributes = self._attributes(record, shape, lm)
        if attributes:
            ann.attributes = attributes
        score = shape.get("score")
        if score is not None:
            if _number(score):
                ann.score = score
            else:
                self.problems.add(record, f"score must be a number, got {score!r:.60}")
        for key, value in shape.items():
            if key not in SHAPE_KEYS:
                lm[key] = value
        ann.extra = {"labelme": lm}
        return ann

    def _attributes(self, record: str, shape: dict[str, Any], lm: dict[str, Any]) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        flags = shape.get("flags")
        if flags is not None and not isinstance(flags, dict):
            self.problems.add(record, f"flags must be an object of true/false values, got {flags!r:.60}")
        elif flags:
            for name, value in flags.items():
                if type(value) is not bool:
                    self.problems.add(record, f"flags[{name!r}] must be true or false, got {value!r:.60}")
                attributes[name] = value
        more = shape.get("attributes")
        if more is not None and not isinstance(more, dict):
            self.problems.add(record, f"attributes must be an object, got {more!r:.60}")
        elif more:
            clash = [k for k in more if k in attributes or k in ("group_id", "description")]
            if clash:
                self.problems.add(record, f"attribute {clash[0]!r} is also a flag or a shape field")
            attributes.update(more)
            lm["_attribute_keys"] = list(more)
        group_id = shape.get("group_id")
        if group_id is not None:
            if type(group_id) is not int:
                self.problems.add(record, f"group_id must be an integer or null, got {group_id!r:.60}")
            attributes["group_id"] = group_id
        description = shape.get("description")
        if isinstance(description, str) and description:
            attributes["description"] = description
        elif description is not None and description != "":
            self.problems.add(record, f"description must be a string, got {description!r:.60}")
        elif description == "":
            lm["_description"] = ""
        return attributes


def _merge_groups(annotations: list[Annotation], counts: dict[str, int]) -> list[Annotation]:
    """Polygon shapes with the same label, group_id and other fields become one multi-part object."""
    out: list[Annotation] = []
    groups: dict[tuple[Any, ...], Annotation] = {}
    for ann in annotations:
        gid = ann.attributes.get("group_id") if ann.attributes else None
        lm = ann.extra["labelme"] if ann.extra else {}
        if gid is None or ann.polygon is None or "circle" in lm or ann.kind != "polygon":
            out.append(ann)
            continue
        rest = {k: v for k, v in lm.items() if k != "_index"}
        key = (ann.label, repr(sorted(ann.attributes.items())), repr(sorted(rest.items())), ann.score)
        first = groups.get(key)
        if first is None:
            groups[key] = ann
            out.append(ann)
            continue
        first.polygon.append(ann.polygon[0])  # type: ignore[union-attr]
        first.extra["labelme"]["_index"] += lm["_index"]
        counts["merged"] += 1
    return out


def decode_image_data(text: str, file: Path | str) -> bytes:
    """The bytes of a base64 ``imageData`` (FormatError naming the file when it is not base64)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"imageData is not valid base64: {exc}", file=file, record="imageData") from None


def _extract(asset: Asset, folder: Path, file: Path) -> bool:
    data = asset.extra["labelme"].get("imageData")
    if not data:
        return False
    target = folder / safe_relative_path(asset.file_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-pf")
    tmp.write_bytes(decode_image_data(data, file))
    os.replace(tmp, target)
    return True


def _fill_sizes(dataset: Dataset, images: Path, report: Report) -> None:
    filled = 0
    for asset in dataset.assets:
        if asset.width is None or asset.height is None:
            found = images / asset.file_name
            if found.is_file():
                asset.width, asset.height = image_size(found)
                filled += 1
    if filled:
        report.info("image sizes taken from the image headers (no imageWidth/imageHeight)", filled)


def read(
    path: Path,
    *,
    images: Path | None = None,
    report: Report,
    extract_images: str | Path | None = None,
    circle_points: int = CIRCLE_POINTS,
    progress: bool = False,
) -> Dataset:
    """Read a LabelMe file, or every LabelMe file under a folder (recursive, sorted by path).

    `extract_images` writes the images embedded in ``imageData`` to that folder (under their
    ``imagePath``); `images` is where the image files are, for sizes the JSON does not state.
    Non-LabelMe .json files of a folder are skipped (and counted in the report).
    """
    path = Path(path)
    if circle_points < 3:
        raise OptionError("circle_points must be at least 3")
    root = path if path.is_dir() else path.parent
    if path.is_dir():
        files = label_files(path)
        if not files:
            raise FormatError("no .json file in this folder", file=path)
    else:
        files = [path]
    counts = dict.fromkeys(("circles", "merged", "no_image_path", "outside", "size_from_data",
                            "small_polygons"), 0)
    dataset = Dataset()
    skipped: list[str] = []
    extracted = 0
    with gc_paused():
        for file in files:
            data = load_json(file)
            if path.is_dir() and not (isinstance(data, dict) and isinstance(data.get("shapes"), list)):
                skipped.append(file.relative_to(root).as_posix())
                continue
            asset = _FileReader(file, root, report, circle_points, counts).read(data)
            dataset.add_asset(asset)
            if extract_images is not None:
                extracted += _extract(asset, Path(extract_images), file)
    if not dataset.assets and skipped:
        raise FormatError(f"none of the {len(skipped)} .json files is a LabelMe file", file=path)
    dataset.ensure_labels()
    if images is not None:
        _fill_sizes(dataset, images, report)
    if skipped:
        report.info(".json files that are not LabelMe files skipped", len(skipped), example=skipped[0])
    if counts["circles"]:
        report.info(f"circles read as {circle_points}-vertex polygons", counts["circles"],
                    "the circle itself is kept for LabelMe output")
    if counts["merged"]:
        report.info("polygon shapes joined to an earlier shape of the same label and group_id",
                    counts["merged"], "one object with several parts, as labelme2coco reads them")
    if counts["no_image_path"]:
        report.info("files without an imagePath: the image named after the JSON", counts["no_image_path"])
    if counts["outside"]:
        report.info("imagePaths outside the folder, read by their base name", counts["outside"])
    if counts["size_from_data"]:
        report.info("image sizes read from the embedded imageData", counts["size_from_data"])
    if counts["small_polygons"]:
        report.info("polygons with fewer than 3 points kept as read", counts["small_polygons"])
    if extracted:
        report.info(f"embedded images extracted to {extract_images}", extracted)
    return dataset
