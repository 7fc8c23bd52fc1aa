"""read."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import msgspec
import orjson

from ...errors import FormatError, ProblemCollector
from ...inputs import read_input
from ...io_utils import gc_paused
from ...model import Asset, Dataset, Label
from ...report import Report
from .._json_files import has_long_digits, load_json, resolve_file_or_folder
from .detect import sniff
from .parse import (
    PROGRESS_CHUNK,
    TOP_KEYS,
    parse_annotations,
    parse_categories,
    parse_images,
)
from .records import RECORDS, free_form, parse_records
from .sizes import fill_sizes
from .split_files import SPLIT_FILES_KEY, find_split_files, split_of_file

#: files from this size get a bar, opened before the JSON is parsed (parsing is a third of the time)
_PROGRESS_BYTES = 8 << 20


def _reading_bar(path: Path, progress: bool) -> Any:
    """A bar (no total until the annotations are counted) for a big file, else a null context."""
    if not progress or path.stat().st_size < _PROGRESS_BYTES:
        return contextlib.nullcontext()
    from ...progress import bar

    return bar(None, f"reading {path.name}", unit="object")



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
    says so. A folder holding one COCO file per split is read as one dataset with split tags
    (`read_split_files`). `images` (the image files' folder) gives the sizes the file lacks (none,
    or 0: CVAT's "unknown"). `progress`: a bar over the annotations on a terminal
    (`picsellia_formats.progress`).

    Raises FormatError naming the file and the records that are wrong.
    """
    report = report if report is not None else Report()
    dataset = _read(Path(path), report, ground_truth, progress)
    if images is not None and Path(images).is_dir():
        fill_sizes(dataset, images, report)
    return dataset


def _read(path: Path, report: Report, ground_truth: str | Path | None, progress: bool) -> Dataset:
    if path.is_dir():
        files = find_split_files(path)
        if files:
            if ground_truth is not None:
                raise FormatError("a ground truth (--coco-ground-truth) applies only to a COCO results list, "
                                  "and this is a folder of COCO files per split", file=path)
            return read_split_files(path, files, report=report, progress=progress)
    path = resolve_file_or_folder(path, sniff, "COCO")
    problems = ProblemCollector(path)
    with gc_paused(), _reading_bar(path, progress) as b:
        top = load_typed(path)
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
        assets, assets_by_id = parse_images(top["images"], problems)
        labels, labels_by_id = parse_categories(top.get("categories", []), problems, report)
        anns = top.get("annotations", [])
        if is_panoptic(anns):
            problems.raise_if_any()
            from .panoptic import read_panoptic

            read_panoptic(anns, path, assets_by_id, labels_by_id, report)
            return _tag_file_split(Dataset(labels, assets, {"coco": _top_meta(top)}), path, report)
        if type(anns) is not list:
            problems.add("annotations", f"must be a list, got {type(anns).__name__}")
        elif b is not None and len(anns) > PROGRESS_CHUNK:
            b.total = len(anns)
            b.refresh()
            for start in range(0, len(anns), PROGRESS_CHUNK):
                chunk = anns[start:start + PROGRESS_CHUNK]
                parse_records(chunk, assets_by_id, labels_by_id, problems, report, range(start, start + len(chunk)))
                b.update(len(chunk))
        else:
            parse_records(anns, assets_by_id, labels_by_id, problems, report, range(len(anns)))
        problems.raise_if_any()
        meta = _top_meta(top)
        if any(not (ann.box or ann.polygon or ann.mask or ann.keypoints) for a in assets for ann in a.annotations):
            meta["image_labels"] = True  # written back as annotations without geometry on COCO -> COCO
        return _tag_file_split(Dataset(labels, assets, {"coco": meta}), path, report)


_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])


def load_typed(path: Path) -> Any:
    """`load_json` of a COCO file, its annotations typed in C (`records.AnnotationRecord`: checked, ~3x faster
    to read than dicts); anything unusual (a results list, NaN, a lone surrogate, a run of 19 digits that may
    be an integer over 64 bits) is read by `load_json`, which names what is wrong. An annotation list the types
    do not fit is read as dicts.

    Only the members that can hold a wide integer are scanned for one (the typed annotations bound theirs;
    a whole-file scan costs ~0.4 s per 100k images).
    """
    try:
        members = _TOP.decode(read_input(path))
        top: dict[str, Any] = {}
        for key, raw in members.items():
            if key == "annotations":
                try:
                    records = RECORDS.decode(raw)
                except msgspec.ValidationError:
                    records = None
                if records is not None and not free_form(records):
                    top[key] = records
                    continue
            body = bytes(raw)
            if has_long_digits(body):
                return load_json(path)  # it finds wide integers exactly
            if key == "annotations" and records is not None:
                top[key] = records
                continue
            top[key] = orjson.loads(body)
        return top
    except (OSError, ValueError, RecursionError):  # msgspec's and orjson's decode errors are ValueErrors
        return load_json(path)  # which names the problem


