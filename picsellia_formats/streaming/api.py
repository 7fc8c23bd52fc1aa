"""`stream` and `write_stream`: a dataset met one asset at a time, from a reader to a writer, memory bounded.

The in-memory path reads a whole `Dataset`, then writes it. A stream gives the labels and the dataset's
metadata first, then the assets once, in the source's order; a streamed writer consumes them as they come
and gives the same bytes and the same report entries as the in-memory writer.

What streams (and why the rest does not, yet):

- read: COCO instances files (two chunked passes, `coco_source`). COCO results lists need their ground
  truth file merged in memory; Pascal VOC has no label list (labels are known only after every XML is
  read); YOLO, Picsellia JSON, TFRecord, LabelMe, CreateML, CVAT and Label Studio are read in memory.
- write: COCO (`coco_sink`: the image list must precede the annotations in the file, so both are spooled to
  temporary files and assembled at the end), YOLO and Pascal VOC (one file per asset). Not from a stream:
  COCO results lists, VOC segmentation PNGs (their palette needs every object first), and the other
  formats (their writers take a `Dataset`).

Example:
    >>> import tempfile, os
    >>> s = stream("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
    >>> s.n_assets, s.n_annotations, [label.name for label in s.labels]
    (10, 12, ['cat'])
    >>> out = os.path.join(tempfile.mkdtemp(), "yolo")
    >>> report = write_stream(s, out, "yolo")
    >>> len(os.listdir(os.path.join(out, "labels")))
    10
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import formats
from ..errors import FormatError, LossyConversionError, OptionError
from ..format_options import check_options
from ..formats.capabilities import tally_for_spec
from ..inputs import check_input
from ..model import Asset, Dataset, Label
from ..outputs import output_dir, output_file
from ..report import Report, check_strict

#: Formats a stream can be read from, and written to.
STREAM_SOURCES = ("coco",)
STREAM_TARGETS = ("coco", "yolo", "voc")


@dataclass
class AssetStream:
    """Labels and metadata (known before the first asset), then the assets, once.

    `n_assets` and `n_annotations` are known up front; `has_shapes` (some object is a polygon or a mask)
    and `any_split` (some asset has a split tag) are what a writer choosing its layout needs first.
    """

    format: str
    labels: list[Label]
    metadata: dict[str, Any]
    assets: Iterator[Asset] = field(repr=False)
    n_assets: int = 0
    n_annotations: int = 0
    has_shapes: bool = False
    any_split: bool = False
    #: the split a COCO source file's name gives (``instances_val.json``): the in-memory reader tags its
    #: assets with it and writes its layout back, so such a stream is not written (`write_stream` refuses)
    file_split: str | None = None
    path: Path | None = None


def stream(path: str | os.PathLike[str], format: str | None = None, *,  # noqa: A002
           report: Report | None = None, **options: Any) -> AssetStream:
    """Open `path` for streaming (format detected unless given): labels now, assets when iterated.

    Raises FormatError when the format cannot be streamed (see the module docstring) or the file is bad;
    a bad record met while iterating raises FormatError then, naming the file and the record.
    """
    path = Path(path)
    if not path.exists():
        raise FormatError("no such file or folder", file=path)
    check_input(path)  # a FIFO, device or dangling link: refused by name before anything reads it
    name = formats.get(format or formats.detect(path)).name
    if name not in STREAM_SOURCES:
        raise FormatError(f"{name} cannot be read as a stream (streamed sources: {', '.join(STREAM_SOURCES)})",
                          file=path)
    if options.get("ground_truth"):
        raise OptionError("a COCO results list cannot be streamed (it is merged with its ground truth in "
                          "memory)")
    unknown = set(options) - {"ground_truth", "tmp_dir"}
    if unknown:
        raise OptionError(f"a streamed COCO read takes no option {', '.join(map(repr, sorted(unknown)))}")
    from .coco_assets import stream_coco

    tmp_dir = options.get("tmp_dir")
    s = stream_coco(path, report=report, **({"tmp_dir": tmp_dir} if tmp_dir else {}))
    return AssetStream("coco", s.labels, s.metadata, s.assets, s.n_assets, s.n_annotations, s.has_shapes,
                       file_split=file_split(path), path=path)


def file_split(path: Path) -> str | None:
    """The split a COCO file's name or folder names (``instances_val.json``): such a file is read in memory."""
    from ..formats.coco.split_files import split_of_file

    return split_of_file(path, path.parent.parent) if path.is_file() else None


