"""`stats` of a COCO file without holding its assets: one `StatsBuilder` fed from the stream.

The same numbers as `picsellia_formats.stats.compute` of the whole dataset (one implementation: both feed
`StatsBuilder`), in memory bounded by the labels, splits and image sizes met, not by the objects. Object
sizes are summed as they come; they are not kept (the HTML report's size histogram needs them: in memory).

Example:
    >>> s = stats_stream("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
    >>> s.assets, s.objects, s.labels["cat"].objects
    (10, 12, 12)
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ..model import Asset
from ..stats import Stats, StatsBuilder
from .api import stream


def stats_stream(path: str | os.PathLike[str], format: str | None = None, *,  # noqa: A002
                 progress: bool = False) -> Stats:
    """Statistics of the file at `path` read as a stream (FormatError when its format cannot stream)."""
    s = stream(path, format)
    builder = StatsBuilder([label.name for label in s.labels], keep_sizes=False)
    assets: Iterator[Asset] = s.assets
    if progress and s.n_assets > 1:
        from ..progress import track

        assets = track(assets, "reading", total=s.n_assets, unit="image")
    split = s.file_split  # the in-memory reader tags every asset of instances_val.json with "val"
    for asset in assets:
        if split is not None and split not in asset.tags:
            asset.tags.append(split)
        builder.add(asset)
    return builder.result()
