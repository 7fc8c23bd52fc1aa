"""COCO annotation records typed by msgspec, and rewritten as the COCO writer writes them, without the model.

COCO -> COCO changes little: ids (kept when unique integers), areas (recomputed when they disagree with the
geometry) and the key order. `AnnotationRecord` decodes an annotation in C with its types checked (msgspec);
its fields are in the writer's key order, so `RecordEncoder` fixes what the writer would change in place
(category id, area, an empty segmentation) and msgspec writes the batch: the bytes `write.batch_dicts` gives
for the same records read into the model (msgspec spells a float of 1e16 or more ``1e16`` where orjson writes
``1e+16``: such a batch is written by orjson). A record the fast loop does not cover (a mask, keypoints,
attributes, no bbox) goes through the reader's and the writer's own functions; a file the types do not
describe (an unknown key, a flat polygon, NaN...) raises `Ineligible`, and the caller takes the general path,
which names what is wrong.

Example:
    >>> recs = RECORDS.decode(b'[{"id": 7, "image_id": 1, "category_id": 3, "bbox": [0, 0, 2, 3]}]')
    >>> RecordEncoder({3: "cat"}, {"cat": 1}).encode(recs)
    b'{"id":7,"image_id":1,"category_id":1,"segmentation":[],"area":6.0,"bbox":[0,0,2,3],"iscrowd":0}'
"""

from __future__ import annotations

import re
from math import isfinite
from typing import Annotated, Any, Literal

import msgspec
import orjson

from ...errors import ProblemCollector
from ...geometry import polygon_areas
from ...model import Asset
from ...report import Report
from .read import parse_annotations
from .write import batch_dicts

#: what orjson writes back exactly (a wider integer makes the general path name it)
Int = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
Num = Int | float


class Ineligible(Exception):
    """These records need the general (model) path; the message says why."""


class Rle(msgspec.Struct, forbid_unknown_fields=True):
    size: list[Int]
    counts: str | list[Int]


