"""Dataset statistics: counts per label, kind and split, object sizes, empty images.

Object size is the side of the square with the object's box area, ``sqrt(w * h)`` in pixels
(COCO's small/medium/large thresholds are 32 and 96 on that scale).

Example:
    >>> from picsellia_formats.model import Annotation, Asset, Dataset, Label
    >>> ds = Dataset([Label("cat")], [Asset("a.jpg", 100, 100, [Annotation("cat", box=(0, 0, 10, 40))],
    ...                                     tags=["train"]), Asset("b.jpg", 100, 100)])
    >>> s = compute(ds)
    >>> s.assets, s.objects, s.empty_assets, s.labels["cat"].mean_size
    (2, 1, 1, 20.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .model import Asset, Dataset
from .shapes import annotation_bbox

SMALL, LARGE = 32.0, 96.0


@dataclass
class LabelStats:
    objects: int = 0
    images: int = 0
    share: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)
    sizes: list[float] = field(default_factory=list, repr=False)
    mean_size: float | None = None
    min_size: float | None = None
    max_size: float | None = None
    small: int = 0
    medium: int = 0
    large: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "sizes"}


@dataclass
class SplitStats:
    assets: int = 0
    objects: int = 0
    empty_assets: int = 0
    labels: dict[str, int] = field(default_factory=dict)


@dataclass
class Stats:
    assets: int = 0
    objects: int = 0
    empty_assets: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    labels: dict[str, LabelStats] = field(default_factory=dict)
    splits: dict[str, SplitStats] = field(default_factory=dict)
    untagged_assets: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    image_sizes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "assets": self.assets,
            "objects": self.objects,
            "empty_assets": self.empty_assets,
            "kinds": self.kinds,
            "labels": {name: s.to_dict() for name, s in self.labels.items()},
            "splits": {name: s.__dict__ for name, s in self.splits.items()},
            "untagged_assets": self.untagged_assets,
            "statuses": self.statuses,
            "image_sizes": self.image_sizes,
        }


class StatsBuilder:
    """Statistics gathered one asset at a time: `compute` feeds it a `Dataset`, `streaming.stats` a stream.

    Per label it keeps running sums, never the objects; ``keep_sizes`` also keeps each object's size in
    ``LabelStats.sizes`` (the HTML report's size histogram needs them; a stream does without).

    Example:
        >>> from picsellia_formats.model import Annotation, Asset
        >>> b = StatsBuilder(["cat"], keep_sizes=False)
        >>> b.add(Asset("a.jpg", 100, 100, [Annotation("cat", box=(0, 0, 10, 40))]))
        >>> b.result().labels["cat"].mean_size
        20.0
    """

    def __init__(self, label_names: Iterable[str] = (), *, keep_sizes: bool = True) -> None:
        self.stats = Stats()
        self.keep_sizes = keep_sizes
        #: per label: [sizes seen, their sum, min, max, small, large]
        self._sizes: dict[str, list[Any]] = {}
        for name in label_names:
            self.stats.labels[name] = LabelStats()

    def add(self, asset: Asset) -> None:
        stats = self.stats
        stats.assets += 1
        if not asset.annotations:
            stats.empty_assets += 1
        if asset.status:
            stats.statuses[asset.status] = stats.statuses.get(asset.status, 0) + 1
        size_key = f"{asset.width}x{asset.height}"
        stats.image_sizes[size_key] = stats.image_sizes.get(size_key, 0) + 1
        seen: set[str] = set()
        for ann in asset.annotations:
            stats.objects += 1
            kind = ann.kind
            stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
            ls = stats.labels.get(ann.label)
            if ls is None:
                ls = stats.labels[ann.label] = LabelStats()
            ls.objects += 1
            ls.kinds[kind] = ls.kinds.get(kind, 0) + 1
            if ann.label not in seen:
                seen.add(ann.label)
                ls.images += 1
            box = annotation_bbox(ann) if kind != "classification" else None
            if box is not None and box[2] >= 0 and box[3] >= 0:
                self._size(ann.label, ls, math.sqrt(float(box[2]) * float(box[3])))
        tags = asset.tags or []
        if not tags:
            stats.untagged_assets += 1
        for tag in tags:
            split = stats.splits.setdefault(tag, SplitStats())
            split.assets += 1
            split.objects += len(asset.annotations)
            split.empty_assets += not asset.annotations
            for ann in asset.annotations:
                split.labels[ann.label] = split.labels.get(ann.label, 0) + 1

    def _size(self, label: str, ls: LabelStats, size: float) -> None:
        acc = self._sizes.get(label)
        if acc is None:
            acc = self._sizes[label] = [0, 0.0, size, size, 0, 0]
        acc[0] += 1
        acc[1] += size  # in order: the same float sum as sum() of the list
        if size < acc[2]:
            acc[2] = size
        if size > acc[3]:
            acc[3] = size
        if size < SMALL:
            acc[4] += 1
        elif size >= LARGE:
            acc[5] += 1
        if self.keep_sizes:
            ls.sizes.append(size)

    def result(self) -> Stats:
        """The statistics of the assets added so far (shares, mean/min/max sizes and size classes)."""
        stats = self.stats
        for name, ls in stats.labels.items():
            ls.share = ls.objects / stats.objects if stats.objects else 0.0
            acc = self._sizes.get(name)
            if acc:
                n, total, low, high, small, large = acc
                ls.mean_size = round(total / n, 2)
                ls.min_size = round(low, 2)
                ls.max_size = round(high, 2)
                ls.small, ls.large = small, large
                ls.medium = n - small - large
        return stats


def compute(dataset: Dataset) -> Stats:
    """Statistics of `dataset` in one pass over its annotations."""
    builder = StatsBuilder(dataset.label_names)
    for asset in dataset.assets:
        builder.add(asset)
    return builder.result()


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:,.1f}"


def format_table(stats: Stats) -> str:
    """The terminal view of `stats`."""
    from .textutil import table

    lines = [
        f"{stats.assets:,} assets, {stats.objects:,} objects, {len(stats.labels):,} labels, "
        f"{stats.empty_assets:,} empty images",
        "kinds: " + (", ".join(f"{k} {v:,}" for k, v in sorted(stats.kinds.items(), key=lambda kv: -kv[1]))
                     or "none"),
    ]
    if stats.statuses:
        lines.append("statuses: " + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.statuses.items())))
    rows = [[name, f"{s.objects:,}", f"{s.images:,}", f"{100 * s.share:.1f}%", _fmt(s.mean_size), _fmt(s.min_size),
             _fmt(s.max_size), f"{s.small:,}/{s.medium:,}/{s.large:,}",
             ", ".join(f"{k} {v:,}" for k, v in sorted(s.kinds.items()))]
            for name, s in stats.labels.items()]
    lines += ["", table(rows, ["label", "objects", "images", "share", "mean size", "min", "max",
                               "small/med/large", "kinds"])]
    if stats.splits:
        names = list(stats.labels)
        rows = [[tag, f"{s.assets:,}", f"{s.objects:,}", f"{s.empty_assets:,}",
                 *(f"{s.labels.get(n, 0):,}" for n in names)] for tag, s in sorted(stats.splits.items())]
        if stats.untagged_assets:
            rows.append(["(no tag)", f"{stats.untagged_assets:,}", "", "", *([""] * len(names))])
        lines += ["", table(rows, ["split", "assets", "objects", "empty", *names])]
    return "\n".join(lines)
