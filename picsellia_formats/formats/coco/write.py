"""write."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from itertools import chain
from operator import attrgetter, countOf
from pathlib import Path
from typing import Any

import orjson

from ...errors import FormatError, OptionError
from ...geometry import polygon_areas
from ...io_utils import gc_paused
from ...labels import labels_in_use
from ...model import Annotation, Asset, Dataset, Label
from ...report import Report
from ...shapes import annotation_bbox
from ...splits import canonical_split, split_of, split_order
from .._writer import write_json_array
from .parse import TOP_KEYS, counted, writing_bar
from .split_files import SPLIT_FILE_PATTERN, SPLIT_FILES_KEY, split_tags_written, wants_split_files

#: keys of the dataset's ``coco`` metadata that describe the source, not top-level keys to write
HINT_KEYS = frozenset(("key_order", "results", "split_files", "image_labels"))

# ---------------------------------------------------------------------------------------------- write


def _unique_int_ids(values: list[Any]) -> bool:
    if not values:
        return True
    if set(map(type, values)) != _INT_TYPE:
        return False
    if len(values) > 4096:  # ids most often rise: one numpy pass says so without hashing them all
        import numpy as np

        try:
            ids = np.fromiter(values, dtype=np.int64, count=len(values))
        except OverflowError:
            pass
        else:
            if bool((ids[1:] > ids[:-1]).all()):
                return True
    return len(set(values)) == len(values)


_INT_TYPE = {int}


def _written_ids(assets: list[Asset], image_labels: bool) -> list[Any]:
    """The source ids of the objects a COCO instances file keeps, in order (C loops when all have a box)."""
    anns = list(chain.from_iterable(map(attrgetter("annotations"), assets)))
    if countOf(map(attrgetter("box"), anns), None) == 0:
        return list(map(attrgetter("id"), anns))
    return [ann.id for ann in anns
            if ann.box is not None or ann.polygon is not None or ann.mask is not None or ann.keypoints is not None
            or (image_labels and ann.line is None and ann.point is None)]


def category_ids(labels: list[Label], start: int, report: Report) -> dict[str, int]:
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
            from ...masks import mask_to_polygons

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
            from ...masks import polygon_to_rle

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
    image_labels: bool = False,
) -> Iterator[list[dict[str, Any]]]:
    """Output dicts in asset order, in batches (polygon areas are computed vectorised per batch)."""
    # what COCO cannot hold (lines, points, classifications, Q&A...) is reported from FORMAT.holds
    counts: dict[str, Any] = {"areas_replaced": 0}
    batch: list[tuple[Asset, Any, Annotation]] = []
    for asset, image_id in zip(dataset.assets, image_ids):
        for ann in asset.annotations:
            if (ann.box is None and ann.polygon is None and ann.mask is None and ann.keypoints is None
                    and not (image_labels and ann.line is None and ann.point is None)):
                continue
            batch.append((asset, image_id, ann))
            if len(batch) >= batch_size:
                yield batch_dicts(batch, cat_ids, ann_ids, results, segmentation, report, counts)
                batch = []
    if batch:
        yield batch_dicts(batch, cat_ids, ann_ids, results, segmentation, report, counts)
    if counts["areas_replaced"]:
        report.changed("annotation areas recomputed", counts["areas_replaced"],
                       "the stated area disagreed with the geometry")


_NO_PARTS: list[list[float]] = []
#: a stated area is kept when within this share of the geometry's area (or this many pixels), else recomputed
AREA_TOLERANCE = 0.15
AREA_TOLERANCE_MIN = 16.0


def batch_dicts(
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
            if ann.attributes or ann.extra:
                _finish(out, ann)
            append(out)
        return out_list
    areas = polygon_areas([ann.polygon if ann.polygon is not None and ann.mask is None else _NO_PARTS
                           for _, _, ann in batch])
    keep = segmentation == "keep"
    replaced = 0
    for (asset, image_id, ann), computed in zip(batch, areas):
        box = ann.box
        mask = ann.mask
        if mask is None:
            polygon = ann.polygon
            if polygon is not None:
                seg: Any = polygon if keep else _segmentation_of(ann, segmentation, asset.height, asset.width,
                                                                  report)
            elif box is not None:
                seg = []
                computed = float(box[2] * box[3])
            elif ann.keypoints is None:
                # an image-level label of a COCO source (no bbox, no segmentation), written back as read
                out = {"id": next(ann_ids), "image_id": image_id, "category_id": cat_ids[ann.label]}
                if ann.score is not None:
                    out["score"] = ann.score
                if ann.attributes or ann.extra:
                    _finish(out, ann)
                append(out)
                continue
            else:
                seg = []
        else:
            if isinstance(mask.counts, str):
                from ...masks import rle_area

                computed = float(rle_area(mask))
            else:
                computed = float(sum(mask.counts[1::2]))
            seg = mask.to_coco() if keep else _segmentation_of(ann, segmentation, asset.height, asset.width,
                                                               report)
        if box is None:
            box = annotation_bbox(ann) or ()
        area = ann.area
        if area is None:
            area = computed
        else:
            tolerance = AREA_TOLERANCE * computed
            if tolerance < AREA_TOLERANCE_MIN:
                tolerance = AREA_TOLERANCE_MIN
            if abs(area - computed) > tolerance:
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
        if ann.attributes or ann.extra:
            _finish(out, ann)
        append(out)
    counts["areas_replaced"] += replaced
    return out_list


def _finish(out: dict[str, Any], ann: Annotation) -> None:
    """Attributes and COCO's own extra fields of one annotation."""
    if ann.attributes:
        out["attributes"] = dict(ann.attributes)
    coco_extra = ann.extra.get("coco") if ann.extra else None
    if coco_extra:
        for key, value in coco_extra.items():
            out.setdefault(key, value)


