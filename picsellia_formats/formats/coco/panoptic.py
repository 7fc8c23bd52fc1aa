"""COCO panoptic: per-image ``segments_info`` plus a PNG whose pixels hold segment ids, read as masks.

The PNG of an annotation is ``<json folder>/<json stem>/<file_name>`` (how the COCO panoptic
API lays it out: ``panoptic_val2017.json`` beside ``panoptic_val2017/``), or beside the JSON.
A pixel's segment id is ``R + 256 G + 65536 B``; each segment becomes one object of its
category with its pixels as a COCO RLE mask, its box from those pixels, and its ``id``,
``iscrowd`` and ``area`` kept. A COCO write of the result is an instances file (reported).

Example:
    >>> import picsellia_formats as pf
    >>> ds = pf.read("fixtures/real_exports/coco_panoptic")
    >>> [(a.label, a.mask.width, a.box) for a in ds.assets[0].annotations]
    [('d', 5, (2.0, 0.0, 2.0, 1.0)), ('b', 5, (1.0, 0.0, 4.0, 1.0))]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import FormatError, ProblemCollector
from ...masks import mask_to_rle
from ...model import EMPTY, Annotation, Asset
from ...report import Report

_SEGMENT_KEYS = frozenset(("id", "category_id", "area", "bbox", "iscrowd"))


def _png_path(json_path: Path, name: str) -> Path | None:
    for folder in (json_path.parent / json_path.stem, json_path.parent):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _segment_ids(png: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(png) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.int64)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise FormatError(f"not a readable panoptic PNG: {exc}", file=png) from None
    return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]


def read_panoptic(anns: list[Any], path: Path, assets_by_id: dict[Any, Asset], labels_by_id: dict[Any, str],
                  report: Report) -> None:
    """Attach one mask object per segment of every panoptic annotation of `anns` to its asset.

    Raises FormatError naming the file and the record of every bad annotation (missing PNG,
    unknown image or category, PNG size differing from the image, a segment with no pixel).
    """
    problems = ProblemCollector(path)
    segments = 0
    for i, a in enumerate(anns):
        record = f"annotation[{i}]"
        if type(a) is not dict or type(a.get("segments_info")) is not list:
            problems.add(record, "a COCO panoptic annotation must be an object with a segments_info list")
            continue
        asset = assets_by_id.get(a.get("image_id")) if type(a.get("image_id")) in (int, str) else None
        if asset is None:
            problems.add(record, f"image_id {a.get('image_id')!r} is not among the images")
            continue
        name = a.get("file_name")
        png = _png_path(path, name) if type(name) is str and name else None
        if png is None:
            problems.add(record, f"panoptic PNG {name!r} not found in {path.stem}/ nor beside the JSON")
            continue
        ids = _segment_ids(png)
        h, w = ids.shape
        if asset.width and asset.height and (asset.width, asset.height) != (w, h):
            problems.add(record, f"PNG {png.name} is {w}x{h}, the image is {asset.width}x{asset.height}")
            continue
        asset.width, asset.height = asset.width or w, asset.height or h
        for j, seg in enumerate(a["segments_info"]):
            srec = f"{record} segment {j}"
            if type(seg) is not dict:
                problems.add(srec, "expected an object")
                continue
            label = labels_by_id.get(seg.get("category_id")) if type(seg.get("category_id")) in (int, str) else None
            if label is None:
                problems.add(srec, f"category_id {seg.get('category_id')!r} is not among the categories")
                continue
            binary = ids == seg.get("id")
            if not binary.any():
                problems.add(srec, f"segment id {seg.get('id')!r} has no pixel in {png.name}")
                continue
            ys, xs = np.nonzero(binary)
            box = (float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()), float(ys.max() + 1 - ys.min()))
            other = {k: v for k, v in seg.items() if k not in _SEGMENT_KEYS}
            area = seg.get("area")
            asset.annotations.append(Annotation(
                label, box, None, mask_to_rle(binary), iscrowd=int(bool(seg.get("iscrowd", 0))),
                area=area if type(area) in (int, float) else None, id=seg.get("id"),
                extra={"coco": other} if other else EMPTY))
            segments += 1
    problems.raise_if_any()
    report.changed("COCO panoptic segments read as instance masks", segments,
                   "a COCO write gives an instances file (segments as RLE masks), not panoptic PNGs")