def _no_image_labels(assets: Iterator[Asset], path: Path | None) -> Iterator[Asset]:
    """The assets; FormatError at an annotation without geometry (a COCO image label), which the in-memory
    COCO -> COCO write keeps (the dataset says so before writing) and a stream could only drop."""
    for asset in assets:
        for ann in asset.annotations:
            if not (ann.box or ann.polygon or ann.mask or ann.keypoints):
                raise FormatError("COCO annotations without geometry (image labels) cannot be written from a "
                                  "stream: convert in memory (--no-stream)", file=path, record=asset.file_name)
        yield asset


def write_stream(
    s: AssetStream,
    path: str | os.PathLike[str],
    format: str,  # noqa: A002
    *,
    images: str | os.PathLike[str] | None = None,
    report: Report | None = None,
    strict: bool | str = False,
    overwrite: bool = False,
    progress: bool = False,
    **options: Any,
) -> Report:
    """Write the assets of `s` to `path` as `format`, through the output policy; return the report.

    The same output as `picsellia_formats.write` of the whole dataset (see `picsellia_formats.write` for
    `overwrite` and `strict`). Raises FormatError for a format that cannot be written from a stream,
    OptionError for an option it cannot honour from one.
    """
    spec = formats.get(format)
    if spec.name not in STREAM_TARGETS:
        raise FormatError(f"{spec.name} cannot be written from a stream (streamed targets: "
                          f"{', '.join(STREAM_TARGETS)})")
    check_options(spec.name, spec.write_options, options, "write")
    if s.file_split is not None:
        raise FormatError("a COCO file named for a split cannot be written from a stream (its assets get that "
                          "split tag and its layout is written back): convert in memory (--no-stream)", file=s.path)
    report = report if report is not None else Report()
    strict = check_strict(strict)
    assets: Iterator[Asset] = s.assets
    if progress and s.n_assets > 1:
        from ..progress import track

        assets = track(assets, f"writing {spec.name}", total=s.n_assets, unit="image")
    path = Path(path)
    if spec.name == "coco":
        if options.get("results"):
            raise OptionError("a COCO results list is not written from a stream: convert in memory")
        from .coco_sink import CocoSink

        if path.is_dir():
            path = path / spec.default_file_name
        sink_options = {k: v for k, v in options.items() if v is not None and k != "results"}
        if s.format == "coco":
            assets = _no_image_labels(assets, s.path)
        with output_file(path, overwrite=overwrite) as tmp:
            with CocoSink(tmp, s.labels, s.metadata, report=report, **sink_options) as sink:
                sink.write(assets)
            if report.refuses(strict):
                raise LossyConversionError(report, strict)
        return report
    # what the target cannot hold, counted as the assets pass and worded once (formats.capabilities)
    cap_options = dict(options)
    if spec.name == "yolo" and cap_options.get("task") is None:
        given = (s.metadata.get("yolo") or {}).get("task")
        cap_options["task"] = given or ("segment" if s.has_shapes else "detect")
    unheld = tally_for_spec(spec, Dataset(labels=list(s.labels), metadata=s.metadata), cap_options)
    if unheld is not None:
        assets = unheld.watch(assets)
    with output_dir(path, spec.name, overwrite=overwrite) as tmp:
        if spec.name == "yolo":
            from ..formats.yolo.write import write_stream as yolo_stream

            yolo_stream(s.labels, s.metadata, assets, tmp, has_shapes=s.has_shapes, any_split=s.any_split,
                        images=images, report=report, **options)
        else:
            from ..formats.voc.write import write_stream as voc_stream

            voc_stream(s.labels, s.metadata, assets, tmp, images=images, report=report, **options)
        if unheld is not None:
            unheld.report_to(report, s.labels, s.metadata)
        if report.refuses(strict):
            raise LossyConversionError(report, strict)
    return report