def image_dict(asset: Asset, image_id: Any) -> dict[str, Any]:
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


def _image_batches(assets: list[Asset], image_ids: list[Any], size: int = 20000) -> Iterator[list[dict[str, Any]]]:
    """`image_dict` of every asset, in lists of `size` (the common record inline: no call per image)."""
    for start in range(0, len(assets), size):
        batch = []
        append = batch.append
        for asset, image_id in zip(assets[start:start + size], image_ids[start:start + size]):
            if asset.width is not None and asset.height is not None and not asset.extra:
                append({"id": image_id, "file_name": asset.file_name, "width": asset.width,
                        "height": asset.height})
            else:
                append(image_dict(asset, image_id))
        yield batch


def category_dict(label: Label, cid: int) -> dict[str, Any]:
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
    split_files: bool | None = None,
) -> None:
    """Write `dataset` as a COCO instances file (or a results list).

    `segmentation`: ``keep`` (masks as RLE, polygons as polygons), ``rle`` (polygons rasterised
    to compressed RLE) or ``polygon`` (masks traced to polygons). `results`: write a results list;
    by default, when the dataset was read from one. Image, annotation and category ids are kept
    when they are unique integers; otherwise new ids are assigned from 1 (`category_id_start`).
    `progress`: a bar over the annotations (per batch) on stderr when it is a terminal.
    `split_files`: write one file per split tag, ``path/annotations/instances_<split>.json``
    (`split_files.write_split_files`); by default, when the dataset was read from such files and
    `path` is a folder.
    """
    report = report if report is not None else Report()
    if split_files or (split_files is None and Path(path).is_dir()
                       and wants_split_files(dataset, Path(path), None)):
        write_split_files(dataset, path, report=report, segmentation=segmentation, results=results,
                          category_id_start=category_id_start, progress=progress)
        return
    tags_here = split_tags_written(dataset, split_files)
    dataset = _without_file_split(dataset)
    if tags_here:  # the declaration left tags to the writer: only a one-file source's split tag is kept
        _report_tags(dataset.assets, report)
    if segmentation not in ("keep", "rle", "polygon"):
        raise OptionError(f"segmentation must be keep, rle or polygon, got {segmentation!r}")
    meta = dataset.metadata.get("coco", {})
    if results is None:
        results = bool(meta.get("results"))
    labels = labels_in_use(dataset)
    cat_ids = category_ids(labels, category_id_start, report)

    asset_ids = [a.id for a in dataset.assets]
    if _unique_int_ids(asset_ids):
        image_ids = asset_ids
    else:
        image_ids = list(range(1, len(asset_ids) + 1))
        if any(i is not None for i in asset_ids):
            report.changed("image ids renumbered", len(asset_ids), "source ids were not unique integers")
    image_labels = bool(meta.get("image_labels")) and not results
    ann_src_ids = _written_ids(dataset.assets, image_labels)
    if _unique_int_ids(ann_src_ids):
        ann_ids: Iterator[Any] = iter(ann_src_ids)
    else:
        ann_ids = iter(range(1, len(ann_src_ids) + 1))
        if any(i is not None for i in ann_src_ids):
            report.changed("annotation ids renumbered", len(ann_src_ids), "source ids were not unique integers")

    with open(path, "wb") as f, gc_paused(), writing_bar(len(ann_src_ids), progress) as b:
        anns = _annotation_batches(dataset, image_ids, cat_ids, ann_ids, results, segmentation, report,
                                   image_labels=image_labels)
        if b is not None:
            anns = counted(anns, b)
        if results:
            write_json_array(f, anns)
            return
        order = [k for k in meta.get("key_order", []) if k in TOP_KEYS]
        order += [k for k in TOP_KEYS if k not in order]
        extra_top = {k: v for k, v in meta.items() if k not in HINT_KEYS and k not in TOP_KEYS}
        f.write(b"{")
        first = True
        for key in order:
            if key in ("info", "licenses") and key not in meta:
                continue
            f.write((b"" if first else b",") + orjson.dumps(key) + b":")
            first = False
            if key == "images":
                write_json_array(f, _image_batches(dataset.assets, image_ids))
            elif key == "annotations":
                write_json_array(f, anns)
            elif key == "categories":
                f.write(orjson.dumps([category_dict(label, cat_ids[label.name]) for label in labels]))
            else:
                f.write(orjson.dumps(meta[key]))
        for key, value in extra_top.items():
            f.write(b"," + orjson.dumps(key) + b":" + orjson.dumps(value))
        f.write(b"}")




