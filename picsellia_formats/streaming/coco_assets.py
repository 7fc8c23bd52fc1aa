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
from ..formats.coco.read import parse_annotations, parse_categories, parse_images
from ..io_utils import gc_paused
from ..model import Asset, Label
from ..report import Report
from .coco_source import CocoSource

BATCH_IMAGES = 2000
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
    problems.raise_if_any()
    meta = dict(src.meta)
    return CocoStream(labels, {"coco": meta}, _assets(src, labels_by_id, problems, report, batch_images),
                      src.n_images, src.n_annotations, src.has_shapes)


def _assets(src: CocoSource, labels_by_id: dict[Any, str], problems: _OffsetProblems, report: Report,
            batch_images: int) -> Iterator[Asset]:
    with src:
        n_images = n_anns = 0
        for images, anns in src.batches(batch_images):
            with gc_paused():
                problems.offset = n_images
                assets, by_id = parse_images(images, problems)
                if anns and isinstance(anns[0], dict) and "segments_info" in anns[0]:
                    raise FormatError("COCO panoptic cannot be read as a stream (its objects are in PNGs): "
                                      "convert in memory (--no-stream)", file=src.path)
                parse_annotations(anns, by_id, labels_by_id, problems, report, start=n_anns)
            problems.raise_if_any()
            n_images += len(images)
            n_anns += len(anns)
            yield from assets
