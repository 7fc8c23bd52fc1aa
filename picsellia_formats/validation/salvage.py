"""Reading for validation: defects that make a reader refuse a file become findings instead.

A COCO file with an annotation on an unknown image, a duplicate image id or a NaN coordinate is
refused by the COCO reader (rightly: a conversion must not guess). The validator must instead name
every such record and go on checking the rest. On the happy path this costs nothing (the file is
read once by the ordinary reader); only when the reader refuses the file is it parsed again, the
records the validator can name are reported and left out, and the rest is read. Anything else
the reader refuses is an unreadable input (exit 2).

Example:
    >>> top = {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "cat"}],
    ...        "annotations": [{"id": 5, "image_id": 9, "category_id": 1, "bbox": [0, 0, 1, 1]}]}
    >>> findings, cleaned = salvage_coco(top, "ann.json")
    >>> print(findings[0])
    error: unknown-asset: (id=5) [ann.json: annotation[0] (id=5)]: image_id 9 is not among the images
    >>> cleaned["annotations"]
    []
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from .. import formats
from ..errors import FormatError
from ..model import Dataset
from ..textutil import count
from .findings import Finding
from .rules import RULES


def _finding(code: str, message: str, file: str, record: str, asset: str | None = None,
             object_id: Any = None, data: dict[str, Any] | None = None) -> Finding:
    return Finding(code, RULES[code].severity, message, asset=asset, object_id=object_id, file=file,
                   record=record, data=data)


def _finite(values: Any) -> bool:
    """False when a (nested) list of numbers holds NaN or infinity."""
    if type(values) is float:
        return math.isfinite(values)
    if type(values) is list:
        return all(_finite(v) for v in values)
    if type(values) is dict:
        return _finite(values.get("counts")) if type(values.get("counts")) is list else True
    return True


def _hashable(v: Any) -> bool:
    return type(v) in (int, str)


def _ann_record(i: int, a: dict[str, Any]) -> str:
    return f"annotation[{i}] (id={a['id']!r})" if "id" in a else f"annotation[{i}]"


def salvage_coco(top: Any, file: str) -> tuple[list[Finding], Any]:
    """Findings for the records of a parsed COCO document that the reader would refuse, and a copy of
    the document without them (the input is not modified)."""
    findings: list[Finding] = []
    if type(top) is list:
        kept = []
        for i, a in enumerate(top):
            if type(a) is dict and not all(_finite(a.get(k)) for k in ("bbox", "segmentation", "keypoints",
                                                                        "score", "area")):
                findings.append(_finding("non-finite-coordinate", "a coordinate, area or score is NaN or "
                                         "infinite", file, f"result[{i}]", data={"dropped": True}))
                continue
            kept.append(a)
        return findings, kept
    if type(top) is not dict:
        return findings, top
    cleaned = dict(top)
    images = top.get("images")
    names: dict[Any, str] = {}
    if type(images) is list:
        kept_images = []
        for i, im in enumerate(images):
            if type(im) is not dict or not _hashable(im.get("id")):
                kept_images.append(im)
                continue
            record = f"image[{i}] (id={im['id']!r})"
            name = im.get("file_name") if type(im.get("file_name")) is str else None
            if im["id"] in names:
                findings.append(_finding("duplicate-asset-id", f"image id {im['id']!r} is also the id of "
                                         f"{names[im['id']]!r}; this record is left out", file, record, name,
                                         data={"dropped": True}))
                continue
            names[im["id"]] = name or str(im["id"])
            bad = [k for k in ("width", "height") if k in im and im[k] is not None and not (
                type(im[k]) in (int, float) and math.isfinite(im[k]) and im[k] >= 0)]
            if bad:
                findings.append(_finding("image-size-invalid", f"{bad[0]} {im[bad[0]]!r} is not a size; it is "
                                         "left out", file, record, name, data={"dropped_size": True}))
                im = {k: v for k, v in im.items() if k not in ("width", "height")}
            kept_images.append(im)
        cleaned["images"] = kept_images
    cats = top.get("categories")
    cat_ids: set[Any] = set()
    if type(cats) is list:
        kept_cats = []
        for i, c in enumerate(cats):
            if type(c) is dict and _hashable(c.get("id")):
                if c["id"] in cat_ids:
                    findings.append(_finding("duplicate-label-id", f"category id {c['id']!r} is declared twice; "
                                             f"this one ({c.get('name')!r}) is left out", file,
                                             f"category[{i}] (id={c['id']!r})", data={"dropped": True}))
                    continue
                cat_ids.add(c["id"])
            kept_cats.append(c)
        cleaned["categories"] = kept_cats
    anns = top.get("annotations")
    if type(anns) is list and type(images) is list:
        kept_anns = []
        for i, a in enumerate(anns):
            if type(a) is not dict:
                kept_anns.append(a)
                continue
            image_id = a.get("image_id")
            asset = names.get(image_id) if _hashable(image_id) else None
            oid = a.get("id")
            if type(image_id) in (int, str, float) and image_id not in names:
                findings.append(_finding("unknown-asset", f"image_id {image_id!r} is not among the images", file,
                                         _ann_record(i, a), object_id=oid, data={"dropped": True}))
                continue
            cid = a.get("category_id")
            if type(cats) is list and type(cid) in (int, str, float) and cid not in cat_ids:
                findings.append(_finding("unknown-label", f"category_id {cid!r} is not among the categories",
                                         file, _ann_record(i, a), asset, oid, data={"dropped": True}))
                continue
            if not all(_finite(a.get(k)) for k in ("bbox", "segmentation", "keypoints", "score", "area")):
                findings.append(_finding("non-finite-coordinate", "a coordinate, area or score is NaN or infinite",
                                         file, _ann_record(i, a), asset, oid, data={"dropped": True}))
                continue
            kept_anns.append(a)
        cleaned["annotations"] = kept_anns
    return findings, cleaned


def _read_past_broken_images(source: Path, spec: formats.FormatSpec, images: Any, options: dict[str, Any] | None,
                             refused: FormatError) -> tuple[Dataset, list[Finding]]:
    """Read again, noting the images whose header (needed for a size) does not read instead of failing:
    each one left out becomes a finding naming its file; one kept without a size is the image probe's.
    Raises `refused` when that was not the reason."""
    from ..images import BrokenImage
    from ..inputs import check_names
    from ..report import Report
    from .imagefiles import probe

    broken: list[BrokenImage] = []
    try:
        dataset = spec.read(source, images=Path(images) if images else None, report=Report(),
                            broken_images=broken, **(options or {}))
    except FormatError:
        raise refused from None
    if not broken:
        raise refused
    check_names(dataset, source)
    findings = []
    for b in broken:
        if not b.left_out:
            continue
        facts = probe((str(b.path),))
        truncated = facts.status == "truncated"
        reason = facts.error or b.error.message
        what = f"the file ends early ({reason})" if truncated else reason
        lost = f"its {count(b.objects, 'label row')} not read" if b.objects else "the asset is left out"
        findings.append(_finding("image-truncated" if truncated else "image-unreadable",
                                 f"{what}; {lost} ({spec.name.upper()} values are relative to the image size, "
                                 "so they need it)", str(b.path), f"asset {b.file_name!r}", b.file_name,
                                 data={"dropped": True}))
    return dataset, findings


def read_for_validation(path: str | os.PathLike[str], fmt: str, images: Any = None,
                        options: dict[str, Any] | None = None, progress: bool = False
                        ) -> tuple[Dataset, list[Finding], Path]:
    """Read `path` as `fmt` for validation: (dataset, findings for records left out, the file read).

    Raises FormatError when the input cannot be read even without those records.
    """
    from ..api import read

    path = Path(path)
    spec = formats.get(fmt)
    source = path
    if spec.name == "coco":
        from ..formats import coco

        source = coco._resolve(path) if hasattr(coco, "_resolve") else path
    if spec.name == "coco":
        # the COCO reader takes missing sizes from the image headers; the validator reports them
        # (image-size-unknown) and its fix fills them, so it reads the file as it stands
        images = None
    try:
        return read(source, spec.name, images=images, progress=progress, **(options or {})), [], source
    except FormatError as refused:
        if spec.name in ("yolo", "voc"):
            dataset, found = _read_past_broken_images(source, spec, images, options, refused)
            return dataset, found, source
        if spec.name != "coco":
            raise
        from ..formats._json_files import load_json

        findings, cleaned = salvage_coco(load_json(source), str(source))
        if not findings:
            raise
        error = refused
    fd, tmp = tempfile.mkstemp(suffix=".json", prefix=".pf-validate-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps(cleaned))
        try:
            dataset = read(tmp, spec.name, images=images, **(options or {}))
        except FormatError as exc:
            problems = [p for p in exc.problems]
            for p in problems:
                p.file = str(source)
            raise FormatError(exc.message, file=source, record=exc.record, problems=problems,
                              more=exc.more) from error
    finally:
        os.unlink(tmp)
    return dataset, findings, source
