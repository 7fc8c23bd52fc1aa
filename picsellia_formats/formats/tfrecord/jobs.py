"""The dataset -> encoding jobs step of the TFRecord writer: one picklable `AssetJob` per image,
built in the main process, and the report lines for what the OD API records cannot hold.

Example:
    >>> from picsellia_formats.model import Annotation, Asset, Dataset
    >>> from picsellia_formats.labels import labels_in_use
    >>> from picsellia_formats.report import Report
    >>> from picsellia_formats.tfod.labelmap import label_map_items
    >>> ds = Dataset(assets=[Asset("a.jpg", 4, 2, [Annotation("cat", box=(1, 0, 2, 2))])])
    >>> jobs, pascal, classes = build_jobs(ds, label_map_items(labels_in_use(ds)), masks=False, report=Report())
    >>> jobs[0].objects[0].label, jobs[0].objects[0].box
    (1, (1, 0, 2, 2))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import FormatError
from ...model import Annotation, Asset, Dataset
from ...report import Report
from ...splits import split_of
from ...tfod.labelmap import LabelMapItem
from .encode import AssetJob, ObjectJob

#: object attributes the OD API carries (Pascal VOC's, as the VOC reader names them)
PASCAL_ATTRIBUTES = ("pose", "truncated", "difficult")


def voc_fields(ann: Annotation) -> tuple[int, int, str | None]:
    """(difficult, truncated, pose) from the object's attributes (the VOC reader's names)."""
    attrs = ann.attributes
    if not attrs:
        return 0, 0, None
    pose = attrs.get("pose", attrs.get("view"))
    return _flag(attrs.get("difficult")), _flag(attrs.get("truncated")), None if pose is None else str(pose)


def _flag(value: Any) -> int:
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 if str(value).strip().lower() in ("yes", "true") else 0


def source_ids(assets: Sequence[Asset], report: Report) -> list[str]:
    """``image/source_id`` per asset: its id when every asset has a unique one, else its file name
    when those are unique, else its position (from 1). Never empty, always unique."""
    ids = [str(a.id) if a.id is not None else "" for a in assets]
    if all(ids) and len(set(ids)) == len(ids):
        return ids
    names = [a.file_name for a in assets]
    if all(names) and len(set(names)) == len(names):
        if any(ids):
            report.changed("image source ids taken from file names", len(assets), "asset ids were not unique")
        return names
    report.changed("image source ids numbered from 1", len(assets),
                   "neither asset ids nor file names are unique")
    return [str(i) for i in range(1, len(assets) + 1)]


def build_jobs(dataset: Dataset, items: Sequence[LabelMapItem], *, masks: bool, report: Report
               ) -> tuple[list[AssetJob], bool, bool]:
    """Encoding jobs for every asset, and whether any object has Pascal fields / any image a class.

    What only the jobs know goes into `report` (objects without a box, non-Pascal attributes); what the
    OD API cannot hold at all is `formats.capabilities`' report (`write_tfrecords` makes it).
    """
    builder = JobBuilder(items, masks)
    jobs = builder.add(dataset.assets, source_ids(dataset.assets, report))
    builder.report(report)
    return jobs, builder.pascal, builder.any_classes


class JobBuilder:
    """Jobs of assets met batch by batch (a list or a stream), and the counts of what they cannot hold.

    `add` turns assets into `AssetJob`s numbered on from the previous batch; `pascal` and `any_classes`
    say whether some object so far has Pascal fields / some image a class; `report` writes what only the
    jobs know (objects without a box, non-Pascal attributes; the rest is `formats.capabilities`').
    """

    def __init__(self, items: Sequence[LabelMapItem], masks: bool) -> None:
        self.ids = {item.name: item.id for item in items}
        self.masks = masks
        self.pascal = self.any_classes = False
        self.n = 0
        self.n_attr = 0
        self.dropped_kinds: dict[str, int] = {}

    def add(self, assets: Sequence[Asset], sids: Sequence[str]) -> list[AssetJob]:
        """The jobs of `assets` (`sids`: their ``image/source_id``)."""
        from ...geometry import polygon_area
        from ...shapes import annotation_bbox

        ids = self.ids
        masks = self.masks
        jobs = []
        pascal = any_classes = False
        n_attr = 0
        dropped_kinds = self.dropped_kinds
        for index, (asset, sid) in enumerate(zip(assets, sids), start=self.n):
            objects = []
            classes = []
            for ann in asset.annotations:
                box = ann.box
                mask = ann.mask
                polygon = ann.polygon
                if box is None:
                    if mask is None and polygon is None:
                        kind = ann.kind
                        if kind == "classification":
                            classes.append((ann.label, ids[ann.label]))
                            continue
                        if kind in ("line", "point"):
                            continue  # formats.capabilities reports them (the OD API has no such shape)
                    box = annotation_bbox(ann)
                    if box is None:
                        dropped_kinds[ann.kind] = dropped_kinds.get(ann.kind, 0) + 1
                        continue
                segm = None
                if masks:
                    if mask is not None:
                        segm = ("rle", mask.height, mask.width, mask.counts)
                    elif polygon is not None:
                        segm = ("polygon", polygon)
                area = ann.area
                if area is None:
                    if mask is not None:
                        from ...masks import rle_area

                        area = float(rle_area(mask))
                    elif polygon is not None:
                        area = polygon_area(polygon)
                    else:
                        area = float(box[2] * box[3])
                if ann.attributes:
                    difficult, truncated, pose = voc_fields(ann)
                    if truncated or pose is not None:
                        pascal = True
                    if any(k not in PASCAL_ATTRIBUTES for k in ann.attributes):
                        n_attr += 1
                else:
                    difficult = truncated = 0
                    pose = None
                extra = None
                if ann.extra:
                    tfod = ann.extra.get("tfod")
                    extra = tfod.get("features") if isinstance(tfod, dict) else None
                objects.append(ObjectJob(ann.label, ids[ann.label], box if type(box) is tuple else tuple(box),
                                         int(ann.iscrowd or 0), float(area), difficult, truncated, pose or "", segm,
                                         extra or None))
            if classes:
                any_classes = True
            tfod = asset.extra.get("tfod") if asset.extra else None
            extra = tfod.get("features") if isinstance(tfod, dict) else None
            jobs.append(AssetJob(index, asset.file_name, asset.width, asset.height, sid, objects, classes,
                                 extra or None, _split_hint(asset)))
        self.n_attr += n_attr
        self.pascal = self.pascal or pascal
        self.any_classes = self.any_classes or any_classes
        self.n += len(jobs)
        return jobs

    def report(self, report: Report) -> None:
        """What only the jobs know, with counts, into `report`."""
        names = {"keypoints": "keypoint objects without visible points", "polygon": "empty polygons",
                 "mask": "empty masks"}
        for kind, n in self.dropped_kinds.items():
            report.dropped(names.get(kind, kind), n, "they have no box to write")
        if self.n_attr:
            report.dropped("object attributes", self.n_attr, "the OD API keeps difficult, truncated and pose only")


def _split_hint(asset: Asset) -> str | None:
    """The asset's split tag, to pick its image among same-named files of several split folders."""
    if not asset.tags:
        return None
    try:
        return split_of(asset.tags)
    except FormatError:
        return None
