"""The library API: read, write and convert through the format registry.

Example:
    >>> import tempfile, pathlib
    >>> import picsellia_formats as pf
    >>> ds = pf.read("fixtures/picsellia_coco_det/annotations.json")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "copy.json"
    >>> report = pf.write(ds, out, "coco")
    >>> pf.read(out).num_annotations
    330
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from . import formats
from .errors import FormatError, LossyConversionError
from .format_options import check_options
from .formats.capabilities import report_for_spec
from .inputs import check_input, check_names
from .model import Dataset
from .outputs import output_dir, output_file, transaction
from .report import Report, check_strict


def read(
    path: str | os.PathLike[str],
    format: str | None = None,  # noqa: A002
    *,
    images: str | os.PathLike[str] | None = None,
    report: Report | None = None,
    progress: bool = False,
    **options: Any,
) -> Dataset:
    """Read `path` into a `Dataset`, detecting the format when `format` is None.

    `images` is the folder of the image files, for formats that need it (sizes, unannotated
    images). Format options (e.g. ``ground_truth=`` for COCO results) pass through. `progress`
    shows a bar on stderr when it is a terminal, for the readers that have one (many files, or
    many objects).
    Raises FormatError (bad content, or no such file or folder), DetectionError (unknown format) or
    OptionError (an option the format does not take, or a value outside its choices).
    """
    path = Path(path)
    check_input(path)  # a FIFO, device or dangling link: refused by name before anything reads it
    if not path.exists():
        raise FormatError("no such file or folder", file=path)
    name = format or formats.detect(path)
    spec = formats.get(name)
    check_options(spec.name, spec.read_options, options, "read")
    dataset = spec.read(path, images=Path(images) if images else None,
                        report=report if report is not None else Report(), progress=progress, **options)
    check_names(dataset, path)  # NUL or a lone surrogate in a name: FormatError naming it, before any writer
    return dataset


def write(
    dataset: Dataset,
    path: str | os.PathLike[str],
    format: str,  # noqa: A002
    *,
    images: str | os.PathLike[str] | None = None,
    report: Report | None = None,
    strict: bool | str = False,
    progress: bool = False,
    overwrite: bool = False,
    **options: Any,
) -> Report:
    """Write `dataset` to `path` in `format`, atomically; return the fidelity report.

    A file format given an existing folder writes ``<folder>/<default file name>``. The output
    appears only once complete. `strict=True` (or ``"annotations"``): a conversion that loses
    annotation data (objects, geometry, labels, attributes, Q&A, statuses, scores) raises
    LossyConversionError and writes nothing; ``strict="all"`` also refuses format metadata with no
    place in the target (VOC header fields, COCO info/licenses). What the dataset holds that the
    format cannot is reported once, from the format's declaration (`FormatSpec.holds`).
    `progress`: a bar on stderr when it is a terminal, for the writers that have one.
    Raises FormatError (the format cannot be written, or the data cannot go in it), OptionError (an
    option the format does not take, or a value outside its choices) or LossyConversionError.
    Output policy (`picsellia_formats.outputs`): an existing non-empty file, or a non-empty folder
    that is not a previous output of this format, raises OutputExistsError unless `overwrite`; a
    folder is replaced whole (no stale file of an earlier run survives).
    """
    spec = formats.get(format)
    if spec.write is None:
        raise FormatError(f"format {spec.name} cannot be written")
    check_options(spec.name, spec.write_options, options, "write")
    strict = check_strict(strict)
    report = report if report is not None else Report()
    report_for_spec(spec, dataset, options, report)
    options = {**options, "progress": progress}
    path = Path(path)
    image_dir = Path(images) if images else None
    output = spec.output_for(dataset, path, options) if spec.output_for is not None else spec.output
    if output == "file":
        if path.is_dir():
            path = path / spec.default_file_name
        with output_file(path, overwrite=overwrite) as tmp:
            spec.write(dataset, tmp, images=image_dir, report=report, **options)
            if report.refuses(strict):
                raise LossyConversionError(report, strict)
    else:
        with output_dir(path, spec.name, overwrite=overwrite) as tmp:
            spec.write(dataset, tmp, images=image_dir, report=report, **options)
            if report.refuses(strict):
                raise LossyConversionError(report, strict)
    return report


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    to: str,
    *,
    from_: str | None = None,
    images: str | os.PathLike[str] | None = None,
    strict: bool | str = False,
    read_options: dict[str, Any] | None = None,
    write_options: dict[str, Any] | None = None,
    progress: bool = False,
    overwrite: bool = False,
    stream: bool | None = None,
    keep: list[Any] | None = None,
) -> Report:
    """Read `src` (format detected unless `from_`), write it to `dst` as `to`; return the report.

    `stream`: move the assets one at a time (`picsellia_formats.streaming`: bounded memory, the same
    output); None chooses it for a COCO source of `STREAM_ABOVE` bytes or more when the target and options
    allow it; True raises FormatError/OptionError when they do not. `keep`: a list the in-memory dataset is
    appended to, so that it is not freed on return (the CLI does so before ending its process at once).

    `progress`: bars on stderr when it is a terminal (see `read`). `overwrite`: see `write`; side
    outputs of the reader (``extract_images``) are put in place only if the whole conversion succeeds.

    The report's ``stats`` hold ``source_format``, ``assets``, ``annotations``, ``labels`` and
    ``seconds``.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "out.json"
        >>> r = convert("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON", out, "coco")
        >>> r.stats["assets"], r.stats["annotations"], r.lossy
        (10, 12, False)
    """
    t0 = time.perf_counter()
    report = Report()
    src_path = Path(src)
    name = from_ or formats.detect(src_path)
    done = _transcode(src_path, dst, name, to, report, stream, images, strict, read_options, write_options, progress,
                      overwrite, keep)
    if done is not None:
        n_images, n_annotations, n_labels = done
        report.stats.update(source_format="coco", target_format="coco", assets=n_images, annotations=n_annotations,
                            labels=n_labels, seconds=round(time.perf_counter() - t0, 3), streamed=bool(stream))
        return report
    if stream is None:
        stream = streamable(src_path, name, to, read_options, write_options) and \
            src_path.stat().st_size >= STREAM_ABOVE
    if stream:
        from .streaming.api import stream as open_stream
        from .streaming.api import write_stream

        with transaction(overwrite=overwrite):
            s = open_stream(src_path, name, report=report, **(read_options or {}))
            write_stream(s, dst, to, images=images, report=report, strict=strict, progress=progress,
                         overwrite=overwrite, **(write_options or {}))
        report.stats.update(source_format=formats.get(name).name, target_format=formats.get(to).name,
                            assets=s.n_assets, annotations=s.n_annotations, labels=len(s.labels),
                            seconds=round(time.perf_counter() - t0, 3), streamed=True)
        return report
    with transaction(overwrite=overwrite):
        dataset = read(src_path, name, images=images, report=report, progress=progress, **(read_options or {}))
        if keep is not None:
            keep.append(dataset)
        if images is None and formats.get(name).name == formats.get(to).name == "tfrecord":
            images = src_path  # TFRecord -> TFRecord: the records hold the images
        write(dataset, dst, to, images=images, report=report, strict=strict, progress=progress,
              overwrite=overwrite, **(write_options or {}))
    report.stats.update(
        source_format=formats.get(name).name,
        target_format=formats.get(to).name,
        assets=len(dataset.assets),
        annotations=dataset.num_annotations,
        labels=len(dataset.labels),
        seconds=round(time.perf_counter() - t0, 3),
    )
    return report


def _transcode(src: Path, dst: Any, source: str, target: str, report: Report, stream: bool | None, images: Any,
               strict: bool | str, read_options: dict[str, Any] | None, write_options: dict[str, Any] | None,
               progress: bool, overwrite: bool, keep: list[Any] | None) -> tuple[int, int, int] | None:
    """COCO -> COCO on the typed record path (`streaming.coco_transcode`), or None for the general path."""
    from .streaming.coco_transcode import Ineligible, transcodable, transcode

    if not transcodable(formats.get(source).name, formats.get(target).name, src, read_options, write_options,
                        images):
        return None
    try:
        with transaction(overwrite=overwrite):
            return transcode(src, dst, report=report, strict=strict, overwrite=overwrite, progress=progress,
                             stream=bool(stream), keep=keep, **(write_options or {}))
    except Ineligible:
        return None


#: `convert` streams a COCO source of this many bytes or more (see docs/scale.md for the measurement).
STREAM_ABOVE = 256 << 20


def streamable(src: Path, source: str, target: str, read_options: dict[str, Any] | None,
               write_options: dict[str, Any] | None) -> bool:
    """Whether `convert` can stream `src` (a `source` file) to `target` with these options."""
    from .streaming.api import file_split

    read_options = {k: v for k, v in (read_options or {}).items() if v is not None}
    write_options = write_options or {}
    return (formats.get(source).name == "coco" and src.is_file() and not read_options and file_split(src) is None
            and formats.get(target).name in ("coco", "yolo", "voc")
            and not write_options.get("results"))