class AnnotationRecord(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One COCO instances annotation, every key the reader knows, typed (an unknown key: ValidationError).

    The fields are in the COCO writer's key order; UNSET ones are not written.
    """

    id: Int | str | None
    image_id: Int | str
    category_id: Int | str
    segmentation: list[list[Num]] | Rle | None = None
    area: Num | None = None
    bbox: tuple[Num, Num, Num, Num] | None = None
    iscrowd: Literal[0, 1] = 0
    keypoints: list[Num] | msgspec.UnsetType = msgspec.UNSET
    num_keypoints: Any = msgspec.UNSET  # recomputed from the keypoints by the writer
    score: Num | msgspec.UnsetType = msgspec.UNSET
    attributes: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


RECORDS = msgspec.json.Decoder(list[AnnotationRecord])


def decode_records(doc: bytes) -> list[AnnotationRecord]:
    """`doc` (a JSON array of annotations) typed; Ineligible when a record is not of the known types.

    Malformed JSON raises msgspec.DecodeError (a ValueError), as a chunked reader needs."""
    try:
        return RECORDS.decode(doc)
    except msgspec.ValidationError as exc:
        raise Ineligible(f"an annotation the typed path does not cover: {exc}") from None


# two empty polygons (area 0 in the vectorised pass) told apart by identity: a box alone, a record for the
# general functions
_BOX_ONLY: list[list[float]] = []
_GENERAL: list[list[float]] = []
_UNSET = msgspec.UNSET
_ENCODE = msgspec.json.Encoder().encode
#: a float msgspec spells differently from orjson (an exponent of 16 or more: "1e16" against "1e+16")
_BIG_EXPONENT = re.compile(rb"e[0-9]")  # a literal first: re searches for it at memchr speed


class RecordEncoder:
    """Write `AnnotationRecord`s (in output order) as the COCO writer would; counts areas replaced.

    `labels_by_id`: category id -> label name (the reader's `parse_categories`); `cat_ids`: label name ->
    written category id (the writer's `category_ids`). Ids are left as read (the caller renumbers them when
    they are not unique integers); each record's image id must already be checked by the caller. `report` and
    `counts` receive what the writer's `batch_dicts` reports (``areas_replaced``, counted).
    """

    def __init__(self, labels_by_id: dict[Any, str], cat_ids: dict[str, int], report: Report | None = None,
                 counts: dict[str, Any] | None = None) -> None:
        self.out_cat = {cid: cat_ids[name] for cid, name in labels_by_id.items()}
        self.labels_by_id = labels_by_id
        self.cat_ids = cat_ids
        self.report = report if report is not None else Report()  # what the general functions say
        self.counts = counts if counts is not None else {"areas_replaced": 0}

    def encode(self, records: list[AnnotationRecord]) -> bytes:
        """The JSON array items (comma-separated, no brackets) of `records`, in order; they are modified."""
        polygons: list[Any] = []
        others: list[int] = []
        for i, r in enumerate(records):
            seg = r.segmentation
            box = r.bbox
            if box is None or r.keypoints is not _UNSET or r.attributes is not _UNSET \
                    or r.num_keypoints is not _UNSET:
                others.append(i)
                polygons.append(_GENERAL)
                continue
            if not isfinite(box[0] + box[1] + box[2] + box[3]):
                raise Ineligible("a bbox whose values overflow")  # the reader refuses it by name
            if seg.__class__ is list and seg:
                for part in seg:
                    if len(part) & 1:
                        raise Ineligible("a polygon part with an odd number of coordinates")
                polygons.append(seg)
            elif not seg:
                polygons.append(_BOX_ONLY)
            else:  # an RLE mask
                others.append(i)
                polygons.append(_GENERAL)
        areas = polygon_areas(polygons)
        out_cat = self.out_cat
        replaced = 0
        items: list[Any] = records
        try:
            for r, polygon, computed in zip(records, polygons, areas):
                if polygon is _GENERAL:
                    continue
                r.category_id = out_cat[r.category_id]
                if polygon is _BOX_ONLY:
                    r.segmentation = _BOX_ONLY  # written []
                    box = r.bbox
                    computed = float(box[2] * box[3])
                area = r.area
                if area is None:
                    r.area = computed
                else:
                    tolerance = 0.15 * computed
                    if tolerance < 16.0:
                        tolerance = 16.0
                    if abs(area - computed) > tolerance:
                        replaced += 1
                        r.area = computed
        except KeyError:
            raise Ineligible("a category id is not among the categories") from None
        self.counts["areas_replaced"] += replaced
        if others:
            items = list(records)
            for i, d in zip(others, self._general([records[i] for i in others])):
                items[i] = d
        body = _ENCODE(items)
        if _BIG_EXPONENT.search(body):
            body = orjson.dumps(msgspec.to_builtins(items))
        return body[1:-1]

    def _general(self, records: list[AnnotationRecord]) -> list[dict[str, Any]]:
        """The reader's `parse_annotations` then the writer's `batch_dicts`, for the records the loop leaves."""
        stub = Asset("", None, None, [], 0)
        dicts = msgspec.to_builtins(records)
        for d in dicts:
            d["image_id"] = 0
            d.pop("num_keypoints", None)
            if d.get("bbox") is not None:
                d["bbox"] = list(d["bbox"])  # as JSON gives it (to_builtins keeps the tuple)
        problems = ProblemCollector()
        parse_annotations(dicts, {0: stub}, self.labels_by_id, problems, self.report)
        if problems.count or len(stub.annotations) != len(records):
            raise Ineligible("a record the reader refuses")
        batch = []
        for ann, r in zip(stub.annotations, records):
            if ann.box is None and ann.polygon is None and ann.mask is None and ann.keypoints is None:
                raise Ineligible("an annotation without geometry (a COCO image label)")
            batch.append((stub, r.image_id, ann))
        return batch_dicts(batch, self.cat_ids, iter([r.id for r in records]), False, "keep", self.report,
                           self.counts)
