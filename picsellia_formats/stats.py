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
from dataclasses import dataclass, field
from typing import Any

from .model import Dataset
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


def compute(dataset: Dataset) -> Stats:
    """Statistics of `dataset` in one pass over its annotations."""
    stats = Stats(assets=len(dataset.assets))
    for name in dataset.label_names:
        stats.labels[name] = LabelStats()
    for asset in dataset.assets:
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
                ls.sizes.append(math.sqrt(float(box[2]) * float(box[3])))
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
    for ls in stats.labels.values():
        ls.share = ls.objects / stats.objects if stats.objects else 0.0
        if ls.sizes:
            ls.mean_size = round(sum(ls.sizes) / len(ls.sizes), 2)
            ls.min_size = round(min(ls.sizes), 2)
            ls.max_size = round(max(ls.sizes), 2)
            ls.small = sum(1 for s in ls.sizes if s < SMALL)
            ls.large = sum(1 for s in ls.sizes if s >= LARGE)
            ls.medium = len(ls.sizes) - ls.small - ls.large
    return stats


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
