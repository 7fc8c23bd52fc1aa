"""A split dataset as the TF Object Detection API trains on it, in one folder.

`write_split_tfrecords` writes ``{split}.record-{i:05d}-of-{n:05d}`` shards per split (train, val,
test: the canonical names of `splits`, whatever alias the tags use), ``label_map.pbtxt`` and
``pipeline_input_readers.config``: the ``train_input_reader`` block naming the train shards and an
``eval_input_reader`` block per val/test split naming theirs, ready to paste into a
``pipeline.config``.

Example:
    >>> import tempfile, pathlib
    >>> from picsellia_formats.model import Annotation, Asset, Dataset
    >>> ds = Dataset(assets=[
    ...     Asset("raccoon-105.jpg", 720, 960, [Annotation("raccoon", box=(250, 49, 464, 820))], tags=["train"]),
    ...     Asset("raccoon-106.jpg", None, None, [Annotation("raccoon", box=(28, 21, 160, 152))], tags=["valid"])])
    >>> out = write_split_tfrecords(ds, pathlib.Path(tempfile.mkdtemp()), images="fixtures/raccoon_voc/images",
    ...                             progress=False)
    >>> sorted(p.name for p in out.records), out.label_map.name, out.pipeline.name
    (['train.record-00000-of-00001', 'val.record-00000-of-00001'], 'label_map.pbtxt', 'pipeline_input_readers.config')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..io_utils import atomic_path
from ..model import Dataset
from ..outputs import check_file
from ..report import Report
from .labelmap import LabelMapItem, format_label_map, label_map_items
from .pipeline import pipeline_fragment

LABEL_MAP_NAME = "label_map.pbtxt"
PIPELINE_NAME = "pipeline_input_readers.config"


class SplitRecords(NamedTuple):
    """What `write_split_tfrecords` wrote: every shard, the label map, the pipeline fragment, and
    one ``{"split", "input_path", "records"}`` per split."""

    records: list[Path]
    label_map: Path
    pipeline: Path
    record_sets: list[dict[str, Any]]


def write_split_tfrecords(
    dataset: Dataset,
    folder: str | os.PathLike[str],
    *,
    images: Any,
    shards: int = 1,
    masks: bool = False,
    label_map: Sequence[LabelMapItem] | None = None,
    label_ids: str = "sequential",
    workers: int | None = None,
    progress: bool | None = None,
    report: Report | None = None,
    strict: bool = False,
    skip_missing: bool = False,
    skip_broken: bool = False,
    absolute_paths: bool = True,
    overwrite: bool = False,
) -> SplitRecords:
    """Write `dataset`, split by its assets' split tags, as OD API TFRecords into `folder`.

    Files: ``{split}.record-{i:05d}-of-{n:05d}`` (`shards` per split; the OD API tools' names even
    for one shard), ``label_map.pbtxt`` (`label_map`, else the labels in use with `label_ids`) and
    ``pipeline_input_readers.config``. Images without a split tag go to ``untagged.record-*``,
    which no reader names (the fragment and the report say so). The fragment's paths are absolute
    unless `absolute_paths` is False (then relative to `folder`). `images`, `masks`, `workers`,
    `progress`, `strict`, `skip_missing`, `skip_broken`, `overwrite`: as `write_tfrecords` (an existing
    label map or input-reader fragment is refused too unless `overwrite`; the label map only when its
    bytes differ).

    Raises FormatError (an image missing or broken, tags naming two splits...),
    LossyConversionError with `strict`.
    """
    from ..formats.tfrecord.write import write_tfrecords
    from ..labels import labels_in_use

    report = report if report is not None else Report()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    items = list(label_map) if label_map is not None else label_map_items(labels_in_use(dataset), ids=label_ids)
    label_map_path = folder / LABEL_MAP_NAME
    pipeline = folder / PIPELINE_NAME
    check_file(label_map_path, overwrite=overwrite, same_bytes=format_label_map(items).encode("utf-8"))
    check_file(pipeline, overwrite=overwrite)
    records = write_tfrecords(dataset, folder / "{split}.record", images=images, shards=shards, masks=masks,
                              label_map=items, split_by_tag=True, workers=workers, progress=progress,
                              report=report, strict=strict, skip_missing=skip_missing, skip_broken=skip_broken,
                              suffixed=True, canonical_splits=True, overwrite=overwrite)
    with atomic_path(label_map_path) as tmp:
        tmp.write_bytes(format_label_map(items).encode("utf-8"))
    sets = [dict(s) for s in report.stats["record_sets"]]
    for s in sets:
        path = Path(s["input_path"])
        s["input_path"] = str(path.resolve() if absolute_paths else path.relative_to(folder))
    map_text = str(label_map_path.resolve() if absolute_paths else Path(LABEL_MAP_NAME))
    text = ("# input readers of the TF Object Detection API pipeline.config for this split dataset\n"
            + pipeline_fragment(sets, map_text, masks=masks))
    with atomic_path(pipeline) as tmp:
        tmp.write_bytes(text.encode("utf-8"))
    return SplitRecords(records, label_map_path, pipeline, sets)
