"""`validate`: run the rules over a dataset (or a file) and return the report.

Example:
    >>> import picsellia_formats as pf
    >>> report = pf.validate("fixtures/sahi_coco/coco_utils/terrain2_coco.json",
    ...                      images="fixtures/sahi_coco/coco_utils")
    >>> report.failed("error"), sorted(report.codes())
    (False, ['area-mismatch', 'class-few-objects', 'image-not-in-dataset'])
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from .. import formats
from ..errors import OptionError
from ..model import Dataset
from .answers import check_schema
from .context import Context, Options, Source
from .dataset_rules import check_distribution, check_labels
from .findings import FindingSink, ValidationReport
from .imagefiles import ImageProbe
from .objects import scan
from .rules import RULES, select
from .salvage import read_for_validation

_OPTION_NAMES = frozenset(f.name for f in fields(Options))
_IMAGE_CODES = frozenset(c for c, r in RULES.items() if r.category == "images")


def validate(
    dataset: Dataset | str | os.PathLike[str],
    images: str | os.PathLike[str] | None = None,
    rules: Iterable[str] | str | None = None,
    *,
    skip: Iterable[str] | str | None = None,
    format: str | None = None,  # noqa: A002
    source: Source | None = None,
    options: Options | None = None,
    read_options: dict[str, Any] | None = None,
    progress: bool = False,
    keep: int | None = None,
    sink: FindingSink | None = None,
    **option_values: Any,
) -> ValidationReport:
    """Check `dataset` (a `Dataset`, or a path read with `format`, detected when None) for defects.

    `images`: the folder of the image files (their checks run only when given). `rules`: codes or
    categories to run (default all); `skip`: codes or categories to leave out. Thresholds and
    switches are `Options` fields, given as `options` or as keywords (``min_objects=5``).
    A path input (read with `read_options`) records each finding's source file and record;
    FormatError if it cannot be read. `progress`: bars on stderr when it is a terminal (reading,
    image checks).
    The report keeps the dataset it checked as ``report.dataset`` (what `fix` corrects).
    `keep`: findings held per code (None: all, what `fix` needs; the counts are exact either way);
    `sink`: gets every finding as it is found (`picsellia_formats.validation.sink.FindingsFile`).
    """
    t0 = time.perf_counter()
    unknown = set(option_values) - _OPTION_NAMES
    if unknown:
        raise OptionError(f"validate() takes no option {', '.join(sorted(unknown))}; options: "
                        f"{', '.join(sorted(_OPTION_NAMES))}")
    opts = Options(**{**(options.__dict__ if options else {}), **option_values})
    enabled = select(rules, skip)
    pre: list[Any] = []
    if not isinstance(dataset, Dataset):
        path = Path(dataset)
        fmt = format or formats.detect(path)
        dataset, pre, file = read_for_validation(path, fmt, images, read_options, progress)
        source = Source(formats.get(fmt).name, file)
    ctx = Context(dataset, opts, enabled, source, ValidationReport(keep=keep, sink=sink))
    # images whose asset the reader left out (their own finding names them) are not "not in the dataset"
    ctx.left_out = frozenset(os.path.normpath(f.file) for f in pre if f.file and f.data and f.data.get("dropped"))
    report = ctx.report
    report.extend(f for f in pre if f.code in enabled)
    probe = ImageProbe(ctx, images, progress) if images is not None else None
    if probe is not None:
        probe.start()
    try:
        counted = scan(ctx)
        check_schema(ctx)
        check_labels(ctx, counted.label_counts)
        check_distribution(ctx, counted.label_counts, counted.empty_assets)
    finally:
        facts = probe.finish() if probe is not None else {}
    report.image_facts = facts
    report.dataset = dataset
    report.salvaged = pre
    report.options = {**opts.to_dict(), "rules": sorted(enabled)}
    report.stats = {
        "assets": len(dataset.assets),
        "objects": counted.objects,
        "labels": len(dataset.labels),
        "images_checked": sum(f.status != "missing" for f in facts.values()) if probe is not None else None,
        "source": str(source.path) if source and source.path else None,
        "format": source.format if source else None,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return report
