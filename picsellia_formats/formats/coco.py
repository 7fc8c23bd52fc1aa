"""COCO instances (and keypoints) files, and COCO results lists, read and written without loss.

What is kept on COCO -> COCO: every image (with its id and extra fields), annotation (id,
bbox, polygon parts, RLE in its encoding, ``iscrowd``, keypoints, score, extra fields),
category (id, supercategory, keypoint names, skeleton, extra fields), ``info``, ``licenses`` and
other top-level keys. ``area`` is recomputed from the geometry on write; the source value is kept
where it is consistent with it (within 15 % or 16 px²). Captions are dropped, and said so.

Example:
    >>> ds = read("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
    >>> len(ds), ds.num_annotations, ds.labels[0]
    (10, 12, Label(name='cat', group='none', id=0))
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..errors import FormatError, ProblemCollector
from ..fidelity import ForeignFields
from ..geometry import annotation_bbox, polygon_areas
from ..io_utils import gc_paused
from ..model import EMPTY, Annotation, Asset, Dataset, Label, Mask
from ..report import Report
from . import FormatSpec, Option
from ._json_files import detect_file_or_folder, load_json, read_head, resolve_file_or_folder

_ANN_KEYS = frozenset(
    ("id", "image_id", "category_id", "segmentation", "area", "bbox", "iscrowd", "score", "keypoints",
     "num_keypoints", "attributes")
)
_IMG_KEYS = frozenset(("id", "file_name", "width", "height"))
_CAT_KEYS = frozenset(("id", "name", "supercategory", "keypoints", "skeleton"))
_TOP_KEYS = ("info", "licenses", "images", "annotations", "categories")
_isfinite = math.isfinite


# --------------------------------------------------------------------------------------------- detect


def _sniff(path: Path) -> tuple[float, str]:
    """Look at the head of a JSON file for COCO's keys (no full parse)."""
    if path.suffix.lower() != ".json":
        return 0.0, f"{path.name} is not a .json file"
    head = read_head(path)
    text = head.lstrip()
    if text.startswith(b"["):
        if b'"image_id"' in head and b'"category_id"' in head:
            return 0.8, "a list of detections with image_id and category_id (COCO results)"
        if text[1:].lstrip().startswith(b"]"):
            return 0.1, "an empty JSON list"
        return 0.0, "a JSON list without image_id/category_id"
    if not text.startswith(b"{"):
        return 0.0, "not a JSON object"
    if b'"external_picture_url"' in head or b'"internal_picture_id"' in head:
        return 0.0, "has Picsellia image keys (external_picture_url)"
    signals = sum(k in head for k in (b'"file_name"', b'"category_id"', b'"image_id"', b'"bbox"'))
    if b'"images"' in head and signals >= 2:
        return 0.9, "has images with file_name and annotations with image_id/category_id"
    if b'"images"' in head and b'"categories"' in head:
        return 0.6, "has images and categories"
    if b'"images"' in head and signals:
        return 0.5, "has an images list"
    return 0.0, "no COCO keys (images, annotations, categories) in its head"


def detect(path: Path) -> tuple[float, str]:
    """Confidence that `path` (a .json file, or a folder holding exactly one COCO json) is COCO."""
    return detect_file_or_folder(path, _sniff, "COCO")


