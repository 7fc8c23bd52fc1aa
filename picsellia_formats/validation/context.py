"""What one validation run carries: the options, where the dataset came from, and the finding sink.

Provenance costs the readers nothing: a finding's source file and record are computed from the
source path, the format and the asset/object position (COCO: the image and annotation ids, which
are the records' keys; one-file-per-image formats: that file and the object's position in it).

Example:
    >>> from picsellia_formats.model import Annotation, Asset, Dataset
    >>> ds = Dataset(assets=[Asset("a.jpg", 10, 10, [Annotation("cat", id=7)], id=3)])
    >>> ctx = Context(ds, Options(), frozenset({"box-zero-size"}), Source("coco", "ann.json"))
    >>> ctx.emit("box-zero-size", "box (1, 1, 0, 4) has zero width", 0, 0)
    >>> print(ctx.report.findings[0])
    error: box-zero-size: a.jpg object 0 (id=7) [ann.json: annotation (id=7)]: box (1, 1, 0, 4) has zero width
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import Dataset
from .findings import Finding, ValidationReport
from .rules import RULES


@dataclass
class Options:
    """Thresholds and switches of a validation run (every one has a CLI flag).

    * ``min_area``/``min_side``: an object below either is ``object-too-small`` (px², px).
    * ``min_objects``: a used label with fewer objects is ``class-few-objects``.
    * ``max_imbalance``: most/least frequent label ratio above it is ``class-imbalance``.
    * ``bbox_tolerance``: px a stated box may differ from its polygon/mask's box.
    * ``schema``: questions and attributes to check (see `picsellia_formats.validation.answers`).
    * ``workers``: processes for the image checks (None: one per CPU; 0: in this process).
    * ``deep``: decode every image fully (slow; catches corrupt data inside complete files).
    * ``hash_images``: look for duplicate images by content (hashes only files of equal byte size).
    * ``engine``: where the image checks run: ``local`` (a process pool) or ``dask`` (`engines`); with
      ``scheduler``, the address of a running Dask scheduler. Neither changes a finding.
    """

    min_area: float = 4.0
    min_side: float = 1.0
    min_objects: int = 10
    max_imbalance: float = 50.0
    bbox_tolerance: float = 2.0
    schema: Any = None
    workers: int | None = None
    deep: bool = False
    hash_images: bool = True
    engine: str = "local"
    scheduler: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("schema", "engine", "scheduler")}


@dataclass
class Source:
    """Where a dataset was read from: its format name and path (a file or a folder)."""

    format: str | None = None
    path: str | os.PathLike[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _id(value: Any) -> str:
    return f"(id={value!r})"


class Context:
    """The sink every rule writes to: keeps only enabled codes, fills severity and provenance."""

    def __init__(self, dataset: Dataset, options: Options, enabled: frozenset[str],
                 source: Source | None = None, report: ValidationReport | None = None) -> None:
        self.dataset = dataset
        self.options = options
        self.enabled = enabled
        self.source = source or Source()
        self.report = report if report is not None else ValidationReport()
        #: image files (normalised paths) whose asset the reader left out as broken
        self.left_out: frozenset[str] = frozenset()
        self.file = str(self.source.path) if self.source.path is not None else None
        self.format = (self.source.format or "").lower()
        self._qa_seen: set[tuple[Any, ...]] = set()

    def on(self, *codes: str) -> bool:
        """Whether any of `codes` is enabled (rules skip their work otherwise)."""
        return any(c in self.enabled for c in codes)

    def emit(self, code: str, message: str, asset_index: int | None = None, object_index: int | None = None,
             data: dict[str, Any] | None = None, *, asset: str | None = None, record: str | None = None,
             file: str | None = None, object_id: Any = None) -> None:
        """Record a finding of `code` (ignored when the code is not enabled, or when the same Q&A finding was
        recorded already: a question checked by its own declaration and by a schema)."""
        if code not in self.enabled:
            return
        rule = RULES[code]
        if rule.category == "qa":
            key = (code, asset_index, object_index, message)
            if key in self._qa_seen:
                return
            self._qa_seen.add(key)
        a = ann = None
        if asset_index is not None:
            a = self.dataset.assets[asset_index]
            if asset is None:
                asset = a.file_name
            if object_index is not None:
                ann = a.annotations[object_index]
                if object_id is None:
                    object_id = ann.id
        if record is None and a is not None:
            file_, record = self.locate(asset_index, a, object_index, ann)  # type: ignore[arg-type]
            file = file or file_
        label = ann.label if ann is not None else data.get("label") if data else None
        if label is not None and not isinstance(label, (str, int, float)):
            label = repr(label)  # counted per label: a key
        self.report.add(Finding(code, rule.severity, message, asset=asset, asset_index=asset_index,
                                object_index=object_index, object_id=object_id, file=file or self.file,
                                record=record, data=data, label=label))

    def locate(self, asset_index: int, asset: Any, object_index: int | None, ann: Any
               ) -> tuple[str | None, str | None]:
        """(file, record) of an asset or object in its source, from the format's naming of records."""
        fmt = self.format
        if fmt == "coco":
            if object_index is None:
                return self.file, f"image {_id(asset.id)}" if asset.id is not None else f"image[{asset_index}]"
            if ann is not None and ann.id is not None:
                return self.file, f"annotation {_id(ann.id)}"
            return self.file, f"image {_id(asset.id)}, its annotation #{object_index}"
        per_file = _per_asset_file(fmt, self.source.path, asset)
        if per_file is not None:
            if object_index is None:
                return per_file, None
            return per_file, f"object[{object_index}]"
        if self.file is None:  # an in-memory dataset: the asset and object say it all
            return None, None
        if object_index is None:
            return self.file, f"asset[{asset_index}]"
        return self.file, f"asset[{asset_index}] object[{object_index}]"


#: Where one-file-per-image formats keep the annotation file of an image, relative to the source
#: folder, tried in order (VOC's Annotations/ layout, YOLO's labels/).
_PER_ASSET_LAYOUT = {
    "voc": (("Annotations", ".xml"), ("annotations", ".xml"), ("", ".xml")),
    "yolo": (("labels", ".txt"), ("", ".txt")),
}


def _per_asset_file(fmt: str, root: Any, asset: Any) -> str | None:
    layout = _PER_ASSET_LAYOUT.get(fmt)
    if layout is None or root is None:
        return None
    extra = asset.extra.get(fmt) if asset.extra else None
    if isinstance(extra, dict):
        for key in ("annotation_file", "xml", "label_file", "file"):
            if isinstance(extra.get(key), str):
                return extra[key]
    root = Path(root)
    if root.is_file():
        return str(root)
    stem = Path(asset.file_name).with_suffix("")
    for sub, ext in layout:
        candidate = (root / sub / stem).with_suffix(ext) if sub else (root / stem).with_suffix(ext)
        if candidate.exists():
            return str(candidate)
    return str(root)
