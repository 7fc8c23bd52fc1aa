"""COCO annotation records typed by msgspec, and rewritten as the COCO writer writes them, without the model.

COCO -> COCO changes little: ids (kept when unique integers), areas (recomputed when they disagree with the
geometry) and the key order. `AnnotationRecord` decodes an annotation in C with its types checked (msgspec);
`RecordEncoder` makes from it the dict the writer makes (category id, area, an empty segmentation; no
`Annotation` in between) and orjson writes the batch: the bytes `write.batch_dicts` gives for the same records
read into the model. A record the fast loop does not cover (a mask, keypoints,
attributes, no bbox) and the records of a chunk the types do not fit (an unknown key, a flat polygon: read
as dicts) go through the reader's and the writer's own functions. A record the reader refuses or changes in
a way a stream cannot (an image label, a caption) raises `Ineligible`: the caller takes the general path,
which names what is wrong. `parse_records` is the reader's side alone: typed records to `Annotation`s.

Example:
    >>> recs = RECORDS.decode(b'[{"id": 7, "image_id": 1, "category_id": 3, "bbox": [0, 0, 2, 3]}]')
    >>> RecordEncoder({3: "cat"}, {"cat": 1}).encode(recs, range(1))
    (b'{"id":7,"image_id":1,"category_id":1,"segmentation":[],"area":6.0,"bbox":[0,0,2,3],"iscrowd":0}', [7])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from math import isfinite
from typing import Annotated, Any, Literal

import msgspec
import orjson

from ...errors import ProblemCollector
from ...geometry import polygon_areas
from ...model import EMPTY, Annotation, Asset
from ...report import Report
from .parse import parse_annotations
from .write import AREA_TOLERANCE, AREA_TOLERANCE_MIN, batch_dicts

#: what orjson writes back exactly (a wider integer makes the general path name it)
Int = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
Num = Int | float


class Ineligible(Exception):
    """These records need the general (model) path; the message says why."""


class Rle(msgspec.Struct, forbid_unknown_fields=True):
    size: list[Int]
    counts: str | list[Int]


class AnnotationRecord(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One COCO instances annotation, every key the reader knows, typed (an unknown key: ValidationError)."""

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
_UNSET = msgspec.UNSET


def free_form(records: list[AnnotationRecord]) -> bool:
    """Whether some record has a field of any JSON (``attributes``, ``num_keypoints``): the only place a typed
    record can hold an integer over 64 bits, which its reader must then look for."""
    return any(r.attributes is not _UNSET or r.num_keypoints is not _UNSET for r in records)


# two empty polygons (area 0 in the vectorised pass) told apart by identity: a box alone, a record for the
# general functions
_BOX_ONLY: list[list[float]] = []
_GENERAL: list[list[float]] = []


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

    def encode(self, records: list[Any], numbers: Sequence[int]) -> tuple[bytes, list[Any]]:
        """The JSON array items (comma-separated, no brackets) of `records`, in order, and their ids.

        `records`: `AnnotationRecord`s, or dicts (a chunk the types did not fit), taken by the general functions;
        `numbers`: each record's index in the file (what the reader's messages and examples name).
        """
        polygons: list[Any] = []
        others: list[int] = []
        for i, r in enumerate(records):
            if r.__class__ is not AnnotationRecord:  # a dict (or anything) from a chunk the types did not fit
                others.append(i)
                polygons.append(_GENERAL)
                continue
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
                polygons.append(seg)  # a part with an odd number of coordinates: refused by polygon_areas
            elif not seg:
                polygons.append(_BOX_ONLY)
            else:  # an RLE mask
                others.append(i)
                polygons.append(_GENERAL)
        try:
            areas = polygon_areas(polygons, refuse_odd=True)
        except ValueError:
            raise Ineligible("a polygon part with an odd number of coordinates") from None
        out_cat = self.out_cat
        replaced = 0
        items: list[Any] = []
        append = items.append
        ids: list[Any] = []
        add_id = ids.append
        try:
            for r, polygon, computed in zip(records, polygons, areas):
                if polygon is _GENERAL:
                    append(None)  # filled by the general functions below
                    add_id(record_field(r, "id"))
                    continue
                add_id(r.id)
                box = r.bbox
                if polygon is _BOX_ONLY:
                    seg: Any = []
                    computed = float(box[2] * box[3])
                else:
                    seg = polygon
                area = r.area
                if area is None:
                    area = computed
                else:  # write.batch_dicts' rule, inlined (a call per record costs ~2% here)
                    tolerance = AREA_TOLERANCE * computed
                    if tolerance < AREA_TOLERANCE_MIN:
                        tolerance = AREA_TOLERANCE_MIN
                    if abs(area - computed) > tolerance:
                        replaced += 1
                        area = computed
                d = {"id": r.id, "image_id": r.image_id, "category_id": out_cat[r.category_id], "segmentation": seg,
                     "area": area, "bbox": box, "iscrowd": r.iscrowd}
                if r.score is not _UNSET:
                    d["score"] = r.score
                append(d)
        except KeyError:
            raise Ineligible("a category id is not among the categories") from None
        self.counts["areas_replaced"] += replaced
        if others:
            for i, d in zip(others, self._general(records, others, numbers)):
                items[i] = d
        return orjson.dumps(items)[1:-1], ids

    def _general(self, records: list[Any], indices: list[int], numbers: Sequence[int]) -> list[dict[str, Any]]:
        """The reader's `parse_annotations` then the writer's `batch_dicts`, for the records the loop leaves."""
        stub = Asset("", None, None, [], 0)
        image_ids = [record_field(records[i], "image_id") for i in indices]
        ids = [record_field(records[i], "id") for i in indices]
        problems = ProblemCollector()
        for start, run in _runs(indices, numbers):
            dicts = [reader_dict(records[i]) for i in run]
            for d in dicts:
                d["image_id"] = 0  # every record on one stub asset: the writer is given each one's own id
            parse_annotations(dicts, {0: stub}, self.labels_by_id, problems, self.report, start=start)
        if problems.count or len(stub.annotations) != len(indices):
            raise Ineligible("a record the reader refuses, or a caption")
        batch = []
        for ann, image_id in zip(stub.annotations, image_ids):
            if ann.box is None and ann.polygon is None and ann.mask is None and ann.keypoints is None:
                raise Ineligible("an annotation without geometry (a COCO image label)")
            batch.append((stub, image_id, ann))
        return batch_dicts(batch, self.cat_ids, iter(ids), False, "keep", self.report, self.counts)


