"""Model assets from a streamed COCO file, validated like the in-memory reader, batch by batch.

`CocoSource` gives raw image groups; this turns each batch of them into `Asset`s with the in-memory
reader's own record checks (`formats.coco`'s parsers), so the streaming and in-memory paths keep, refuse and
report the same things. Problems are raised per batch (a FormatError naming the file and the records); a
sink being fed is then aborted, so nothing half-written survives.

Example:
    >>> stream = stream_coco("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
    >>> [label.name for label in stream.labels], sum(len(a.annotations) for a in stream.assets)
    (['cat'], 12)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FormatError, ProblemCollector
from ..formats.coco.parse import parse_categories, parse_images
from ..formats.coco.records import parse_records
from ..inputs import text_problem
from ..io_utils import gc_paused
from ..model import Asset, Label
from ..report import Report
from .coco_source import TYPED_RECORDS, CocoSource, WideIntegerError

BATCH_IMAGES = 250  # images per batch: their objects stay in the CPU cache (100k -> YOLO: 2,000 -> 6.1 s, 250 -> 5.5 s)
_IMAGE_RECORD = re.compile(r"^image\[(\d+)\]")


class _OffsetProblems(ProblemCollector):
    """Names image records by their index in the file, not in the batch."""

    offset = 0

    def add(self, record: str | None, message: str) -> None:
        if record and self.offset:
            record = _IMAGE_RECORD.sub(lambda m: f"image[{int(m.group(1)) + self.offset}]", record)
        super().add(record, message)


@dataclass
class CocoStream:
    """Labels and COCO metadata (known before the first asset), then the assets, once."""

    labels: list[Label]
    metadata: dict[str, Any]
    assets: Iterator[Asset] = field(repr=False)
    n_assets: int = 0
    n_annotations: int = 0
    has_shapes: bool = False  # some annotation has a non-empty segmentation


def stream_coco(path: str | Path, *, report: Report | None = None, batch_images: int = BATCH_IMAGES,
                **source_options: Any) -> CocoStream:
    """Open a COCO instances file for streaming: labels and metadata now, assets as they are iterated."""
    report = report if report is not None else Report()
    src = CocoSource(path, **source_options)
    src.scan()
    problems = _OffsetProblems(src.path)
    labels, labels_by_id = parse_categories(src.categories, problems, report)
    for label in labels:  # what `inputs.check_names` refuses after an in-memory read, in its words
        why = text_problem(label.name)
        if why:
            problems.add(f"label {label.name!r:.80}", f"name {why}")
    problems.raise_if_any()
    meta = dict(src.meta)
    return CocoStream(labels, {"coco": meta}, _assets(src, labels_by_id, problems, report, batch_images),
                      src.n_images, src.n_annotations, src.has_shapes)


def _assets(src: CocoSource, labels_by_id: dict[Any, str], problems: _OffsetProblems, report: Report,
            batch_images: int) -> Iterator[Asset]:
    with src:
        n_images = n_anns = 0
        order = None if src.sorted or not src.n_annotations else _file_order(src)
        for images, anns in _checked(src.batches(batch_images, TYPED_RECORDS), src.path):
            with gc_paused():
                problems.offset = n_images
                assets, by_id = parse_images(images, problems)
                if anns and anns[0].__class__ is dict and "segments_info" in anns[0]:
                    raise FormatError("COCO panoptic cannot be read as a stream (its objects are in PNGs): "
                                      "convert in memory (--no-stream)", file=src.path)
                numbers = range(n_anns, n_anns + len(anns)) if order is None else order[n_anns:n_anns + len(anns)]
                parse_records(anns, by_id, labels_by_id, problems, report, numbers)
                _check_file_names(assets, n_images, problems)
            problems.raise_if_any()
            n_images += len(images)
            n_anns += len(anns)
            yield from assets


def _check_file_names(assets: list[Asset], first: int, problems: ProblemCollector) -> None:
    """A NUL or a lone surrogate in a file name, named as `inputs.check_names` names it (one test per batch)."""
    if not text_problem("".join([a.file_name for a in assets])):
        return
    for i, asset in enumerate(assets, first):
        why = text_problem(asset.file_name)
        if why:
            problems.add(f"image {i} ({asset.file_name!r:.80})", f"file name {why}")


def _checked(batches: Iterator[Any], path: Path) -> Iterator[Any]:
    try:
        yield from batches
    except WideIntegerError:
        raise FormatError("an annotation holds an integer outside 64 bits: no format or platform field can hold "
                          "it (convert in memory, --no-stream, for the record's name)", file=path) from None


def _file_order(src: CocoSource) -> list[int]:
    """Each annotation's index in the file, in the order the batches give them (the images'): what the
    reader's messages name, as in memory."""
    import numpy as np

    positions = np.frombuffer(src.annotation_positions, dtype=np.int32)
    return np.argsort(positions, kind="stable").tolist()
