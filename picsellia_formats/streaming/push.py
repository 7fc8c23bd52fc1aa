"""`push` of a COCO file that does not fit in memory: `sync.push_stream` fed by two passes of the stream.

The file is streamed twice (a check pass, then a send pass; see `picsellia_formats.sync.push_stream`), so
what is held is one batch of assets plus the labels and the image base names, whatever the file's size.
A COCO file named for a split (``instances_val.json``) gives its assets that split as a tag, as the
in-memory reader does.

Example:
    >>> r = push_coco_stream("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON",
    ...                      "fixtures/voc_toy_cats/images", "cats", "v1", dry_run=True, quiet=True)
    >>> r.images, r.objects, r.type
    (10, 12, 'OBJECT_DETECTION')
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..model import Asset
from ..report import Report
from .api import stream


def first_file_name(path: str | os.PathLike[str]) -> str | None:
    """The first asset's file name (what `images.default_images_folder` looks for), read as a stream."""
    return next((a.file_name for a in stream(path, "coco").assets), None)


def push_coco_stream(path: str | os.PathLike[str], images_dir: str | os.PathLike[str], dataset_name: str,
                     version: str, *, report: Report | None = None, **options: Any) -> Any:
    """Push the COCO file at `path` (images under `images_dir`) as `sync.push_stream` does; returns its
    `PushResult`. `report` gets what reading the file tells (once); `options` are `push_stream`'s (tags,
    type, client, mode, workers, batch, dry_run...)."""
    from ..sync.push_stream import push_stream

    path = Path(path)
    opened = [stream(path, "coco", report=report)]  # the check pass uses it; the send pass opens the file again
    labels, split = opened[0].labels, opened[0].file_split

    def open_assets() -> Iterator[Asset]:
        s = opened.pop() if opened else stream(path, "coco")
        for asset in s.assets:
            if split is not None and split not in asset.tags:
                asset.tags.append(split)
            yield asset

    return push_stream(open_assets, labels, images_dir, dataset_name, version, **options)