def record_field(record: Any, key: str) -> Any:
    """`key` of a typed record or of a dict record (None when a dict lacks it, or for anything else)."""
    if record.__class__ is AnnotationRecord:
        return getattr(record, key)
    return record.get(key) if record.__class__ is dict else None


def reader_dict(record: Any) -> dict[str, Any]:
    """A record as JSON gives it (what `parse_annotations` reads): a record not typed as it is."""
    if record.__class__ is not AnnotationRecord:
        return record
    d = msgspec.to_builtins(record)
    if d.get("bbox") is not None:
        d["bbox"] = list(d["bbox"])  # to_builtins keeps the tuple
    return d


def _runs(indices: list[int], numbers: Sequence[int]) -> Iterator[tuple[int, list[int]]]:
    """`indices` cut where their file numbers stop following each other: (first number, run)."""
    run: list[int] = []
    for i in indices:
        if run and numbers[i] != numbers[run[-1]] + 1:
            yield numbers[run[0]], run
            run = []
        run.append(i)
    if run:
        yield numbers[run[0]], run


def parse_records(records: list[Any], assets_by_id: dict[Any, Asset], labels_by_id: dict[Any, str],
                  problems: ProblemCollector, report: Report, numbers: Sequence[int]) -> None:
    """`parse_annotations` for typed records: the same annotations on the same assets, the same problems.

    The common record (a bbox, a polygon or none, no keypoints, attributes or mask) becomes an `Annotation`
    here; any other record, a dict record (a chunk the types did not fit) and any record with a problem go to
    `parse_annotations` itself, in file order. `numbers`: each record's index in the file.

    Example:
        >>> a = Asset("a.jpg", 4, 4, [], 1)
        >>> parse_records(RECORDS.decode(b'[{"id": 5, "image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1]}]'),
        ...               {1: a}, {2: "cat"}, ProblemCollector(), Report(), range(1))
        >>> a.annotations[0].label, a.annotations[0].box, a.annotations[0].id
        ('cat', (0, 0, 1, 1), 5)
    """
    if isinstance(numbers, range) and records and records[0].__class__ is dict \
            and all(r.__class__ is dict for r in records):  # a list the types did not fit: as dicts, at once
        parse_annotations(records, assets_by_id, labels_by_id, problems, report, start=numbers.start)
        return
    new = Annotation
    pending: list[int] = []
    for i, r in enumerate(records):
        if r.__class__ is not AnnotationRecord or r.keypoints is not _UNSET or r.attributes is not _UNSET:
            pending.append(i)
            continue
        box = r.bbox
        seg = r.segmentation
        if box is None or not isfinite(box[0] + box[1] + box[2] + box[3]):
            pending.append(i)
            continue
        polygon = None
        if seg.__class__ is list:
            if seg:
                for part in seg:
                    if len(part) & 1:
                        break
                else:
                    polygon = seg
                if polygon is None:
                    pending.append(i)
                    continue
        elif seg is not None:  # an RLE mask
            pending.append(i)
            continue
        asset = assets_by_id.get(r.image_id)
        label = labels_by_id.get(r.category_id)
        if asset is None or label is None:
            pending.append(i)  # parse_annotations names the problem
            continue
        if pending:
            _parse_general(records, pending, numbers, assets_by_id, labels_by_id, problems, report)
        score = r.score
        asset.annotations.append(new(label, box, polygon, None, None, None, None,
                                     None if score is _UNSET else score, r.iscrowd, r.area, r.id, EMPTY, (), EMPTY))
    if pending:
        _parse_general(records, pending, numbers, assets_by_id, labels_by_id, problems, report)


def _parse_general(records: list[Any], pending: list[int], numbers: Sequence[int], assets_by_id: dict[Any, Asset],
                   labels_by_id: dict[Any, str], problems: ProblemCollector, report: Report) -> None:
    for start, run in _runs(pending, numbers):
        parse_annotations([reader_dict(records[i]) for i in run], assets_by_id, labels_by_id, problems, report,
                          start=start)
    pending.clear()