def write_split_files(dataset: Dataset, folder: str | Path, *, report: Report | None = None,
                      **options: Any) -> dict[str, Path]:
    """Write `dataset` as ``folder/annotations/instances_<split>.json``, one per split tag.

    Each file holds every category (same ids in every file), the images tagged with that split
    and their annotations; the split tag itself is not reported as a dropped tag (the file name
    carries it). `options` are those of `write` (``segmentation``, ``category_id_start``...).
    Returns ``{split: path}``. Raises FormatError naming the assets without a split tag.

    This is what ``split --to coco`` calls; wrap it in `picsellia_formats.io_utils.atomic_dir`
    for an atomic output (``pf.write(ds, folder, "coco", split_files=True)`` does).

    Example:
        >>> import tempfile
        >>> from .read import read_split_files
        >>> ds = read_split_files(Path("fixtures/real_exports/coco_per_split"))
        >>> out = write_split_files(ds, tempfile.mkdtemp())
        >>> sorted(p.name for p in out.values())
        ['instances_train.json', 'instances_val.json']
    """
    report = report if report is not None else Report()
    folder = Path(folder)
    meta = dict(dataset.metadata.get("coco") or {})
    per_split = meta.pop(SPLIT_FILES_KEY, None) or {}
    groups: dict[str, list[Any]] = {}
    spelling: dict[str, str] = {}  # canonical split -> its first spelling (val and valid are one file)
    untagged = []
    for asset in dataset.assets:
        tag = split_of(asset.tags, asset=asset.file_name)
        if tag is None:
            untagged.append(asset.file_name)
            continue
        split = spelling.setdefault(canonical_split(tag) or tag, tag)
        clone = copy.copy(asset)
        clone.tags = [t for t in asset.tags if not (canonical_split(t) or t) == (canonical_split(tag) or tag)]
        source = per_split.get(tag) if isinstance(per_split, dict) else None
        if isinstance(source, dict) and source.get("image_ids"):
            clone.id = source["image_ids"].get(asset.id, asset.id)  # the split file's own id
        groups.setdefault(split, []).append(clone)
    if untagged:
        raise FormatError(f"{len(untagged)} assets have no split tag (e.g. {untagged[0]!r}); one COCO file "
                          "per split needs a split tag on every asset (or write a single .json file)")
    if not groups:
        raise FormatError("no asset to write: one COCO file per split needs tagged assets")
    _report_tags([a for group in groups.values() for a in group], report)  # the split tag is the file name
    labels = labels_in_use(dataset)  # every file gets every category, so that ids agree across files
    written: dict[str, Path] = {}
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    for n, split in enumerate(sorted(groups, key=split_order)):
        source = per_split.get(split) if isinstance(per_split, dict) else None
        split_meta = dict(source["meta"]) if isinstance(source, dict) and "meta" in source else dict(meta)
        split_meta.pop(SPLIT_FILES_KEY, None)
        # other formats' dataset fields are tallied once (with the first file), not once per split
        metadata = {**(dataset.metadata if n == 0 else {}), "coco": split_meta}
        part = Dataset(labels, groups[split], metadata)
        target = folder / SPLIT_FILE_PATTERN.format(split=split)
        write(part, target, report=report, split_files=False, **options)
        written[split] = target
    return written


def _report_tags(assets: list[Asset], report: Report) -> None:
    tagged = sum(1 for a in assets if a.tags)
    if tagged:
        report.dropped("asset tags", tagged, "COCO has no tags")  # the wording of capabilities.report_unheld


def _without_file_split(dataset: Dataset) -> Dataset:
    """`dataset` without the split tag its one source file's name gave (``instances_val.json``):
    written to one file, that tag was the file's name, not data to report as dropped."""
    files = (dataset.metadata.get("coco") or {}).get(SPLIT_FILES_KEY)
    if not isinstance(files, dict) or len(files) != 1:
        return dataset
    (split,) = files
    assets = []
    for asset in dataset.assets:
        if split in asset.tags:
            asset = copy.copy(asset)
            asset.tags = [t for t in asset.tags if t != split]
        assets.append(asset)
    return Dataset(dataset.labels, assets, dataset.metadata)


def output_for(dataset: Dataset, path: Path, options: dict[str, Any]) -> str:
    """``folder`` when this write gives one COCO file per split (see `write`), else ``file``."""
    return "folder" if wants_split_files(dataset, Path(path), options.get("split_files")) else "file"
