"""Rasterise a dataset: one mask PNG per image, semantic (label index) or instance (object index).

Pixels follow pycocotools exactly (`masks.polygon_to_rle` / `masks.rle_to_mask`); objects are
painted in annotation order, a later one covering an earlier one. Values: 0 is the background;
semantic masks hold ``1 + the label's position`` in the dataset's label list; instance masks hold
``1 + the object's position`` among the image's painted objects. Up to 255 values the PNG is a
palette PNG (mode ``P``, the VOC colour map, so that it is readable by eye and by the VOC devkit);
beyond, a 16-bit grey PNG. ``labels.txt`` is the legend (``index name`` per line); instance runs
also write ``instances.csv`` (image, index, label, object id).

Every image is a pure function of its asset (`rasterise_asset`); `paint_shard` paints a shard of them
and returns the PNG bytes, so shards run anywhere: in this process, a local process pool (``jobs > 1``)
or a Dask cluster (``engine="dask"``, `engines.map_shards`), with the same PNGs. `streaming.rasterise`
paints a COCO file larger than memory with the same `Planner` and `paint`.

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
from collections.abc import Iterable, Iterator, Mapping, Sequence
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


def paint_shard(items: Sequence[tuple[Asset, str]], context: tuple[dict[str, int], str, bool, bool]
                ) -> list[tuple[str, bytes | None, str | None]]:
    """``(mask path, PNG bytes, None)`` or ``(file name, None, why)`` for each ``(asset, mask path)`` of a
    shard: the unit of work of the pool and of the engine (pure; the caller writes the bytes).
    `context`: ``(label index, kind, boxes, palette allowed)``."""
    label_index, kind, boxes, palette_ok = context
    palette = voc_colormap() if palette_ok else None
    out: list[tuple[str, bytes | None, str | None]] = []
    for asset, rel in items:
        try:
            values = rasterise_asset(asset, label_index, kind, boxes)
        except ValueError as exc:
            out.append((asset.file_name, None, str(exc)))
            continue
        use = palette if palette is not None and int(values.max(initial=0)) < 256 else None
        out.append((rel, _png_bytes(values, use), None))
    return out


#: images painted per shard in this process (between two progress updates), and on a pool or engine
_INLINE_CHUNK = 256
_SHARD = 64


def paint(shards: Iterable[list[tuple[Asset, str]]], out: Path, context: tuple[dict[str, int], str, bool, bool], *,
          jobs: int = 1, engine: str | None = None, scheduler: str | None = None, bar: Any = None
          ) -> list[tuple[str, str]]:
    """Paint `shards` (lists of light assets: `light`) with `paint_shard` on `engine` (``local``: a process
    pool of `jobs` when `jobs` > 1, else this process; ``dask``: `engines.map_shards`) and write each PNG
    under `out`; returns ``(file name, why)`` of the images skipped."""
    from .engines import check_engine, map_shards

    engine = check_engine(engine)
    workers = 0 if engine == "local" and jobs <= 1 else jobs
    skipped: list[tuple[str, str]] = []
    made: set[Path] = set()
    for result in map_shards(paint_shard, shards, context, engine=engine, workers=workers, scheduler=scheduler):
        for rel, data, why in result:
            if data is None:
                skipped.append((rel, why or ""))
                continue
            target = out / rel
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            target.write_bytes(data)
        if bar is not None:
            bar.update(len(result))
    return skipped


def light(asset: Asset, boxes: bool) -> Asset:
    """A copy of `asset` holding only what painting needs (picklable: no shared read-only mappings)."""
    anns = [Annotation(ann.label, box=ann.box, polygon=ann.polygon, mask=ann.mask, attributes={}, extra={})
            for _, ann in _painted(asset, boxes)]
    return Asset(asset.file_name, asset.width, asset.height, anns, metadata={}, extra={})


def rasterise(
    dataset: Dataset,
    out: str | os.PathLike[str],
    kind: str = "semantic",
    *,
    images: str | os.PathLike[str] | None = None,
    boxes: bool = False,
    jobs: int = 1,
    engine: str | None = None,
    scheduler: str | None = None,
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
    stderr when it is a terminal. `jobs`: processes painting (1: this one); `engine`: ``local`` (that
    pool) or ``dask`` (`engines`; `jobs` workers of a local cluster, or the running one at `scheduler`):
    the same PNGs either way.
    """
    from .engines import check_engine
    from .progress import bar

    if kind not in KINDS:
        raise OptionError(f"kind must be semantic or instance, got {kind!r}")
    engine = check_engine(engine)
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
        context = (label_index, kind, boxes, kind == "instance" or len(labels) < 256)
        with bar(len(items), "rasterising", quiet=not progress, unit="image") as b:
            if engine != "local" or (jobs > 1 and len(items) > 1):
                size = max(1, -(-len(items) // (max(jobs, 1) * 4)))
                lights = [(light(a, boxes), rel) for a, rel in items]
                shards = [lights[i:i + size] for i in range(0, len(lights), size)]
            else:
                shards = [items[i:i + _INLINE_CHUNK] for i in range(0, len(items), _INLINE_CHUNK)]
            skipped = paint(shards, Path(tmp), context, jobs=jobs, engine=engine, scheduler=scheduler, bar=b)
        (tmp / "labels.txt").write_text(legend(labels), encoding="utf-8")
        if kind == "instance":
            _write_instances(tmp / "instances.csv", items, boxes)
    finish_report(report, skipped, names, len(items), objects)
    return report


def legend(labels: Sequence[str]) -> str:
    """``labels.txt``: ``index name`` per line, 0 the background."""
    return "".join(f"{i} {name}\n" for i, name in enumerate(["background", *labels]))


def finish_report(report: Report, skipped: Sequence[tuple[str, str]], names: int, n_items: int, objects: int
                  ) -> None:
    """The images skipped, the names changed and the counts, into `report`."""
    if skipped:
        report.dropped("images without a usable size", len(skipped), example=f"{skipped[0][0]}: {skipped[0][1]}")
    if names:
        report.changed("mask file names made unique or safe", names)
    report.stats.update(images=n_items - len(skipped), objects=objects)


def _plan(dataset: Dataset, images: str | os.PathLike[str] | None, report: Report
          ) -> tuple[list[tuple[Asset, str]], int]:
    """(asset with a size, PNG path relative to the output) for every asset; names made safe and unique."""
    planner = Planner(images)
    items = [item for n, asset in enumerate(dataset.assets) if (item := planner.place(n, asset)) is not None]
    planner.finish(report)
    return items, planner.renamed


class Planner:
    """Each asset's size (from the dataset, an image header or a mask) and its mask's path, one asset at a
    time: the in-memory and the streamed rasterise place assets alike. Holds the paths taken (casefolded)."""

    def __init__(self, images: str | os.PathLike[str] | None) -> None:
        self.images = images
        self.lookup: ImageIndex | None = None
        self.taken: set[str] = set()
        self.limit = max_image_pixels()
        self.too_large = ProblemCollector()
        self.renamed = self.from_header = self.from_mask = 0

    def place(self, n: int, asset: Asset) -> tuple[Asset, str] | None:
        """``(asset with its size, mask path)``, or None for an asset over the pixel limit (collected)."""
        if not asset.width or not asset.height:
            size = None
            if self.images is not None:
                if self.lookup is None:
                    self.lookup = ImageIndex(self.images)
                found = self.lookup.find(asset.file_name)
                if found is not None:
                    size = image_size(found)
                    self.from_header += 1
            if size is None:
                mask = next((a.mask for a in asset.annotations if a.mask is not None), None)
                if mask is not None:
                    size = (mask.width, mask.height)
                    self.from_mask += 1
            if size is not None:
                asset = Asset(asset.file_name, size[0], size[1], asset.annotations, asset.id)
        limit = self.limit
        if limit is not None and asset.width and asset.height and int(asset.width) * int(asset.height) > limit:
            # a mask array of that size would take width x height x 2 bytes: refused before allocating
            self.too_large.add(None, f"size {asset.width}×{asset.height} = "
                                     f"{int(asset.width) * int(asset.height):,} pixels is more than the limit of "
                                     f"{limit:,} (PIL.Image.MAX_IMAGE_PIXELS)", file=asset.file_name)
            return None
        try:
            rel = safe_relative_path(asset.file_name.replace("\\", "/")).with_suffix(".png").as_posix()
        except ValueError:
            rel = f"image_{n}.png"
            self.renamed += 1
        taken = self.taken
        if rel.casefold() in taken:
            stem = rel[:-4]
            k = 1
            while f"{stem}_{k}.png".casefold() in taken:
                k += 1
            rel = f"{stem}_{k}.png"
            self.renamed += 1
        taken.add(rel.casefold())
        return asset, rel

    def finish(self, report: Report) -> None:
        """Raise for the assets over the pixel limit; the sizes found, into `report`."""
        self.too_large.raise_if_any()
        if self.from_header:
            report.info("image sizes read from the image headers", self.from_header)
        if self.from_mask:
            report.info("image sizes taken from the size of a mask", self.from_mask)


def instance_rows(items: Iterable[tuple[Asset, str]], boxes: bool) -> Iterator[list[Any]]:
    """The rows of ``instances.csv`` after its header: mask path, index, label, object id."""
    for asset, rel in items:
        for n, (_, ann) in enumerate(_painted(asset, boxes), start=1):
            yield [rel, n, ann.label, "" if ann.id is None else ann.id]


INSTANCES_HEADER = ["mask", "index", "label", "object_id"]


def _write_instances(path: Path, items: Sequence[tuple[Asset, str]], boxes: bool) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(INSTANCES_HEADER)
    writer.writerows(instance_rows(items, boxes))
    path.write_text(buf.getvalue(), encoding="utf-8")
