"""OD API TFRecords into the canonical model (`read_tfrecords`), and the registry's reader (`read`).

Records of a sharded set are de-interleaved back into their original order; records without image
bytes or without objects are kept. A file named after a split (``train.record``,
``val-00000-of-00002``; any name `splits` knows) tags its images with that split.

Example:
    >>> ds = read_tfrecords("fixtures/raccoon_voc/data/test.record")
    >>> len(ds), ds.num_annotations, ds.assets[0].tags
    (8, 9, ['test'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import FormatError, ProblemCollector
from ...io_utils import gc_paused, safe_relative_path
from ...model import EMPTY, Annotation, Asset, Dataset, Label
from ...outputs import side_output_dir
from ...report import Report
from ...splits import is_split_name
from ...tfod.labelmap import LabelMapItem
from .records import RECORD_SUFFIXES, SHARD_PATTERN, interleaved, record_files


def pascal_attributes(difficult: int | None, truncated: int | None, view: str | None) -> dict[str, Any]:
    """The attributes of a read object: the Pascal fields its record carries, named as the VOC
    reader names them (``difficult`` alone only when set: COCO-style writers write 0 for all)."""
    attrs: dict[str, Any] = {}
    pascal = truncated is not None or view is not None
    if view is not None:
        attrs["pose"] = view
    if truncated is not None:
        attrs["truncated"] = truncated
    if difficult is not None and (difficult or pascal):
        attrs["difficult"] = difficult
    return attrs


def split_tag_of_name(name: str) -> str | None:
    """The split a record file's name ends with (``train.record``, ``val-00000-of-00002``,
    ``coco_test.tfrecord``, ``S/val`` as ``val``), as written, or None.

    Example:
        >>> split_tag_of_name("data-Valid.record-00001-of-00004"), split_tag_of_name("data.record")
        ('Valid', None)
    """
    m = SHARD_PATTERN.match(name)
    if m:
        name = m["base"]
    for suffix in RECORD_SUFFIXES:
        if name.endswith(suffix):
            name = name[:-len(suffix)]
            break
    base = name.rsplit("-", 1)[-1].rsplit("_", 1)[-1]
    return base if is_split_name(base) else None


def _source_id_value(text: str | None) -> Any:
    if not text:
        return None
    if text.isascii() and text.isdigit() and (text == "0" or text[0] != "0"):
        return int(text)
    return text


def read_tfrecords(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    label_map: Sequence[LabelMapItem] | None = None,
    extract_images: str | os.PathLike[str] | None = None,
    check_crc: bool = True,
    report: Report | None = None,
) -> Dataset:
    """Read OD API TFRecords (files, or folders of them) into a `Dataset`.

    Object labels come from ``class/text`` (a display name of `label_map` maps to its name), else
    from ``class/label`` through `label_map`, else the id itself as the name. Boxes are turned back
    into absolute pixels (the integer a coordinate was written from is recovered exactly when
    ``float32(x / size)`` matches). Masks (PNG or numerical) become RLE. Image bytes are not kept in
    the model; `extract_images` writes them to that folder under their file names. A file named
    after a split (``train.record``, ``val-00000-of-00002``) tags its images with it.

    Example:
        >>> ds = read_tfrecords("fixtures/raccoon_voc/data/test.record")
        >>> len(ds), ds.num_annotations, ds.label_names
        (8, 9, ['raccoon'])
    """
    if extract_images is None:
        return _read_tfrecords(paths, label_map, None, check_crc, report)
    # staged; in place only when the whole conversion succeeds (`picsellia_formats.outputs.transaction`)
    with side_output_dir(extract_images, "extracted images") as stage:
        return _read_tfrecords(paths, label_map, stage, check_crc, report)


def _read_tfrecords(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                    label_map: Sequence[LabelMapItem] | None, extract_images: Path | None, check_crc: bool,
                    report: Report | None) -> Dataset:
    report = report if report is not None else Report()
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        files += record_files(p)
    by_name: dict[str, LabelMapItem] = {}
    by_id: dict[int, LabelMapItem] = {}
    for item in label_map or ():
        by_name.setdefault(item.name, item)
        by_id.setdefault(item.id, item)
    by_display = {item.display_name: item for item in label_map or () if item.display_name}
    labels: dict[str, Label] = {}
    if label_map:
        from ...tfod.labelmap import labels_from_items

        for label in labels_from_items(label_map):
            labels[label.name] = label
    extract_dir = Path(extract_images) if extract_images is not None else None
    used_names: set[str] = set()
    counts: dict[str, int] = {}
    assets: list[Asset] = []
    from ...masks import mask_to_rle
    from .decode import decode_features
    from .example import decode_example

    def bump(key: str, n: int = 1) -> None:
        counts[key] = counts.get(key, 0) + n

    problems: ProblemCollector | None = None
    with gc_paused():
        for path, index, offset, data in interleaved(files, check_crc):
            if problems is None or problems.file != str(path):
                if problems is not None:
                    problems.raise_if_any()
                problems = ProblemCollector(str(path))
            record = f"record {index} (byte {offset})"
            try:
                image = decode_features(decode_example(data))
            except ValueError as exc:
                problems.add(record, str(exc))
                continue
            tag = split_tag_of_name(path.name)
            file_name = image.file_name or image.source_id or f"record-{len(assets):06d}"
            anns = []
            for obj in image.objects:
                name = obj.text
                if name is not None and label_map and name not in by_name and name in by_display:
                    name = by_display[name].name
                if not name:
                    if obj.label is not None and obj.label in by_id:
                        name = by_id[obj.label].name
                    elif obj.label is not None:
                        name = str(obj.label)
                        bump("named_by_id")
                    else:
                        problems.add(record, "an object has neither class/text nor class/label")
                        break
                label = labels.get(name)
                if label is None:
                    labels[name] = label = Label(name, id=obj.label)
                    if label_map:
                        bump("not_in_map")
                extra: dict[str, Any] = {}
                attrs = pascal_attributes(obj.difficult, obj.truncated, obj.view)
                if obj.extra:
                    extra["tfod"] = {"features": obj.extra}
                mask = mask_to_rle(obj.mask) if obj.mask is not None else None
                anns.append(Annotation(name, box=obj.box, mask=mask, iscrowd=int(bool(obj.iscrowd)),
                                       area=obj.area, attributes=attrs or EMPTY, extra=extra or EMPTY))
            for text, label_id in image.classes:
                name = text if text else (by_id[label_id].name if label_id in by_id else str(label_id))
                if name not in labels:
                    labels[name] = Label(name, id=label_id)
                anns.append(Annotation(name))
            if image.orientation != 1:
                bump("exif")
            if image.sha256_ok is False:
                bump("sha_mismatch")
            if image.image is None:
                bump("no_image")
            asset_extra: dict[str, Any] = {}
            if image.extra:
                asset_extra["tfod"] = {"features": image.extra}
            if extract_dir is not None and image.image is not None:
                file_name = _extract(extract_dir, file_name, image.image, used_names, bump, problems, record)
            assets.append(Asset(file_name, image.width, image.height, anns, _source_id_value(image.source_id),
                                [tag] if tag else None, extra=asset_extra or EMPTY))
        if problems is not None:
            problems.raise_if_any()
    if counts.get("named_by_id"):
        report.changed("objects named by their class id", counts["named_by_id"],
                       "no class/text and no label map entry")
    if counts.get("not_in_map"):
        report.info("label names not in the label map", counts["not_in_map"])
    if counts.get("exif"):
        report.changed("boxes of EXIF-rotated images turned into the displayed frame", counts["exif"])
    if counts.get("sha_mismatch"):
        report.info("images whose image/key/sha256 does not match their bytes", counts["sha_mismatch"])
    if counts.get("no_image"):
        report.info("records without image bytes", counts["no_image"])
    if counts.get("renamed"):
        report.changed("extracted images renamed", counts["renamed"], "file names repeated")
    return Dataset(list(labels.values()), assets)


def _extract(folder: Path, file_name: str, data: bytes, used: set[str], bump: Any, problems: ProblemCollector,
             record: str) -> str:
    try:
        rel = safe_relative_path(file_name)
    except ValueError as exc:
        problems.add(record, f"image/filename: {exc}")
        return file_name
    name = rel.as_posix()
    if name in used:
        stem, dot, ext = name.rpartition(".")
        k = 2
        while f"{stem or ext}-{k}{dot}{ext if stem else ''}" in used:
            k += 1
        name = f"{stem or ext}-{k}{dot}{ext if stem else ''}"
        bump("renamed")
    used.add(name)
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return name


def _find_label_map(path: Path, report: Report) -> Path | None:
    folder = path if path.is_dir() else path.parent
    found = sorted(folder.glob("*.pbtxt"))
    if len(found) == 1:
        report.info(f"label map {found[0].name} found beside the records and used")
        return found[0]
    return None


def read(
    path: Path,
    *,
    images: Path | None = None,
    report: Report,
    label_map: str | Path | None = None,
    extract_images: str | Path | None = None,
    progress: bool = False,
) -> Dataset:
    """The registry's reader: TFRecords (a file or a folder, with the one ``.pbtxt`` beside them);
    `label_map` names the classes of records without ``class/text``; `extract_images` writes the
    embedded images to that folder.

    Raises FormatError naming the file and record of a corrupt record.
    """
    from ...tfod.labelmap import read_label_map

    del images  # the images are inside the records
    if path.is_dir() and not record_files(path):
        raise FormatError("no TFRecord file in this folder", file=path)
    map_path = Path(label_map) if label_map is not None else _find_label_map(path, report)
    items = read_label_map(map_path) if map_path is not None else None
    return read_tfrecords(path, label_map=items, extract_images=extract_images, report=report)
