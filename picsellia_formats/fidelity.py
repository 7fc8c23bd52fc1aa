"""What a writer cannot carry of the fields other formats keep in ``extra``: one shared tally.

Every format keeps what only it understands in ``extra[<format name>]`` (on the dataset, assets,
labels and objects). A writer of another format cannot hold those fields; it tallies them here and
the report says, per record kind and source format, how many records lost which fields. Keys a format
declares as serialisation hints (`FormatSpec.hint_keys`: element order, indentation, number text…)
are not data and are not counted.

Example:
    >>> from picsellia_formats.report import Report
    >>> tally = ForeignFields("coco")
    >>> tally.add("assets", {"voc": {"folder": "images", "path": "/x.jpg"}, "coco": {"license": 1}})
    >>> report = Report(); tally.report_to(report)
    >>> print(report)
    format metadata with no place in the target:
      1 asset's VOC-only fields dropped (COCO has no place for folder, path)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: how a report names a format (the others: the name in capitals, as in COCO, VOC, YOLO)
_TITLES = {"picsellia": "Picsellia JSON", "tfrecord": "TFRecord", "labelme": "LabelMe", "createml": "CreateML",
           "labelstudio": "Label Studio", "cvat": "CVAT"}


def title(fmt: str) -> str:
    """A format's name as a report prints it.

    Example:
        >>> title("voc"), title("picsellia")
        ('VOC', 'Picsellia JSON')
    """
    return _TITLES.get(fmt, fmt.upper())


def hint_keys(fmt: str) -> frozenset[str]:
    """The keys of ``extra[fmt]`` that format `fmt` declares as serialisation hints."""
    from . import formats

    try:
        return formats.get(fmt).hint_keys
    except Exception:  # an unknown (or external) format name: every key is data
        return frozenset()


def metadata_keys(fmt: str) -> frozenset[str]:
    """The keys of ``extra[fmt]`` on assets, labels and objects that format `fmt` declares as format
    metadata (`FormatSpec.metadata_keys`); every dataset-level field is format metadata."""
    from . import formats

    try:
        return formats.get(fmt).metadata_keys
    except Exception:  # an unknown (or external) format name: every key is data
        return frozenset()


class ForeignFields:
    """Tally of records whose other-format fields a writer of `target` drops.

    Each field is annotation data or format metadata (dataset-level fields, and the keys the
    source format declares in `FormatSpec.metadata_keys`: VOC's folder/path/depth..., COCO's
    license/coco_url...): a record holding both counts once in each scope.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self._counts: dict[tuple[str, str, str], list[Any]] = {}
        self._hints: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

    def add(self, what: str, extra: Mapping[str, Any] | None) -> None:
        """Count one record (`what`: "assets", "objects", "labels", "dataset") holding `extra`."""
        if not extra:
            return
        for fmt, fields in extra.items():
            if fmt == self.target or not fields:
                continue
            known = self._hints.get(fmt)
            if known is None:
                known = self._hints[fmt] = (hint_keys(fmt), metadata_keys(fmt))
            hints, meta_keys = known
            if isinstance(fields, Mapping):  # a null or an empty mapping carries nothing to lose
                keys = [k for k, v in fields.items()
                        if k not in hints and v is not None and not (isinstance(v, Mapping) and not v)]
            else:
                keys = ["(value)"]
            if not keys:
                continue
            if what == "dataset":
                scoped = {"metadata": keys}
            else:
                scoped = {"metadata": [k for k in keys if k in meta_keys],
                          "annotation": [k for k in keys if k not in meta_keys]}
            for scope, scope_keys in scoped.items():
                if scope_keys:
                    entry = self._counts.setdefault((what, fmt, scope), [0, set()])
                    entry[0] += 1
                    entry[1].update(map(str, scope_keys))

    def report_to(self, report: Any) -> None:
        for (what, fmt, scope), (n, keys) in sorted(self._counts.items()):
            names = sorted(keys)
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            owner = "dataset's" if what == "dataset" else f"{what}'"
            report.dropped(f"{owner} {title(fmt)}-only fields", n, f"{title(self.target)} has no place for {shown}",
                           scope=scope)


def report_foreign_fields(dataset: Any, target: str, report: Any) -> None:
    """One pass over `dataset` (metadata, labels, assets, objects): report to `report` every record
    whose other-format fields a writer of `target` drops.

    Example:
        >>> from picsellia_formats.model import Asset, Dataset
        >>> from picsellia_formats.report import Report
        >>> r = Report()
        >>> report_foreign_fields(Dataset(assets=[Asset("a.jpg", extra={"coco": {"license": 3}})]), "voc", r)
        >>> print(r)
        format metadata with no place in the target:
          1 asset's COCO-only fields dropped (VOC has no place for license)
    """
    tally = ForeignFields(target)
    tally.add("dataset", dataset.metadata)
    for label in dataset.labels:
        tally.add("labels", label.extra)
    for asset in dataset.assets:
        tally.add("assets", asset.extra)
        for ann in asset.annotations:
            if ann.extra:
                tally.add("objects", ann.extra)
    tally.report_to(report)