FILE_SPLIT_INFO = "assets tagged with the split their COCO file names"


def _tag_file_split(dataset: Dataset, path: Path, report: Report) -> Dataset:
    """A file whose folder or name names a split (``instances_val.json``, Roboflow's
    ``valid/_annotations.coco.json``): every asset gets that split as a tag, and a COCO write to a
    folder gives the same layout back (``annotations/instances_<split>.json``)."""
    split = split_of_file(path, path.parent.parent)
    if split is None:
        return dataset
    for asset in dataset.assets:
        if split not in asset.tags:
            asset.tags.append(split)
    dataset.metadata["coco"][SPLIT_FILES_KEY] = {split: {"file": path.name}}
    report.info(FILE_SPLIT_INFO, len(dataset.assets), why=path.name)
    return dataset


def _top_meta(top: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in top.items() if k not in ("images", "annotations", "categories")}
    meta["key_order"] = [k for k in top if k in TOP_KEYS]
    return meta


def is_panoptic(anns: Any) -> bool:
    """Whether a COCO ``annotations`` list is COCO panoptic (per-image ``segments_info`` + PNG)."""
    return type(anns) is list and bool(anns) and type(anns[0]) is dict and "segments_info" in anns[0]


def read_split_files(path: Path, files: dict[str, Path] | None = None, *, report: Report | None = None,
                     **options: Any) -> Dataset:
    """Read every split file of folder `path` into one dataset; each asset tagged with its split.

    Labels are merged by name (the first file's category id and fields kept; a name whose id
    differs in another file is reported); image ids that collide across files are renumbered
    (each file's own ids are written back by a per-split write). Raises FormatError when `path` holds no split files.
    """
    report = report if report is not None else Report()
    files = files if files is not None else find_split_files(path)
    if not files:
        raise FormatError("not a folder of COCO files per split", file=path)
    labels: dict[str, Label] = {}
    assets = []
    metas: dict[str, Any] = {}
    differing = 0
    for split, file in files.items():
        part_report = Report()
        part = read(file, report=part_report, **options)
        for e in part_report.entries:  # the split tag is said once below, for all files
            if e.what != FILE_SPLIT_INFO:
                report.add(e.kind, e.what, e.count, e.why, e.examples[0] if e.examples else None)
        for label in part.labels:
            known = labels.get(label.name)
            if known is None:
                labels[label.name] = label
            elif known.id != label.id:
                differing += 1
        for asset in part.assets:
            asset.tags = [split]  # COCO has no tags: the only one is the split (as the folder names it)
        assets += part.assets
        part_meta = {k: v for k, v in part.metadata.get("coco", {}).items() if k != SPLIT_FILES_KEY}
        metas[split] = {"file": file.relative_to(path).as_posix(), "meta": part_meta}
    if differing:
        report.changed("category ids that differ between split files (the first file's id kept)", differing)
    report.info("COCO split files read as one dataset with split tags", len(files),
                why=", ".join(f"{s}: {m['file']}" for s, m in metas.items()))
    _unique_image_ids(assets, metas, report)
    first = next(iter(metas.values()))["meta"]
    meta = {**first, SPLIT_FILES_KEY: metas}
    return Dataset(list(labels.values()), assets, {"coco": meta})


def _unique_image_ids(assets: list[Asset], metas: dict[str, Any], report: Report) -> None:
    """Image ids restart in each split file (Roboflow: 0, 1...): when they collide, the merged
    dataset gets ids 1..N and each split remembers its own ids (``image_ids``: new -> old), which
    the per-split writer puts back."""
    ids = [a.id for a in assets]
    if len(set(ids)) == len(ids):
        return
    for new_id, asset in enumerate(assets, 1):
        split = asset.tags[0]
        metas[split].setdefault("image_ids", {})[new_id] = asset.id
        asset.id = new_id
    report.info("image ids renumbered across split files (each file's own ids kept for a per-split write)",
                len(assets))


def _read_results(results: list[Any], path: Path, ground_truth: str | Path | None,
                  problems: ProblemCollector, report: Report) -> Dataset:
    if ground_truth is not None:
        gt = read(ground_truth, report=report)
        for asset in gt.assets:
            asset.annotations = []
        assets_by_id = {a.id: a for a in gt.assets}
        labels_by_id = {label.id: label.name for label in gt.labels}
        parse_annotations(results, assets_by_id, labels_by_id, problems, report, results=True)
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
    parse_annotations(results, assets_by_id, labels_by_id, problems, report, results=True)
    problems.raise_if_any()
    labels.sort(key=lambda label: (type(label.id) is str, label.id))
    assets = sorted(assets_by_id.values(), key=lambda a: (type(a.id) is str, a.id))
    return Dataset(labels, assets, {"coco": {"results": True, "key_order": []}})


