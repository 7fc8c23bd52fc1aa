"""`rasterise` of a COCO file larger than memory: masks painted shard by shard, the same PNGs as in memory.

The stream gives the labels first (the legend and the pixel values), then the assets; each is placed by the
in-memory rasterise's own `rasterise.Planner` (size from the header or a mask, a safe and unique mask path),
painted by the same `rasterise.paint_shard` (this process, the local pool or Dask) and written as it comes;
``instances.csv`` is written row by row. Held: the labels, the mask paths taken (to keep them unique) and a
few shards in flight.

Example:
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "masks")
    >>> r = rasterise_stream("fixtures/sahi_coco/coco_utils/terrain2_coco.json", out)
    >>> r.stats["images"], sorted(os.listdir(out))
    (1, ['.picsellia-formats.json', 'labels.txt', 'terrain2.png'])
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import FormatError, OptionError, PicselliaFormatsError
from ..model import Asset
from ..outputs import output_dir
from ..report import Report
from .api import stream

#: assets per shard sent to a worker
SHARD = 64


def rasterise_stream(
    path: str | os.PathLike[str],
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
    """`rasterise.rasterise` of the COCO file `path`, streamed: the same files in `out`, the same report.

    Raises FormatError for a source that cannot be streamed, or an object whose label the file does not
    declare (the in-memory rasterise appends such labels to the legend: run it with ``--no-stream``).
    """
    from ..engines import check_engine
    from ..progress import bar
    from ..rasterise import (
        INSTANCES_HEADER,
        KINDS,
        Planner,
        finish_report,
        instance_rows,
        legend,
        light,
        paint,
    )

    if kind not in KINDS:
        raise OptionError(f"kind must be semantic or instance, got {kind!r}")
    engine = check_engine(engine)
    report = report if report is not None else Report()
    s = stream(path, report=report)
    labels = [label.name for label in s.labels]
    label_index = {name: i for i, name in enumerate(labels, start=1)}
    if kind == "semantic" and len(labels) > 65535:
        raise PicselliaFormatsError(f"{len(labels)} labels do not fit in a 16-bit PNG")
    planner = Planner(images)
    counted = {"items": 0, "objects": 0}
    with output_dir(out, "rasterise", overwrite=overwrite) as tmp:
        rows = open(tmp / "instances.csv", "w", encoding="utf-8", newline="") if kind == "instance" else None
        writer = csv.writer(rows, lineterminator="\n") if rows is not None else None
        if writer is not None:
            writer.writerow(INSTANCES_HEADER)

        def shards() -> Iterator[list[tuple[Asset, str]]]:
            shard: list[tuple[Asset, str]] = []
            for n, asset in enumerate(s.assets):
                for ann in asset.annotations:
                    if ann.label not in label_index:
                        raise FormatError(f"label {ann.label!r} is not among the file's categories: rasterise it "
                                          "without streaming (--no-stream)", file=s.path, record=asset.file_name)
                item = planner.place(n, asset)
                if item is None:
                    continue
                painted = light(item[0], boxes)
                counted["items"] += 1
                counted["objects"] += len(painted.annotations)
                if writer is not None:
                    writer.writerows(instance_rows([item], boxes))
                shard.append((painted, item[1]))
                if len(shard) == SHARD:
                    yield shard
                    shard = []
            if shard:
                yield shard

        try:
            context = (label_index, kind, boxes, kind == "instance" or len(labels) < 256)
            with bar(s.n_assets, "rasterising", quiet=not progress, unit="image") as b:
                skipped = paint(shards(), Path(tmp), context, jobs=jobs, engine=engine, scheduler=scheduler, bar=b)
        finally:
            if rows is not None:
                rows.close()
        planner.finish(report)
        (tmp / "labels.txt").write_text(legend(labels), encoding="utf-8")
    finish_report(report, skipped, planner.renamed, counted["items"], counted["objects"])
    return report
