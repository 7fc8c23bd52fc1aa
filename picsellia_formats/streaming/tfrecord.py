"""OD API TFRecords from a stream: a COCO file larger than memory, encoded batch by batch, memory bounded.

The same records, shards and report as `formats.tfrecord.write.write_tfrecords` of the whole dataset:
jobs are built per batch of assets (`jobs.JobBuilder`), encoded by the same `sets.Encoder` (local pool or
Dask, a few chunks in flight) and written to their set in the stream's order. Held: the labels, one
record set per split met, counters and at most ``BATCH`` assets.

Two choices of the in-memory writer depend on the whole dataset: whether every record carries the Pascal
fields (some object has ``truncated`` or ``pose``) and the image classes (some image has a label without
geometry). The stream starts without them; when an asset needing one comes, it starts again from the
source with it on (at most twice; the temporary shards of the first run are deleted), so the bytes stay
those of the in-memory writer.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "terrain.record"
    >>> result = write_tfrecords_stream("fixtures/sahi_coco/coco_utils/terrain2_coco.json", out,
    ...                                 images="fixtures/sahi_coco/coco_utils", progress=False)
    >>> [p.name for p in result.paths], result.n_assets
    (['terrain.record'], 1)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import FormatError, OptionError, ProblemCollector
from ..model import Asset, Dataset
from ..outputs import check_file_set
from ..report import Report, check_strict
from ..splits import canonical_split, split_of, split_order
from ..tfod.labelmap import BACKGROUND, LabelMapItem, label_map_items
from .api import AssetStream, stream

BATCH = 2000


class StreamedRecords(NamedTuple):
    """What `write_tfrecords_stream` wrote: the shard files, and what the CLI says about the stream."""

    paths: list[Path]
    n_assets: int
    n_annotations: int
    #: the canonical split of every asset's split tags (None: untagged), as met
    splits: frozenset[str | None]


class _Restart(Exception):
    """An asset needs a record field every earlier record should have carried."""

    def __init__(self, pascal: bool, classes: bool) -> None:
        super().__init__()
        self.pascal, self.classes = pascal, classes


def write_tfrecords_stream(
    source: str | os.PathLike[str],
    prefix: str | os.PathLike[str],
    *,
    images: Any = None,
    shards: int = 1,
    masks: bool = False,
    label_map: Sequence[LabelMapItem] | None = None,
    label_ids: str = "sequential",
    split_by_tag: bool = False,
    workers: int | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    report: Report | None = None,
    strict: bool | str = False,
    skip_missing: bool = False,
    skip_broken: bool = False,
    check_decode: str = "fast",
    max_pixels: int | None = -1,
    suffixed: bool = False,
    canonical_splits: bool = False,
    overwrite: bool = False,
    on_labels: Callable[[list[LabelMapItem]], None] | None = None,
    report_unheld: bool = True,
    prepare: Callable[[Iterator[Asset]], Iterator[Asset]] | None = None,
    reader_report: bool = True,
    pascal: bool = False,
    classes: bool = False,
    expected: tuple[int, int] | None = None,
) -> StreamedRecords:
    """Stream the COCO file `source` into OD API TFRecords at `prefix`.

    Every option is `write_tfrecords`'s, with its output policy, errors and report (the reader's entries
    too); the files are the same, byte for byte. `on_labels` is called with the label map's items once
    the labels are known, before anything is written (the CLI checks its label-map file there). Raises
    FormatError for a source that cannot be streamed here (a COCO file named for a split, an image
    without an id: write them with ``--no-stream``), and what `write_tfrecords` raises.

    For a caller that streams the source as something else first (``split``): `prepare` turns the
    source's assets into the ones written (called again from the start if the stream restarts);
    `reader_report` False leaves the reader's entries out of `report`; `pascal` / `classes` turn the
    Pascal fields / image classes on from the start (when the caller knows they are needed: no restart);
    `expected` is the (images, objects) to come, when `prepare` leaves some out.
    """
    from ..engines import check_engine
    from ..formats.tfrecord.sources import DECODE_CHECKS
    from ..formats.tfrecord.write import image_source

    report = report if report is not None else Report()
    strict = check_strict(strict)
    if "{split}" not in str(prefix):
        check_file_set(prefix, overwrite=overwrite, any_split=split_by_tag)
    if images is None:
        raise FormatError("the TFRecord writer needs the image files: pass images= (--images)")
    if check_decode not in DECODE_CHECKS:
        raise OptionError(f"check_decode must be one of {', '.join(DECODE_CHECKS)}, got {check_decode!r}")
    check_engine(engine)
    images = image_source(images)
    for _ in range(3):
        attempt = Report()  # a restarted run's entries replace the first run's
        s = stream(source, report=attempt if reader_report else None)
        if prepare is not None:
            s.assets = prepare(s.assets)
        if expected is not None:
            s.n_assets, s.n_annotations = expected
        try:
            result = _write(s, prefix, attempt, images=images, shards=shards, masks=masks, label_map=label_map,
                            label_ids=label_ids, split_by_tag=split_by_tag, workers=workers, engine=engine,
                            scheduler=scheduler, progress=progress, strict=strict, skip_missing=skip_missing,
                            skip_broken=skip_broken, check_decode=check_decode, max_pixels=max_pixels,
                            suffixed=suffixed, canonical_splits=canonical_splits, overwrite=overwrite,
                            pascal=pascal, classes=classes, on_labels=on_labels, report_unheld=report_unheld)
        except _Restart as again:
            pascal, classes = pascal or again.pascal, classes or again.classes
            on_labels = None
            continue
        report.merge(attempt)
        return result
    raise AssertionError("a stream restarts at most twice")  # each restart turns a flag on for good


def _write(s: AssetStream, prefix: str | os.PathLike[str], report: Report, *, images: Any, shards: int,
           masks: bool, label_map: Sequence[LabelMapItem] | None, label_ids: str, split_by_tag: bool,
           workers: int | None, engine: str | None, scheduler: str | None, progress: bool | None, strict: bool | str,
           skip_missing: bool, skip_broken: bool, check_decode: str, max_pixels: int | None, suffixed: bool,
           canonical_splits: bool, overwrite: bool, pascal: bool, classes: bool,
           on_labels: Callable[[list[LabelMapItem]], None] | None, report_unheld: bool) -> StreamedRecords:
    from ..formats.tfrecord.encode import EncodeOptions
    from ..formats.tfrecord.jobs import JobBuilder
    from ..formats.tfrecord.records import input_path_pattern, split_prefix
    from ..formats.tfrecord.sets import RecordSet
    from ..formats.tfrecord.write import commit_sets, encode_sets, report_counts

    if s.file_split is not None:
        raise FormatError(f"a COCO file named for a split ({s.file_split}) is not written to TFRecords from a "
                          "stream (its images get that split tag first): run without streaming (--no-stream)",
                          file=s.path)
    items = list(label_map) if label_map is not None else label_map_items(s.labels, ids=label_ids)
    if on_labels is not None:
        on_labels(items)
    known = {item.name for item in items}
    unheld = None
    if report_unheld:  # what the OD API cannot hold, counted asset by asset (`write_tfrecords` counts it at once)
        from ..formats import get
        from ..formats.capabilities import tally_for_spec

        unheld = tally_for_spec(get("tfrecord"), Dataset(labels=list(s.labels), metadata=s.metadata),
                                {"masks": masks, "split_by_tag": split_by_tag})
    builder = JobBuilder(items, masks)
    options = EncodeOptions(images, masks, pascal, classes, check_decode, max_pixels)
    by_template = "{split}" in str(prefix)
    sets: dict[str, RecordSet] = {}
    live: list[RecordSet] = []  # every set opened, for `encode_sets` to close or remove
    split_problems = ProblemCollector()
    counts = {"background": 0, "untagged": 0}
    seen: set[str | None] = set()

    def target(split: str) -> RecordSet:
        out = sets.get(split)
        if out is None:
            where = split_prefix(prefix, split) if split else Path(prefix)
            if by_template:
                check_file_set(where, overwrite=overwrite)
            out = sets[split] = RecordSet(where, shards, suffixed)
            live.append(out)
        return out

    def pairs() -> Iterator[tuple[RecordSet, Any]]:
        assets = iter(s.assets)
        while True:
            batch: list[Asset] = list(islice(assets, BATCH))
            if not batch:
                return
            missing = sorted({ann.label for a in batch for ann in a.annotations} - known)
            if missing:
                raise FormatError(f"labels missing from the label map: {', '.join(map(repr, missing[:10]))}")
            jobs = builder.add(batch, _source_ids(batch, s.path))
            if unheld is not None:
                for asset in batch:
                    unheld.add(asset)
            if (builder.pascal and not pascal) or (builder.any_classes and not classes):
                raise _Restart(builder.pascal, builder.any_classes)
            for asset, job in zip(batch, jobs):
                counts["background"] += sum(1 for ann in asset.annotations if ann.label == BACKGROUND)
                try:
                    tag = split_of(asset.tags) if asset.tags else None
                except FormatError as exc:
                    if split_by_tag:
                        split_problems.add(f"image {asset.file_name!r}", exc.message)
                    tag = None
                seen.add(canonical_split(tag) if tag else None)
                if not split_by_tag:
                    yield target(""), job
                    continue
                if tag and canonical_splits:
                    tag = canonical_split(tag)
                if not tag:
                    counts["untagged"] += 1
                if not split_problems:
                    yield target(tag or "untagged"), job

    if not split_by_tag:
        target("")
    totals: dict[str, Any] = {}
    encode_sets(pairs(), live, options, totals, total=s.n_assets, n_objects=s.n_annotations,
                desc=Path(prefix).name, workers=workers, engine=engine, scheduler=scheduler,
                progress=progress, skip_missing=skip_missing, skip_broken=skip_broken)
    if split_problems:
        for out in live:
            out.remove()
        split_problems.raise_if_any()
    if unheld is not None:
        unheld.report_to(report, s.labels, s.metadata)
    builder.report(report)
    if counts["background"]:
        report.info("objects labelled 'background' written with class id 0", counts["background"],
                    "the OD API treats id 0 as the background")
    if counts["untagged"]:
        report.info("images without a split tag written to the 'untagged' set", counts["untagged"])
    report_counts(totals, report)
    order = sorted(sets, key=split_order)
    report.stats["record_sets"] = [{"split": split or None,
                                    "input_path": input_path_pattern(sets[split].prefix, shards, suffixed=suffixed),
                                    "records": sets[split].written} for split in order]
    pending = [pair for split in order for pair in sets[split].pending]
    prefixes = [sets[split].prefix for split in order] if by_template else [Path(prefix)]
    paths = commit_sets(pending, report, strict, prefixes, split_by_tag and not by_template)
    return StreamedRecords(paths, s.n_assets, s.n_annotations, frozenset(seen))


def _source_ids(batch: Sequence[Asset], path: Path | None) -> list[str]:
    """``image/source_id``: the image ids (a COCO stream refuses duplicates, so they are what the
    in-memory writer takes); an asset without one stops the stream."""
    out = []
    for asset in batch:
        if asset.id is None or str(asset.id) == "":
            raise FormatError("an image without an id cannot be written to TFRecords from a stream (the source "
                              "ids are then numbered over the whole dataset): run without streaming (--no-stream)",
                              file=path, record=asset.file_name)
        out.append(str(asset.id))
    return out


def first_image_name(path: str | os.PathLike[str]) -> str | None:
    """The ``file_name`` of the first image of the COCO file `path`, read without loading the file (where
    the CLI looks for the images, like the in-memory path's `images.default_images_folder`); None when
    there is none to read.

    Example:
        >>> first_image_name("fixtures/sahi_coco/coco_utils/terrain2_coco.json")
        'terrain2.png'
    """
    from .json_scan import JsonFile

    try:
        with JsonFile(path, chunk_size=1 << 20) as f:
            for key, offset in f.members():
                if key == "images":
                    for items, _, _ in f.array_chunks(offset):
                        first = items[0] if isinstance(items, list) and items else None
                        name = first.get("file_name") if isinstance(first, dict) else None
                        return name if isinstance(name, str) else None
                    return None
                try:
                    for _ in f.array_chunks(offset):  # an array before the images: read past it in chunks
                        pass
                except RuntimeError:
                    f.value(offset)
    except (FormatError, ValueError, RuntimeError):
        return None
    return None