# ----------------------------------------------------------------------------------------------- read


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
            from ..masks import counts_from_string

            try:
                total = sum(counts_from_string(counts))
            except ValueError:
                total = -1
            if total != size[0] * size[1]:
                problems.add(record, "compressed RLE counts are not valid for size "
                                     f"{size[0]} x {size[1]}" + (f" (they cover {total} pixels)" if total >= 0 else ""))
                return None, None
            return None, Mask(size[0], size[1], counts)
        if type(counts) is list and all(type(v) is int and v >= 0 for v in counts):
            if sum(counts) != size[0] * size[1]:
                problems.add(record, f"uncompressed RLE counts sum to {sum(counts)}, expected "
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
_PROGRESS_CHUNK = 1 << 16
#: files from this size get a bar, opened before the JSON is parsed (parsing is a third of the time)
_PROGRESS_BYTES = 8 << 20


def _writing_bar(n_objects: int, progress: bool) -> Any:
    """A bar over the annotations written when there are enough to wait for, else a null context."""
    if not progress or n_objects < _PROGRESS_CHUNK:
        return contextlib.nullcontext()
    from ..progress import bar

    return bar(n_objects, "writing COCO", unit="object")  # the path is the temporary one


def _counted(batches: Iterator[list[dict[str, Any]]], b: Any) -> Iterator[list[dict[str, Any]]]:
    for batch in batches:
        yield batch
        b.update(len(batch))


def _reading_bar(path: Path, progress: bool) -> Any:
    """A bar (no total until the annotations are counted) for a big file, else a null context."""
    if not progress or path.stat().st_size < _PROGRESS_BYTES:
        return contextlib.nullcontext()
    from ..progress import bar

    return bar(None, f"reading {path.name}", unit="object")


def _parse_annotations(
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
    captions = 0
    for i, a in enumerate(anns, start):
        if type(a) is not dict:
            problems.add(f"annotation[{i}]", f"expected an object, got {type(a).__name__}")
            continue
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
        if "category_id" not in a and "caption" in a:
            captions += 1
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
        box = a.get("bbox")
        if box is not None:
            try:  # fast path: a list of 4 finite numbers (a str or None inside raises TypeError)
                if type(box) is not list or len(box) != 4 or not _isfinite(box[0] + box[1] + box[2] + box[3]):
                    raise TypeError
                box = (box[0], box[1], box[2], box[3])
            except TypeError:
                if type(box) is not list or len(box) != 4:
                    problems.add(_record_name(i, a), f"bbox must be [x, y, width, height], got {box!r}")
                else:
                    problems.add(_record_name(i, a), f"bbox: {_check_flat(box) or 'values too large'}")
                continue
        polygon = mask = None
        seg = a.get("segmentation")
        if seg:
            ok = False
            if type(seg) is list and type(seg[0]) is list:
                ok = True  # fast path: every part a list of an even count of finite numbers
                try:
                    for part in seg:
                        if type(part) is not list or len(part) % 2 or not _isfinite(sum(part)):
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
        keypoints = a.get("keypoints")
        if keypoints is not None:
            why = _check_flat(keypoints)
            if why is None and len(keypoints) % 3:
                why = f"keypoints must be [x, y, v] triplets, got {len(keypoints)} values"
            if why is not None:
                problems.add(_record_name(i, a), f"keypoints: {why}")
                continue
            if not keypoints:
                keypoints = None
        iscrowd = a.get("iscrowd", 0)
        if iscrowd not in (0, 1):
            problems.add(_record_name(i, a), f"iscrowd must be 0 or 1, got {iscrowd!r}")
            continue
        score = a.get("score")
        if score is not None and not _is_number(score):
            problems.add(_record_name(i, a), f"score must be a number, got {score!r}")
            continue
        area = a.get("area")
        if area is not None and not _is_number(area):
            problems.add(_record_name(i, a), f"area must be a number, got {area!r}")
            continue
        attributes = a.get("attributes")
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
            Annotation(label, box, polygon, mask, keypoints, None, None, score, int(iscrowd), area, a.get("id"),
                       attributes or EMPTY, (), extra)
        )
    if captions:
        report.dropped("captions", captions, "the model keeps no captions")


def _parse_images(images: Any, problems: ProblemCollector) -> tuple[list[Asset], dict[Any, Asset]]:
    assets: list[Asset] = []
    by_id: dict[Any, Asset] = {}
    if type(images) is not list:
        problems.add("images", f"must be a list, got {type(images).__name__}")
        return assets, by_id
    for i, im in enumerate(images):
        record = f"image[{i}]"
        if type(im) is not dict:
            problems.add(record, f"expected an object, got {type(im).__name__}")
            continue
        image_id = im.get("id")
        record = f"image[{i}] (id={image_id!r})"
        if type(image_id) not in (int, str):
            problems.add(record, f"id must be an integer or a string, got {image_id!r}")
            continue
        if image_id in by_id:
            problems.add(record, f"duplicate image id {image_id!r}")
            continue
        file_name = im.get("file_name")
        if type(file_name) is not str or not file_name:
            problems.add(record, f"file_name must be a non-empty string, got {file_name!r}")
            continue
        width, height = im.get("width"), im.get("height")
        bad = [k for k, v in (("width", width), ("height", height))
               if v is not None and not (_is_number(v) and v >= 0)]
        if bad:
            problems.add(record, f"{bad[0]} must be a non-negative number, got {im.get(bad[0])!r}")
            continue
        extra = EMPTY
        if not (im.keys() <= _IMG_KEYS):
            extra = {"coco": {k: v for k, v in im.items() if k not in _IMG_KEYS}}
        asset = Asset(file_name, width, height, [], image_id, None, None, EMPTY, (), extra)
        assets.append(asset)
        by_id[image_id] = asset
    return assets, by_id


def _parse_categories(cats: Any, problems: ProblemCollector, report: Report
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


def read(
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    ground_truth: str | Path | None = None,
    progress: bool = False,
) -> Dataset:
    """Read a COCO instances/keypoints file, or a COCO results list.

    A results list (detections with ``score``) takes its images and categories from
    `ground_truth` (a COCO instances file); without one, images and categories are made from the
    ids (file name = image id; label = ``category_name`` if present, else the id) and the report
    says so. `images` is accepted for symmetry with other formats and not needed. `progress`: a bar
    over the annotations on a terminal (`picsellia_formats.progress`).

    Raises FormatError naming the file and the records that are wrong.
    """
    path = resolve_file_or_folder(Path(path), _sniff, "COCO")
    report = report if report is not None else Report()
    problems = ProblemCollector(path)
    with gc_paused(), _reading_bar(path, progress) as b:
        top = load_json(path)
        if type(top) is list:
            return _read_results(top, path, ground_truth, problems, report)
        if type(top) is not dict:
            raise FormatError(f"expected a JSON object (COCO) or list (COCO results), got {type(top).__name__}",
                              file=path)
        if "images" not in top:
            raise FormatError("not a COCO file: no 'images' list", file=path)
        if ground_truth is not None:
            raise FormatError("a ground truth (--coco-ground-truth) applies only to a COCO results list, "
                              "and this file is a COCO instances file", file=path)
        assets, assets_by_id = _parse_images(top["images"], problems)
        labels, labels_by_id = _parse_categories(top.get("categories", []), problems, report)
        anns = top.get("annotations", [])
        if type(anns) is not list:
            problems.add("annotations", f"must be a list, got {type(anns).__name__}")
        elif b is not None and len(anns) > _PROGRESS_CHUNK:
            b.total = len(anns)
            b.refresh()
            for start in range(0, len(anns), _PROGRESS_CHUNK):
                chunk = anns[start:start + _PROGRESS_CHUNK]
                _parse_annotations(chunk, assets_by_id, labels_by_id, problems, report, start=start)
                b.update(len(chunk))
        else:
            _parse_annotations(anns, assets_by_id, labels_by_id, problems, report)
        problems.raise_if_any()
        meta = {k: v for k, v in top.items() if k not in ("images", "annotations", "categories")}
        meta["key_order"] = [k for k in top if k in _TOP_KEYS]
        return Dataset(labels, assets, {"coco": meta})


def _read_results(results: list[Any], path: Path, ground_truth: str | Path | None,
                  problems: ProblemCollector, report: Report) -> Dataset:
    if ground_truth is not None:
        gt = read(ground_truth, report=report)
        for asset in gt.assets:
            asset.annotations = []
        assets_by_id = {a.id: a for a in gt.assets}
        labels_by_id = {label.id: label.name for label in gt.labels}
        _parse_annotations(results, assets_by_id, labels_by_id, problems, report, results=True)
        problems.raise_if_any()
        gt.metadata.setdefault("coco", {})["results"] = True
        return gt
    assets_by_id: dict[Any, Asset] = {}
    labels_by_id: dict[Any, str] = {}
    labels: list[Label] = []
    for i, r in enumerate(results):
        if type(r) is not dict:
            problems.add(f"result[{i}]", f"expected an object, got {type(r).__name__}")
            continue
        image_id, cid = r.get("image_id"), r.get("category_id")
        if type(image_id) not in (int, str) or type(cid) not in (int, str):
            problems.add(f"result[{i}]", f"image_id and category_id must be ids, got {image_id!r}, {cid!r}")
            continue
        if image_id not in assets_by_id:
            seg = r.get("segmentation")
            h = w = None
            if type(seg) is dict and type(seg.get("size")) is list and len(seg["size"]) == 2:
                h, w = seg["size"]
            assets_by_id[image_id] = Asset(str(image_id), w, h, [], image_id)
        if cid not in labels_by_id:
            name = r.get("category_name")
            name = name if type(name) is str else str(cid)
            labels_by_id[cid] = name
            labels.append(Label(name, None, cid))
    problems.raise_if_any()
    report.info("results read without a ground truth: images and categories made from their ids",
                len(assets_by_id), why="pass ground_truth (--coco-ground-truth) for names and sizes")
    _parse_annotations(results, assets_by_id, labels_by_id, problems, report, results=True)
    problems.raise_if_any()
    labels.sort(key=lambda label: (type(label.id) is str, label.id))
    assets = sorted(assets_by_id.values(), key=lambda a: (type(a.id) is str, a.id))
    return Dataset(labels, assets, {"coco": {"results": True, "key_order": []}})


# ---------------------------------------------------------------------------------------------- write


def _unique_int_ids(values: list[Any]) -> bool:
    return (not values or set(map(type, values)) == {int}) and len(set(values)) == len(values)


def _category_ids(labels: list[Label], start: int, report: Report) -> dict[str, int]:
    ids = [label.id for label in labels]
    if _unique_int_ids(ids):
        return {label.name: label.id for label in labels}  # type: ignore[misc]
    taken = {i for i in ids if type(i) is int}
    out: dict[str, int] = {}
    seen: set[int] = set()
    next_id = max(start, max(taken, default=start - 1) + 1) if taken else start
    fresh = 0
    for label in labels:
        if type(label.id) is int and label.id not in seen:
            out[label.name] = label.id
            seen.add(label.id)
        else:
            out[label.name] = next_id
            seen.add(next_id)
            next_id += 1
            fresh += 1
    if fresh and taken:
        report.changed("category ids assigned to labels without a usable id", fresh)
    return out


def _segmentation_of(ann: Annotation, mode: str, h: Any, w: Any, report: Report) -> Any:
    if ann.mask is not None:
        if mode == "polygon":
            from ..masks import mask_to_polygons

            parts = mask_to_polygons(ann.mask)
            if not parts:  # pycocotools cannot read an empty polygon list
                report.changed("empty masks kept as RLE", why="--segmentation polygon")
                return ann.mask.to_coco()
            report.changed("masks written as polygons", why="traced along pixel edges: the same pixels "
                           "under pycocotools; holes as keyhole cuts")
            return parts
        return ann.mask.to_coco()
    if ann.polygon is not None:
        if mode == "rle":
            from ..masks import polygon_to_rle

            if h is None or w is None:
                report.dropped("polygons not turned into RLE", why="image size unknown")
                return ann.polygon
            return polygon_to_rle(ann.polygon, int(h), int(w)).to_coco()
        return ann.polygon
    return []


def _annotation_batches(
    dataset: Dataset,
    image_ids: list[Any],
    cat_ids: dict[str, int],
    ann_ids: Iterator[Any],
    results: bool,
    segmentation: str,
    report: Report,
    batch_size: int = 20000,
) -> Iterator[list[dict[str, Any]]]:
    """Output dicts in asset order, in batches (polygon areas are computed vectorised per batch)."""
    foreign = ForeignFields("coco")
    counts: dict[str, Any] = {"areas_replaced": 0, "qa_dropped": 0, "other_shapes": 0, "foreign": foreign}
    dropped_kinds: dict[str, int] = {}
    batch: list[tuple[Asset, Any, Annotation]] = []
    for asset, image_id in zip(dataset.assets, image_ids):
        for ann in asset.annotations:
            if ann.mask is None and ann.polygon is None and ann.box is None and ann.keypoints is None:
                kind = ann.kind
                dropped_kinds[kind] = dropped_kinds.get(kind, 0) + 1
                counts["qa_dropped"] += len(ann.qa)
                foreign.add("objects", ann.extra)
                continue
            if ann.line is not None or ann.point is not None:
                counts["other_shapes"] += 1
            batch.append((asset, image_id, ann))
            if len(batch) >= batch_size:
                yield _batch_dicts(batch, cat_ids, ann_ids, results, segmentation, report, counts)
                batch = []
    if batch:
        yield _batch_dicts(batch, cat_ids, ann_ids, results, segmentation, report, counts)
    for kind, n in dropped_kinds.items():
        plural = {"classification": "image-level classifications", "line": "lines", "point": "points"}[kind]
        report.dropped(plural, n, "COCO instances have no such shape")
    if counts["other_shapes"]:
        report.dropped("lines or points beside another shape", counts["other_shapes"],
                       "COCO instances have no such shape")
    if counts["qa_dropped"]:
        report.dropped("object Q&A answers", counts["qa_dropped"], "COCO has no Q&A")
    if counts["areas_replaced"]:
        report.changed("annotation areas recomputed", counts["areas_replaced"],
                       "the stated area disagreed with the geometry")
    foreign.report_to(report)


_NO_PARTS: list[list[float]] = []


def _batch_dicts(
    batch: list[tuple[Asset, Any, Annotation]],
    cat_ids: dict[str, int],
    ann_ids: Iterator[Any],
    results: bool,
    segmentation: str,
    report: Report,
    counts: dict[str, Any],
) -> list[dict[str, Any]]:
    out_list: list[dict[str, Any]] = []
    append = out_list.append
    if results:
        for asset, image_id, ann in batch:
            out: dict[str, Any] = {"image_id": image_id, "category_id": cat_ids[ann.label]}
            if ann.polygon is not None or ann.mask is not None:
                out["segmentation"] = _segmentation_of(ann, segmentation, asset.height, asset.width, report)
            if ann.box is not None:
                out["bbox"] = ann.box
            if ann.score is not None:
                out["score"] = ann.score
            if ann.area is not None:
                out["area"] = ann.area
            if ann.keypoints is not None:
                out["keypoints"] = ann.keypoints
            if ann.iscrowd:
                out["iscrowd"] = ann.iscrowd
            _finish(out, ann, counts)
            append(out)
        return out_list
    areas = polygon_areas([ann.polygon if ann.polygon is not None and ann.mask is None else _NO_PARTS
                           for _, _, ann in batch])
    keep = segmentation == "keep"
    replaced = 0
    for (asset, image_id, ann), computed in zip(batch, areas):
        box = ann.box
        mask = ann.mask
        if mask is not None:
            if isinstance(mask.counts, str):
                from ..masks import rle_area

                computed = float(rle_area(mask))
            else:
                computed = float(sum(mask.counts[1::2]))
            seg: Any = mask.to_coco() if keep else _segmentation_of(ann, segmentation, asset.height,
                                                                    asset.width, report)
        elif ann.polygon is not None:
            seg = ann.polygon if keep else _segmentation_of(ann, segmentation, asset.height, asset.width, report)
        else:
            seg = []
            if box is not None:
                computed = float(box[2] * box[3])
        if box is None:
            box = annotation_bbox(ann) or ()
        area = ann.area
        tolerance = 0.15 * computed
        if tolerance < 16.0:
            tolerance = 16.0
        if area is None or abs(area - computed) > tolerance:
            if area is not None:
                replaced += 1
            area = computed
        out = {
            "id": next(ann_ids),
            "image_id": image_id,
            "category_id": cat_ids[ann.label],
            "segmentation": seg,
            "area": area,
            "bbox": box,
            "iscrowd": ann.iscrowd,
        }
        if ann.keypoints is not None:
            out["keypoints"] = ann.keypoints
            out["num_keypoints"] = sum(1 for v in ann.keypoints[2::3] if v > 0)
        if ann.score is not None:
            out["score"] = ann.score
        if ann.attributes or ann.extra or ann.qa:
            _finish(out, ann, counts)
        append(out)
    counts["areas_replaced"] += replaced
    return out_list


def _finish(out: dict[str, Any], ann: Annotation, counts: dict[str, Any]) -> None:
    """Attributes, format extras and the Q&A count of one annotation."""
    if ann.qa:
        counts["qa_dropped"] += len(ann.qa)
    if ann.attributes:
        out["attributes"] = dict(ann.attributes)
    counts["foreign"].add("objects", ann.extra)
    coco_extra = ann.extra.get("coco") if ann.extra else None
    if coco_extra:
        for key, value in coco_extra.items():
            out.setdefault(key, value)


def _image_dict(asset: Asset, image_id: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": image_id, "file_name": asset.file_name}
    if asset.width is not None:
        out["width"] = asset.width
    if asset.height is not None:
        out["height"] = asset.height
    coco_extra = asset.extra.get("coco") if asset.extra else None
    if coco_extra:
        for k, v in coco_extra.items():
            out.setdefault(k, v)
    return out


def _category_dict(label: Label, cid: int) -> dict[str, Any]:
    out: dict[str, Any] = {"id": cid, "name": label.name}
    if label.group is not None:
        out["supercategory"] = label.group
    if label.keypoints is not None:
        out["keypoints"] = label.keypoints
    if label.skeleton is not None:
        out["skeleton"] = label.skeleton
    coco_extra = label.extra.get("coco") if label.extra else None
    if coco_extra:
        for k, v in coco_extra.items():
            out.setdefault(k, v)
    return out


def _write_array(f: BinaryIO, batches: Iterator[list[dict[str, Any]]]) -> None:
    """Stream a JSON array batch by batch (bounded memory on the output side)."""
    f.write(b"[")
    first = True
    for batch in batches:
        if batch:
            f.write((b"" if first else b",") + orjson.dumps(batch)[1:-1])
            first = False
    f.write(b"]")


def _chunks(items: Iterator[dict[str, Any]], size: int = 20000) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    yield batch


def write(
    dataset: Dataset,
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    segmentation: str = "keep",
    results: bool | None = None,
    category_id_start: int = 1,
    progress: bool = False,
) -> None:
    """Write `dataset` as a COCO instances file (or a results list).

    `segmentation`: ``keep`` (masks as RLE, polygons as polygons), ``rle`` (polygons rasterised
    to compressed RLE) or ``polygon`` (masks traced to polygons). `results`: write a results list;
    by default, when the dataset was read from one. Image, annotation and category ids are kept
    when they are unique integers; otherwise new ids are assigned from 1 (`category_id_start`).
    `progress`: a bar over the annotations (per batch) on stderr when it is a terminal.
    """
    report = report if report is not None else Report()
    if segmentation not in ("keep", "rle", "polygon"):
        raise ValueError(f"segmentation must be keep, rle or polygon, got {segmentation!r}")
    meta = dataset.metadata.get("coco", {})
    if results is None:
        results = bool(meta.get("results"))
    labels = list(dataset.labels)
    known = {label.name for label in labels}
    for asset in dataset.assets:
        for ann in asset.annotations:
            if ann.label not in known:
                known.add(ann.label)
                labels.append(Label(ann.label))
    cat_ids = _category_ids(labels, category_id_start, report)

    asset_ids = [a.id for a in dataset.assets]
    if _unique_int_ids(asset_ids):
        image_ids = asset_ids
    else:
        image_ids = list(range(1, len(asset_ids) + 1))
        if any(i is not None for i in asset_ids):
            report.changed("image ids renumbered", len(asset_ids), "source ids were not unique integers")
    ann_src_ids = [ann.id for a in dataset.assets for ann in a.annotations
                   if ann.box is not None or ann.polygon is not None or ann.mask is not None
                   or ann.keypoints is not None]
    if _unique_int_ids(ann_src_ids):
        ann_ids: Iterator[Any] = iter(ann_src_ids)
    else:
        ann_ids = iter(range(1, len(ann_src_ids) + 1))
        if any(i is not None for i in ann_src_ids):
            report.changed("annotation ids renumbered", len(ann_src_ids), "source ids were not unique integers")

    qa_images = sum(len(a.qa) for a in dataset.assets)
    if qa_images:
        report.dropped("image Q&A answers", qa_images, "COCO has no Q&A")
    statuses = sum(1 for a in dataset.assets if a.status)
    if statuses:
        report.dropped("asset statuses", statuses, "COCO has no review status")
    tagged = sum(1 for a in dataset.assets if a.tags)
    if tagged:
        report.dropped("asset tags", tagged, "COCO has no tags")
    foreign = ForeignFields("coco")
    metadata = 0
    for asset in dataset.assets:
        foreign.add("assets", asset.extra)
        metadata += bool(asset.metadata)
    for label in labels:
        foreign.add("labels", label.extra)
    foreign.add("dataset", dataset.metadata)
    foreign.report_to(report)
    if metadata:
        report.dropped("assets' metadata", metadata, "COCO images have no metadata field")

    with open(path, "wb") as f, gc_paused(), _writing_bar(len(ann_src_ids), progress) as b:
        anns = _annotation_batches(dataset, image_ids, cat_ids, ann_ids, results, segmentation, report)
        if b is not None:
            anns = _counted(anns, b)
        if results:
            _write_array(f, anns)
            return
        order = [k for k in meta.get("key_order", []) if k in _TOP_KEYS]
        order += [k for k in _TOP_KEYS if k not in order]
        extra_top = {k: v for k, v in meta.items() if k not in ("key_order", "results") and k not in _TOP_KEYS}
        f.write(b"{")
        first = True
        for key in order:
            if key in ("info", "licenses") and key not in meta:
                continue
            f.write((b"" if first else b",") + orjson.dumps(key) + b":")
            first = False
            if key == "images":
                _write_array(f, _chunks(_image_dict(a, i) for a, i in zip(dataset.assets, image_ids)))
            elif key == "annotations":
                _write_array(f, anns)
            elif key == "categories":
                f.write(orjson.dumps([_category_dict(label, cat_ids[label.name]) for label in labels]))
            else:
                f.write(orjson.dumps(meta[key]))
        for key, value in extra_top.items():
            f.write(b"," + orjson.dumps(key) + b":" + orjson.dumps(value))
        f.write(b"}")


FORMAT = FormatSpec(
    name="coco",
    description="COCO instances/keypoints JSON and COCO results lists",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("key_order", "results")),
    output="file",
    default_file_name="annotations.json",
    read_options=(
        Option("ground_truth", "--coco-ground-truth", "COCO instances file giving images and categories "
               "to a results list", type=str),
    ),
    write_options=(
        Option("segmentation", "--segmentation", "COCO segmentation: keep (default), rle or polygon",
               type=str, choices=("keep", "rle", "polygon")),
        Option("results", "--coco-results", "write a COCO results list (detections) instead of instances"),
        Option("category_id_start", "--category-id-start", "first category id for labels without one "
               "(default 1)", type=int),
    ),
)
