"""Whole-dataset operations on a stream: per-asset summaries in numpy, never the assets.

`label_table` makes, in one streaming pass, what `split` needs: the assets × classes object count
matrix (CSR: 4 bytes per object, 8 per asset), each asset's file name and id (for ``split.json``) and
whether it holds polygons or masks (what a streamed YOLO part needs to know before its first asset).
`split_stream` splits a COCO file with it and writes each part by streaming the file again.

Example:
    >>> t = label_table(stream("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON"))
    >>> t.classes, t.counts.shape, int(t.counts.sum())
    (['cat'], (10, 1), 12)
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..model import Asset, Label
from ..outputs import output_dir
from ..report import Report
from .api import AssetStream, stream

#: What a streamed split writes (the other formats' writers take a `Dataset`).
STREAMED_SPLIT_TARGETS = ("coco", "tfrecord", "yolo", "voc")


class AssetKey(NamedTuple):
    """What a split result names an asset by."""

    file_name: str
    id: Any


class _Keys(Sequence[AssetKey]):
    def __init__(self, names: list[str], ids: list[Any]) -> None:
        self._names, self._ids = names, ids

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [AssetKey(n, d) for n, d in zip(self._names[i], self._ids[i])]
        return AssetKey(self._names[i], self._ids[i])

    def __iter__(self) -> Iterator[AssetKey]:
        return map(AssetKey, self._names, self._ids)


@dataclass
class LabelTable:
    """Per-asset summaries of a streamed dataset (`assets`: keys in stream order, for `SplitResult`)."""

    classes: list[str]
    counts: Any  # scipy.sparse.csr_matrix, assets x classes
    assets: Sequence[AssetKey]
    shapes: Any  # numpy bool array: the asset holds a polygon or a mask
    labels: list[Label]
    metadata: dict[str, Any]


def label_table(s: AssetStream) -> LabelTable:
    """Consume `s` into a `LabelTable` (classes: the declared labels, then undeclared ones by first use)."""
    import numpy as np
    import scipy.sparse as sp

    index = {label.name: i for i, label in enumerate(s.labels)}
    classes = list(index)
    cols = array("i")
    indptr = array("q", [0])
    names: list[str] = []
    ids: list[Any] = []
    shapes = bytearray()
    for asset in s.assets:
        names.append(asset.file_name)
        ids.append(asset.id)
        shaped = False
        for ann in asset.annotations:
            c = index.get(ann.label)
            if c is None:
                c = index[ann.label] = len(classes)
                classes.append(ann.label)
            cols.append(c)
            if not shaped and (ann.polygon is not None or ann.mask is not None):
                shaped = True
        shapes.append(shaped)
        indptr.append(len(cols))
    n = len(names)
    counts = sp.csr_matrix((np.ones(len(cols), dtype=np.int64), np.frombuffer(cols, dtype=np.int32),
                            np.frombuffer(indptr, dtype=np.int64)), shape=(n, len(classes)))
    counts.sum_duplicates()
    return LabelTable(classes, counts, _Keys(names, ids), np.frombuffer(bytes(shapes), dtype=bool),
                      list(s.labels), s.metadata)


def split_stream(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    ratios: Mapping[str, float] | Sequence[Any],
    to: str = "coco",
    *,
    seed: int | None = None,
    method: str = "auto",
    time_limit: float = 10.0,
    presence: bool = True,
    images: str | os.PathLike[str] | None = None,
    report: Report | None = None,
    overwrite: bool = False,
    strict: bool | str = False,
    write_options: dict[str, Any] | None = None,
    tmp_dir: str | None = None,
    skip_missing_images: bool = False,
    images_mode: str | None = None,
    progress: bool | None = False,
) -> Any:
    """`split` of a COCO file without holding its assets: one pass for the label table, one to write the parts.

    Writes, as the in-memory ``split`` command does and with the same bytes: COCO (`to`) split files
    ``dst/annotations/instances_<split>.json`` (with `images`, placed in ``images/<split>/``); TFRecord shards
    per split, ``label_map.pbtxt`` and ``pipeline_input_readers.config`` (`images` needed); YOLO or VOC as one
    training-ready dataset (see `streaming.split_write`); and ``dst/split.json``, replacing `dst` whole.
    `images_mode` as ``split``'s (hardlink by default with `images`); `skip_missing_images`: leave out and
    report images not found. Returns the `SplitResult`. `strict` as `picsellia_formats.write`'s
    (LossyConversionError, `dst` untouched). Raises OptionError for another target, a results list or an
    option the layout refuses, FormatError as the in-memory split does.
    """
    from .. import formats
    from ..errors import FormatError, LossyConversionError, OptionError
    from ..report import check_strict
    from ..stratify import split_table
    from ..stratify.output import images_mode_of, layout_options

    name = formats.get(to).name
    options = {k: v for k, v in (write_options or {}).items() if v is not None}
    if name not in STREAMED_SPLIT_TARGETS or options.get("results"):
        raise OptionError(f"a streamed split writes {', '.join(STREAMED_SPLIT_TARGETS)} only, not {name}"
                          f"{' results' if options.get('results') else ''}: split in memory (--no-stream)")
    image_dir = Path(images) if images is not None else None
    if name == "tfrecord" and image_dir is None:
        raise FormatError("the TFRecord writer needs the image files: pass the images folder (--images)")
    mode = images_mode_of(name, image_dir, images_mode)
    options = layout_options(name, options)
    strict = check_strict(strict)
    report = report if report is not None else Report()
    opts = {"tmp_dir": tmp_dir} if tmp_dir else {}
    s = stream(src, "coco", **opts)
    watch = None
    if name != "coco" or image_dir is not None:  # a COCO split without images: the parts as they come
        from .split_write import SplitWatch

        looks = image_dir if name == "tfrecord" or mode != "none" else None
        watch = SplitWatch(list(s.labels), looks)
        s.assets = watch.watch(s.assets)
    table = label_table(s)
    result = split_table(table.classes, table.counts, ratios, seed=seed, method=method, time_limit=time_limit,
                         presence=presence, dataset=table)
    with output_dir(dst, "split", overwrite=overwrite) as staging:
        if name == "tfrecord":
            from .split_write import write_split_records

            write_split_records(src, Path(staging), dst, result, table.labels, watch, image_dir,  # type: ignore[arg-type]
                                report, options, skip_missing=skip_missing_images, progress=progress)
        elif name == "coco" and watch is not None:
            from .split_write import write_split_coco

            write_split_coco(src, Path(staging), result, watch, image_dir, mode, report,  # type: ignore[arg-type]
                             {k: v for k, v in options.items() if k != "results"}, skip_missing=skip_missing_images)
        elif watch is not None:
            from .split_write import write_split_layout

            write_split_layout(src, Path(staging), name, result, watch, image_dir, mode, report, options,
                               skip_missing=skip_missing_images)
        else:
            from .split_write import coco_parts

            coco_parts(stream(src, "coco", **opts), Path(staging), result.names, result.index.tolist(), report,
                       {k: v for k, v in options.items() if k != "results"})
        (Path(staging) / "split.json").write_bytes(result.to_json().encode())
        if report.refuses(strict):
            raise LossyConversionError(report, strict)
    return result


def _only(assets: Iterator[Asset], keep: list[bool]) -> Iterator[Asset]:
    for asset, k in zip(assets, keep):
        if k:
            yield asset
