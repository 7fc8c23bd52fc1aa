"""The COCO reader's record parsers (images, categories, annotations), each record checked and named.

`read` parses a whole file with them; the streaming reader (`streaming.coco_assets`) and the typed record
path (`records`) parse batches with the same functions, so every path keeps, refuses and reports the same.

Example:
    >>> from picsellia_formats.errors import ProblemCollector
    >>> assets, by_id = parse_images([{"id": 1, "file_name": "a.jpg", "width": 4, "height": 3}], ProblemCollector())
    >>> parse_annotations([{"id": 9, "image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1]}], by_id, {2: "cat"},
    ...                   ProblemCollector(), Report())
    >>> assets[0].annotations[0].label, assets[0].annotations[0].box
    ('cat', (0, 0, 1, 1))
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from ...errors import ProblemCollector
from ...model import EMPTY, Annotation, Asset, Label, Mask
from ...report import Report

_ANN_KEYS = frozenset(
    ("id", "image_id", "category_id", "segmentation", "area", "bbox", "iscrowd", "score", "keypoints",
     "num_keypoints", "attributes")
)
_IMG_KEYS = frozenset(("id", "file_name", "width", "height"))
_CAT_KEYS = frozenset(("id", "name", "supercategory", "keypoints", "skeleton"))
TOP_KEYS = ("info", "licenses", "images", "annotations", "categories")
_isfinite = math.isfinite


# ----------------------------------------------------------------------------------------------- read


_INT_ONLY = {int}


def _is_number(v: Any) -> bool:
    t = type(v)
    return (t is float and _isfinite(v)) or t is int


def _check_flat(values: Any) -> str | None:
    """None when `values` is a list of finite numbers; else what is wrong."""
    if type(values) is not list:
        return f"expected a list of numbers, got {type(values).__name__}"
    for v in values:
        t = type(v)
        if t is float:
            if not _isfinite(v):
                return f"non-finite coordinate {v!r}"
        elif t is not int:
            return f"expected numbers, got {v!r}"
    return None


def _parse_segmentation(seg: Any, record: str, problems: ProblemCollector, report: Report
                        ) -> tuple[list[list[float]] | None, Mask | None]:
    t = type(seg)
    if t is list:
        if not seg:
            return None, None
        if type(seg[0]) is not list:
            # a flat polygon (non-standard, written by some tools): one part
            why = _check_flat(seg)
            if why is None and len(seg) % 2 == 0:
                report.changed("flat segmentation lists read as one-part polygons", example=record)
                return [seg], None
            problems.add(record, f"segmentation: {why or f'odd number of coordinates ({len(seg)})'}")
            return None, None
        for i, part in enumerate(seg):
            why = _check_flat(part)
            if why is not None:
                problems.add(record, f"segmentation part {i}: {why}")
                return None, None
            if len(part) % 2:
                problems.add(record, f"segmentation part {i}: odd number of coordinates ({len(part)})")
                return None, None
        return seg, None
    if t is dict:
        size = seg.get("size")
        counts = seg.get("counts")
        if (type(size) is not list or len(size) != 2 or any(type(v) is not int or v < 0 for v in size)):
            problems.add(record, f"RLE size must be [height, width] of non-negative integers, got {size!r}")
            return None, None
        if type(counts) is str:
            from ...masks import counts_from_string

            try:
                total = sum(counts_from_string(counts))
            except ValueError:
                total = -1
            if total != size[0] * size[1]:
                problems.add(record, "compressed RLE counts are not valid for size "
                                     f"{size[0]} x {size[1]}" + (f" (they cover {total} pixels)" if total >= 0 else ""))
                return None, None
            return None, Mask(size[0], size[1], counts)
        if type(counts) is list and (not counts or (set(map(type, counts)) == _INT_ONLY and min(counts) >= 0)):
            total = sum(counts)
            if total != size[0] * size[1]:
                problems.add(record, f"uncompressed RLE counts sum to {total}, expected "
                                     f"{size[0]} x {size[1]} = {size[0] * size[1]}")
                return None, None
            return None, Mask(size[0], size[1], counts)
        problems.add(record, "RLE counts must be a string or a list of non-negative integers")
        return None, None
    if seg is None:
        return None, None
    problems.add(record, f"segmentation must be a list of polygons or an RLE object, got {t.__name__}")
    return None, None


def _record_name(i: int, ann: Any) -> str:
    if type(ann) is dict and "id" in ann:
        return f"annotation[{i}] (id={ann['id']!r})"
    return f"annotation[{i}]"


#: annotations parsed between two updates of the progress bar (the hot loop itself stays bar-free)
PROGRESS_CHUNK = 1 << 16


def writing_bar(n_objects: int, progress: bool) -> Any:
    """A bar over the annotations written when there are enough to wait for, else a null context."""
    if not progress or n_objects < PROGRESS_CHUNK:
        return contextlib.nullcontext()
    from ...progress import bar

    return bar(n_objects, "writing COCO", unit="object")  # the path is the temporary one


def counted(batches: Iterator[list[dict[str, Any]]], b: Any) -> Iterator[list[dict[str, Any]]]:
    for batch in batches:
        yield batch
        b.update(len(batch))


def parse_annotations(
    anns: list[Any],
    assets_by_id: dict[Any, Asset],
    labels_by_id: dict[Any, str],
    problems: ProblemCollector,
    report: Report,
    results: bool = False,
    start: int = 0,
) -> None:
    """Attach every annotation of `anns` to its asset. The hot loop of the reader.

    With `results`, empty ``segmentation``/``iscrowd`` keys are remembered so that a results list
    is written back exactly as read (instances files always carry both keys).
    """
    KNOWN = _ANN_KEYS
    isfinite = _isfinite
    new = Annotation
    captions = 0
    for i, a in enumerate(anns, start):
        if type(a) is not dict:
            problems.add(f"annotation[{i}]", f"expected an object, got {type(a).__name__}")
            continue
        get = a.get
        try:
            asset = assets_by_id[a["image_id"]]
        except KeyError:
            if "image_id" not in a:
                problems.add(_record_name(i, a), "lacks image_id")
            else:
                problems.add(_record_name(i, a), f"image_id {a['image_id']!r} is not among the images")
            continue
        except TypeError:
            problems.add(_record_name(i, a), f"image_id {a['image_id']!r} is not a valid id")
            continue
        if "caption" in a and ("category_id" not in a or a["category_id"] not in labels_by_id):
            captions += 1  # a captions file: category_id 0 and no categories (CVAT, Datumaro)
            continue
        try:
            label = labels_by_id[a["category_id"]]
        except KeyError:
            if "category_id" not in a:
                problems.add(_record_name(i, a), "lacks category_id")
            else:
                problems.add(_record_name(i, a), f"category_id {a['category_id']!r} is not among the categories")
            continue
        except TypeError:
            problems.add(_record_name(i, a), f"category_id {a['category_id']!r} is not a valid id")
            continue
        box = get("bbox")
        if box is not None:
            try:  # fast path: a list of 4 finite numbers (a str or None inside raises TypeError)
                if type(box) is not list or len(box) != 4 or not isfinite(box[0] + box[1] + box[2] + box[3]):
                    raise TypeError
                box = (box[0], box[1], box[2], box[3])
            except TypeError:
                if type(box) is not list or len(box) != 4:
                    problems.add(_record_name(i, a), f"bbox must be [x, y, width, height], got {box!r}")
                else:
                    problems.add(_record_name(i, a), f"bbox: {_check_flat(box) or 'values too large'}")
                continue
        polygon = mask = None
        seg = get("segmentation")
        if seg:
            ok = False
            if type(seg) is list and type(seg[0]) is list:
                ok = True  # fast path: every part a list of an even count of finite numbers
                try:
                    for part in seg:
                        if type(part) is not list or len(part) % 2 or not isfinite(sum(part)):
                            ok = False
                            break
                except TypeError:
                    ok = False
            if ok:
                polygon = seg
            else:
                before = problems.count
                polygon, mask = _parse_segmentation(seg, _record_name(i, a), problems, report)
                if problems.count > before:
                    continue
        keypoints = get("keypoints")
        if keypoints is not None:
            why = _check_flat(keypoints)
            if why is None and len(keypoints) % 3:
                why = f"keypoints must be [x, y, v] triplets, got {len(keypoints)} values"
            if why is not None:
                problems.add(_record_name(i, a), f"keypoints: {why}")
                continue
            if not keypoints:
                keypoints = None
        iscrowd = get("iscrowd", 0)
        if iscrowd not in (0, 1):
            problems.add(_record_name(i, a), f"iscrowd must be 0 or 1, got {iscrowd!r}")
            continue
        score = get("score")
        if score is not None:
            t = type(score)
            if not ((t is float and isfinite(score)) or t is int):
                problems.add(_record_name(i, a), f"score must be a number, got {score!r}")
                continue
        area = get("area")
        if area is not None:
            t = type(area)
            if not ((t is float and isfinite(area)) or t is int):
                problems.add(_record_name(i, a), f"area must be a number, got {area!r}")
                continue
        attributes = get("attributes")
        if attributes is None:
            attributes = EMPTY
        extra = EMPTY
        if not (a.keys() <= KNOWN) or (type(attributes) is not dict and attributes is not EMPTY):
            extra = {"coco": {k: v for k, v in a.items() if k not in KNOWN or (k == "attributes" and type(v) is not
                                                                               dict)}}
            if type(attributes) is not dict:
                attributes = EMPTY
        if results:
            empty = {k: a[k] for k in ("segmentation", "iscrowd") if k in a and not a[k]}
            if empty:
                extra = {"coco": {**(extra.get("coco", {}) if extra else {}), **empty}}
        asset.annotations.append(
            new(label, box, polygon, mask, keypoints, None, None, score,
                iscrowd if type(iscrowd) is int else int(iscrowd), area, get("id"), attributes or EMPTY, (), extra)
        )
    if captions:
        report.dropped("captions", captions, "the model keeps no captions")


def parse_images(images: Any, problems: ProblemCollector) -> tuple[list[Asset], dict[Any, Asset]]:
    assets: list[Asset] = []
    by_id: dict[Any, Asset] = {}
    if type(images) is not list:
        problems.add("images", f"must be a list, got {type(images).__name__}")
        return assets, by_id
    keys = _IMG_KEYS
    for i, im in enumerate(images):
        if type(im) is not dict:
            problems.add(f"image[{i}]", f"expected an object, got {type(im).__name__}")
            continue
        image_id = im.get("id")
        if type(image_id) not in (int, str):
            problems.add(f"image[{i}] (id={image_id!r})", f"id must be an integer or a string, got {image_id!r}")
            continue
        if image_id in by_id:
            problems.add(f"image[{i}] (id={image_id!r})", f"duplicate image id {image_id!r}")
            continue
        file_name = im.get("file_name")
        if type(file_name) is not str or not file_name:
            problems.add(f"image[{i}] (id={image_id!r})", f"file_name must be a non-empty string, got {file_name!r}")
            continue
        width, height = im.get("width"), im.get("height")
        if not ((type(width) is int and width >= 0) or width is None) or \
                not ((type(height) is int and height >= 0) or height is None):
            bad = [k for k, v in (("width", width), ("height", height))
                   if v is not None and not (_is_number(v) and v >= 0)]
            if bad:
                problems.add(f"image[{i}] (id={image_id!r})",
                             f"{bad[0]} must be a non-negative number, got {im.get(bad[0])!r}")
                continue
        extra = EMPTY
        if not (im.keys() <= keys):
            extra = {"coco": {k: v for k, v in im.items() if k not in keys}}
        asset = Asset(file_name, width, height, [], image_id, None, None, EMPTY, (), extra)
        assets.append(asset)
        by_id[image_id] = asset
    return assets, by_id


def parse_categories(cats: Any, problems: ProblemCollector, report: Report
                      ) -> tuple[list[Label], dict[Any, str]]:
    labels: list[Label] = []
    by_id: dict[Any, str] = {}
    by_name: dict[str, Label] = {}
    if type(cats) is not list:
        problems.add("categories", f"must be a list, got {type(cats).__name__}")
        return labels, by_id
    for i, c in enumerate(cats):
        record = f"category[{i}]"
        if type(c) is not dict:
            problems.add(record, f"expected an object, got {type(c).__name__}")
            continue
        cid, name = c.get("id"), c.get("name")
        record = f"category[{i}] (id={cid!r})"
        if type(cid) not in (int, str):
            problems.add(record, f"id must be an integer, got {cid!r}")
            continue
        if cid in by_id:
            problems.add(record, f"duplicate category id {cid!r}")
            continue
        if type(name) is not str:
            problems.add(record, f"name must be a string, got {name!r}")
            continue
        if name in by_name:
            report.changed("categories sharing a name merged into one label", why=f"name {name!r}",
                           example=record)
            by_id[cid] = name
            continue
        extra = {k: v for k, v in c.items() if k not in _CAT_KEYS}
        if "supercategory" in c and c["supercategory"] is None:
            extra["supercategory"] = None
        label = Label(name, c.get("supercategory"), cid, c.get("keypoints"), c.get("skeleton"),
                      {"coco": extra} if extra else EMPTY)
        labels.append(label)
        by_id[cid] = name
        by_name[name] = label
    return labels, by_id
