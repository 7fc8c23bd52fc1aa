"""COCO -> COCO without the model: records typed in C, rewritten in the writer's form, streamed or whole.

`convert` COCO -> COCO (default options) takes this path first: `CocoSource` gives the images and the
annotations in the images' order, `formats.coco.records` decodes the annotations typed (msgspec) and writes
them as `formats.coco.write` would, and `CocoSink` assembles the file. The output and the report are those of
the general path (tests compare them byte for byte). `Ineligible` (raised before the destination is touched)
sends `convert` to the general path: annotations out of the images' order, records the typed path does not
cover, anything the general reader refuses (it names what is wrong).

Example:
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "a.json")
    >>> report = Report()
    >>> transcode("fixtures/picsellia_coco_det/annotations.json", out, report=report)
    (19, 330, 1)
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import LossyConversionError, OptionError, ProblemCollector
from ..formats._json_files import has_long_digits
from ..formats.coco.parse import parse_categories
from ..formats.coco.read import FILE_SPLIT_INFO
from ..formats.coco.records import Ineligible, RecordEncoder
from ..inputs import text_problem
from ..io_utils import gc_paused
from ..outputs import output_file
from ..report import Report, check_strict
from .coco_sink import CocoSink
from .coco_source import TYPED_RECORDS, CocoSource, WideIntegerError
from .coco_whole import WholeCoco

BATCH_IMAGES = 250  # images per batch: its objects stay in the CPU cache (100k: 250 -> 3.6 s, 4,000 -> 4.4 s)
#: write options the typed path honours (any other value: the general path)
_OPTIONS = {"segmentation": ("keep", None), "category_id_start": None}


#: orjson's TypeErrors for a value it cannot write (the general reader names such values)
_UNWRITABLE = ("str is not valid UTF-8", "Integer exceeds 64-bit range")


def transcodable(source: str, target: str, src: Path, read_options: dict[str, Any] | None,
                 write_options: dict[str, Any] | None, images: Any) -> bool:
    """Whether `convert` may try the typed path (COCO file -> COCO file, options it honours)."""
    if source != "coco" or target != "coco" or images is not None or not src.is_file():
        return False
    if any(v is not None for v in (read_options or {}).values()):
        return False
    for key, value in (write_options or {}).items():
        if value is None:
            continue
        if key not in _OPTIONS or (_OPTIONS[key] is not None and value not in _OPTIONS[key]):
            return False
    return True


def transcode(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, report: Report,
              strict: bool | str = False, overwrite: bool = False, progress: bool = False, stream: bool = False,
              category_id_start: int | None = None, keep: list[Any] | None = None, **_: Any
              ) -> tuple[int, int, int]:
    """Convert COCO file `src` to COCO file `dst` on the typed path; return (images, annotations, labels).

    With `stream`, memory is bounded (`CocoSource`: two chunked passes, batches of images) when the
    annotations come in the images' order, as most exporters write them; when they do not, Ineligible (the
    general stream spills them to disk). Without, the file is parsed once, whole (`WholeCoco`: the in-memory
    path's memory, less: no model), and out-of-order annotations are put in the images' order.
    Raises Ineligible, with `dst` untouched and `report` unchanged, when the general path must do it.
    """
    from .api import file_split

    src, dst = Path(src), Path(dst)
    strict = check_strict(strict)
    if dst.is_dir() and file_split(src) is not None:
        raise Ineligible("a file named for a split written to a folder (the general writer gives that layout)")
    try:
        return _transcode(src, dst, report, strict, overwrite, progress, stream, category_id_start, keep)
    except (OptionError, LossyConversionError):  # the output policy or --strict: the general path would say so too
        raise
    except (ValueError, RecursionError, WideIntegerError) as exc:  # FormatError, NaN, nesting, a wide integer...
        raise Ineligible(f"the general reader names what is wrong: {exc}") from None


def _transcode(src: Path, dst: Path, report: Report, strict: bool | str, overwrite: bool, progress: bool,
               stream: bool, category_id_start: int | None, keep: list[Any] | None) -> tuple[int, int, int]:
    from .api import file_split

    mine = Report()
    with (CocoSource(src) if stream else WholeCoco(src)) as source:
        source.scan()
        if stream and not source.sorted:
            raise Ineligible("annotations not in the images' order (the general stream spills them to disk)")
        _check_wide_integers(source)
        problems = ProblemCollector(src)
        labels, labels_by_id = parse_categories(source.categories, problems, mine)
        if problems.count or any(text_problem(label.name) for label in labels):
            raise Ineligible("categories the general reader refuses")
        if file_split(src) is not None:  # the reader tags every asset; one output file drops the tag unsaid
            mine.info(FILE_SPLIT_INFO, source.n_images, why=src.name)
        if dst.is_dir():
            dst = dst / "annotations.json"
        try:
            with output_file(dst, overwrite=overwrite) as tmp:
                with CocoSink(tmp, labels, {"coco": dict(source.meta)}, report=mine,
                              category_id_start=category_id_start or 1, refuse_image_labels=True,
                              source=src) as sink:
                    _copy(source, sink, labels_by_id, progress)
                if mine.refuses(strict):
                    raise LossyConversionError(mine, strict)
        except (TypeError, UnicodeEncodeError) as exc:
            if isinstance(exc, TypeError) and not str(exc).startswith(_UNWRITABLE):
                raise
            raise Ineligible(f"a value the general path names: {exc}") from None  # a lone surrogate...
    report.merge(mine)
    if keep is not None:
        keep.append(source)  # not freed on return (the CLI ends its process at once); never on Ineligible
    return source.n_images, source.n_annotations, len(labels)


def _copy(source: CocoSource | WholeCoco, sink: CocoSink, labels_by_id: dict[Any, str], progress: bool) -> None:
    ann_report, counts = sink.annotation_report
    encoder = RecordEncoder(labels_by_id, sink.category_ids, ann_report, counts)
    with gc_paused(), _bar(source, progress) as b:
        for images, records, positions, numbers in _batches(source):
            written = writer_images(images)
            if records:
                body, ids = encoder.encode(records, numbers)
                sink.add_records(written, body, ids, positions)
                b.update(len(records))
            else:
                sink.add_records(written, b"", [], ())


def _bar(source: CocoSource | WholeCoco, progress: bool) -> Any:
    """A bar over the annotations, read and written at once, when asked (tqdm is imported only then)."""
    if not progress or source.n_annotations < 2:
        return _NoBar()
    from ..progress import bar

    return bar(source.n_annotations, f"{source.path.name} -> COCO", unit="object")


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, n: int) -> None:
        pass


def _batches(source: CocoSource | WholeCoco) -> Iterator[tuple[list[Any], list[Any], Any, Any]]:
    """(images, their annotation records, each record's image position, each one's index in the file) by runs
    of images, in the images' order."""
    if source.n_annotations == 0:
        for images in source.image_runs(BATCH_IMAGES):
            yield images, [], (), ()
        return
    positions = source.annotation_positions
    if source.sorted:
        taken = 0
        for images, records in source.batches(BATCH_IMAGES, TYPED_RECORDS):
            yield images, records, positions[taken:taken + len(records)], range(taken, taken + len(records))
            taken += len(records)
        return
    # out of order: every record held, put in the images' order (stable: file order within an image)
    read = [r for chunk in source.annotation_chunks(TYPED_RECORDS) for r in chunk]
    order = sorted(range(len(read)), key=positions.__getitem__)
    records = [read[i] for i in order]
    del read
    ordered = [positions[i] for i in order]
    end = seen = 0
    for images in source.image_runs(BATCH_IMAGES):
        seen += len(images)  # images so far: this run's records are those of a position below
        start, end = end, bisect_left(ordered, seen, end)
        yield images, records[start:end], ordered[start:end], order[start:end]


def writer_images(images: list[Any]) -> list[dict[str, Any]]:
    """The COCO writer's image dicts of `images` (ids as read); Ineligible for a record it would change.

    Example:
        >>> writer_images([{"file_name": "a.jpg", "height": 2, "id": 1, "width": 3, "license": 4}])
        [{'id': 1, 'file_name': 'a.jpg', 'width': 3, 'height': 2, 'license': 4}]
    """
    out = []
    append = out.append
    for im in images:
        if im.__class__ is not dict:
            raise Ineligible("an image record that is not an object")
        fn, w, h = im.get("file_name"), im.get("width"), im.get("height")
        if fn.__class__ is not str or not fn or w.__class__ is not int or h.__class__ is not int or w < 0 or h < 0:
            raise Ineligible("an image record the typed path does not cover (size missing or not an integer)")
        d = {"id": im["id"], "file_name": fn, "width": w, "height": h}
        if len(im) > 4:
            for k, v in im.items():
                if k not in d:
                    d[k] = v
        append(d)
    names = "".join([d["file_name"] for d in out])
    if "\x00" in names or text_problem(names):
        raise Ineligible("a file name the general reader refuses")
    return out


def _check_wide_integers(source: CocoSource) -> None:
    """Ineligible when a value outside the annotations holds a 19-digit run (orjson would read a wider
    integer as a float; the annotations' own integers are bounded by their types)."""
    with open(source.path, "rb") as f:
        for key, (start, end) in source.spans.items():
            if key == "annotations" or end is None:
                continue
            f.seek(start)
            left = end - start
            tail = b""
            while left > 0:
                block = f.read(min(left, 1 << 24))
                if not block:
                    break
                left -= len(block)
                if has_long_digits(tail + block):
                    raise Ineligible(f"a wide integer in {key!r}")
                tail = block[-18:]
