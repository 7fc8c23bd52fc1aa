"""Image sizes a COCO file lacks (no ``width``/``height``, or 0 as CVAT writes for "unknown"), read
from the image headers found through the one `ImageIndex`.

Example:
    >>> from picsellia_formats.model import Asset, Dataset
    >>> from picsellia_formats.report import Report
    >>> ds = Dataset(assets=[Asset("1.jpg", 0, 0, tags=["train"])])
    >>> fill_sizes(ds, "fixtures/real_exports/coco_captions/images", Report())
    1
    >>> (ds.assets[0].width, ds.assets[0].height) != (0, 0)
    True
"""

from __future__ import annotations

import os

from ...errors import FormatError
from ...images import ImageIndex, image_size
from ...model import Dataset
from ...report import Report
from ...splits import split_of


def fill_sizes(dataset: Dataset, images: str | os.PathLike[str], report: Report) -> int:
    """Give every asset without a size (None or 0) the size of its image under `images` (the split
    tag picks between same-named files of two splits). Returns how many were filled; the report
    says so, and counts the assets whose image was not found."""
    index: ImageIndex | None = None
    filled = missing = 0
    for asset in dataset.assets:
        if asset.width and asset.height:
            continue
        if index is None:
            index = ImageIndex(images)
        try:
            split = split_of(asset.tags)
        except FormatError:
            split = None
        found = index.lookup(asset.file_name, split).path
        if found is None:
            missing += 1
            continue
        asset.width, asset.height = image_size(found)
        filled += 1
    if filled:
        report.info("image sizes taken from the image headers (missing or zero in the COCO file)", filled)
    if missing:
        report.info("images without a size in the COCO file and not found in the images folder", missing)
    return filled
