"""Rasterise a dataset: one mask PNG per image, semantic (label index) or instance (object index).

Pixels follow pycocotools exactly (`masks.polygon_to_rle` / `masks.rle_to_mask`); objects are
painted in annotation order, a later one covering an earlier one. Values: 0 is the background;
semantic masks hold ``1 + the label's position`` in the dataset's label list; instance masks hold
``1 + the object's position`` among the image's painted objects. Up to 255 values the PNG is a
palette PNG (mode ``P``, the VOC colour map, so that it is readable by eye and by the VOC devkit);
beyond, a 16-bit grey PNG. ``labels.txt`` is the legend (``index name`` per line); instance runs
also write ``instances.csv`` (image, index, label, object id).

Every image is a pure function of its asset (`rasterise_asset`), so shards can run anywhere; a
local process pool runs them with ``jobs > 1``.

Example:
    >>> from picsellia_formats.model import Annotation, Asset, Dataset, Label
    >>> ds = Dataset([Label("cat")], [Asset("a.jpg", 4, 3, [Annotation("cat", polygon=[[0, 0, 2, 0, 2, 2, 0, 2]])])])
    >>> rasterise_asset(ds.assets[0], {"cat": 1}, "semantic").tolist()
    [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]]
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FormatError, OptionError, PicselliaFormatsError, ProblemCollector
from .image_header import max_image_pixels
from .images import ImageIndex, image_size
from .io_utils import safe_relative_path
from .masks import box_to_rle, polygon_to_rle, rle_crop, voc_colormap
from .model import Annotation, Asset, Dataset
from .outputs import output_dir
from .report import Report

KINDS = ("semantic", "instance")
FORMATS = ("png",)


def _painted(asset: Asset, boxes: bool) -> list[tuple[int, Any]]:
    """(annotation index, annotation) of the objects that have pixels: masks, polygons, and boxes
    when asked."""
    out = []
    for i, ann in enumerate(asset.annotations):
        if ann.mask is not None or ann.polygon is not None or (boxes and ann.box is not None):
            out.append((i, ann))
    return out


def rasterise_asset(asset: Asset, label_index: Mapping[str, int], kind: str = "semantic",
                    boxes: bool = False) -> np.ndarray:
    """The ``(height, width)`` value array of one asset (``uint16``; see the module doc).

    Raises ValueError when the asset has no size or a mask's size differs from it.
    """
    if kind not in KINDS:
        raise OptionError(f"kind must be semantic or instance, got {kind!r}")
    if not asset.width or not asset.height:
        raise FormatError("image size unknown", file=asset.file_name)
    h, w = int(asset.height), int(asset.width)
    out = np.zeros((h, w), dtype=np.uint16)
    for n, (_, ann) in enumerate(_painted(asset, boxes), start=1):
        if ann.mask is not None:
            if (ann.mask.height, ann.mask.width) != (h, w):
                raise FormatError(f"{asset.file_name}: mask size {ann.mask.width}x{ann.mask.height} differs "
                                 f"from the image size {w}x{h}")
            rle = ann.mask
        elif ann.polygon is not None:
            rle = polygon_to_rle(ann.polygon, h, w)
        else:
            rle = box_to_rle(ann.box, h, w)
        value = n if kind == "instance" else label_index.get(ann.label, 0)
        found = rle_crop(rle)  # paint the object's box only, not the whole image
        if found is not None:
            crop, x0, y0 = found
            out[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]][crop.view(bool)] = value
    return out


def _png_bytes(values: np.ndarray, palette: list[int] | None) -> bytes:
    from PIL import Image

    h, w = values.shape
    if palette is not None:
        im = Image.frombytes("P", (w, h), values.astype(np.uint8).tobytes())
        im.putpalette(palette)
    else:
        im = Image.frombytes("I;16", (w, h), values.astype("<u2").tobytes())
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _light(asset: Asset, boxes: bool) -> Asset:
    """A copy of `asset` holding only what painting needs (picklable: no shared read-only mappings)."""
    anns = [Annotation(ann.label, box=ann.box, polygon=ann.polygon, mask=ann.mask, attributes={}, extra={})
            for _, ann in _painted(asset, boxes)]
    return Asset(asset.file_name, asset.width, asset.height, anns, metadata={}, extra={})


def _shard(job: tuple[list[tuple[Asset, str]], dict[str, int], str, bool, str, bool]) -> list[tuple[str, str]]:
    """Rasterise and write a shard of assets; returns (file name, error) of the images skipped."""
    items, label_index, kind, boxes, out, palette_ok = job
    palette = voc_colormap() if palette_ok else None
    skipped = []
    for asset, rel in items:
        try:
            values = rasterise_asset(asset, label_index, kind, boxes)
        except ValueError as exc:
            skipped.append((asset.file_name, str(exc)))
            continue
        use = palette if palette is not None and int(values.max(initial=0)) < 256 else None
        target = Path(out) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_png_bytes(values, use))
    return skipped


#: images painted between two progress updates when painting in this process
_INLINE_CHUNK = 256


def rasterise(
    dataset: Dataset,
    out: str | os.PathLike[str],
    kind: str = "semantic",
    *,
    images: str | os.PathLike[str] | None = None,
    boxes: bool = False,
    jobs: int = 1,
    report: Report | None = None,
    progress: bool = False,
    overwrite: bool = False,
) -> Report:
    """Write one mask PNG per asset into the folder `out` (atomically), with ``labels.txt``.

    `out` is replaced whole; a non-empty folder that is not a previous rasterise output raises
    OutputExistsError unless `overwrite`.

    Sizes come from the dataset, else from the image headers under `images`, else from a mask of
    the asset. `boxes` paints box-only objects as filled rectangles too. Assets without a size are
    skipped and reported. Returns the report (``stats``: images, objects). `progress`: a bar on
    stderr when it is a terminal.
    """
    from .progress import bar

    if kind not in KINDS:
        raise OptionError(f"kind must be semantic or instance, got {kind!r}")
    report = report if report is not None else Report()
    labels = dataset.label_names
    for _, ann in dataset.annotations():
        if ann.label not in labels:
            labels.append(ann.label)
    label_index = {name: i for i, name in enumerate(labels, start=1)}
    items, names = _plan(dataset, images, report)
    objects = sum(len(_painted(a, boxes)) for a, _ in items)
    if kind == "semantic" and len(labels) > 65535:
        raise PicselliaFormatsError(f"{len(labels)} labels do not fit in a 16-bit PNG")
    with output_dir(out, "rasterise", overwrite=overwrite) as tmp:
        skipped: list[tuple[str, str]] = []
        palette_ok = kind == "instance" or len(labels) < 256
        with bar(len(items), "rasterising", quiet=not progress, unit="image") as b:
            if jobs > 1 and len(items) > 1:
                size = max(1, -(-len(items) // (jobs * 4)))
                light = [(_light(a, boxes), rel) for a, rel in items]
                shards = [(light[i:i + size], label_index, kind, boxes, str(tmp), palette_ok)
                          for i in range(0, len(light), size)]
                with ProcessPoolExecutor(max_workers=jobs) as pool:
                    for shard, result in zip(shards, pool.map(_shard, shards)):
                        skipped += result
                        b.update(len(shard[0]))
            else:
                for i in range(0, len(items), _INLINE_CHUNK):
                    part = items[i:i + _INLINE_CHUNK]
                    skipped += _shard((part, label_index, kind, boxes, str(tmp), palette_ok))
                    b.update(len(part))
        legend = "".join(f"{i} {name}\n" for i, name in enumerate(["background", *labels]))
        (tmp / "labels.txt").write_text(legend, encoding="utf-8")
        if kind == "instance":
            _write_instances(tmp / "instances.csv", items, boxes)
    if skipped:
        report.dropped("images without a usable size", len(skipped), example=f"{skipped[0][0]}: {skipped[0][1]}")
    if names:
        report.changed("mask file names made unique or safe", names)
    report.stats.update(images=len(items) - len(skipped), objects=objects)
    return report


def _plan(dataset: Dataset, images: str | os.PathLike[str] | None, report: Report
          ) -> tuple[list[tuple[Asset, str]], int]:
    """(asset with a size, PNG path relative to the output) for every asset; names made safe and unique."""
    lookup: ImageIndex | None = None
    items: list[tuple[Asset, str]] = []
    taken: set[str] = set()
    limit = max_image_pixels()
    too_large = ProblemCollector()
    renamed = from_header = from_mask = 0
    for n, asset in enumerate(dataset.assets):
        if not asset.width or not asset.height:
            size = None
            if images is not None:
                if lookup is None:
                    lookup = ImageIndex(images)
                found = lookup.find(asset.file_name)
                if found is not None:
                    size = image_size(found)
                    from_header += 1
            if size is None:
                mask = next((a.mask for a in asset.annotations if a.mask is not None), None)
                if mask is not None:
                    size = (mask.width, mask.height)
                    from_mask += 1
            if size is not None:
                asset = Asset(asset.file_name, size[0], size[1], asset.annotations, asset.id)
        if limit is not None and asset.width and asset.height and int(asset.width) * int(asset.height) > limit:
            # a mask array of that size would take width x height x 2 bytes: refused before allocating
            too_large.add(None, f"size {asset.width}×{asset.height} = {int(asset.width) * int(asset.height):,} "
                                f"pixels is more than the limit of {limit:,} (PIL.Image.MAX_IMAGE_PIXELS)",
                          file=asset.file_name)
            continue
        try:
            rel = safe_relative_path(asset.file_name.replace("\\", "/")).with_suffix(".png").as_posix()
        except ValueError:
            rel = f"image_{n}.png"
            renamed += 1
        if rel.casefold() in taken:
            stem = rel[:-4]
            k = 1
            while f"{stem}_{k}.png".casefold() in taken:
                k += 1
            rel = f"{stem}_{k}.png"
            renamed += 1
        taken.add(rel.casefold())
        items.append((asset, rel))
    too_large.raise_if_any()
    if from_header:
        report.info("image sizes read from the image headers", from_header)
    if from_mask:
        report.info("image sizes taken from the size of a mask", from_mask)
    return items, renamed


def _write_instances(path: Path, items: Sequence[tuple[Asset, str]], boxes: bool) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["mask", "index", "label", "object_id"])
    for asset, rel in items:
        for n, (_, ann) in enumerate(_painted(asset, boxes), start=1):
            writer.writerow([rel, n, ann.label, "" if ann.id is None else ann.id])
    path.write_text(buf.getvalue(), encoding="utf-8")
