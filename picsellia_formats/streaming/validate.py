"""`validate` of a COCO file without holding its assets: the per-asset rules batch by batch, the rest global.

Every asset, object, geometry and Q&A rule is a function of one asset, so `validation.objects.scan` runs
on a window of assets at a time (findings renumbered to the stream's asset positions). What spans assets
is kept as small summaries: file names packed in one buffer with a hash each (`PackedNames`), image ids
and object ids (int64 arrays), their repeats found by one sort at the end (`_repeats`), label counts and
empty images (the dataset rules). Findings are counted, and held up to `keep` per code
(`ValidationReport`): ~60 bytes per asset and ~20 per object in all. Image-file checks are left out (``images``
needs the whole folder; run them with the in-memory `validate`, or on an engine, see docs/scale.md).
A malformed record stops the stream with a FormatError naming it (the in-memory `validate` salvages
what it can from such a file instead).

Example:
    >>> r = validate_stream("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
    >>> r.stats["assets"], r.stats["objects"]
    (10, 12)
"""

from __future__ import annotations

import os
import time
from array import array
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Dataset
from ..validation.answers import check_schema
from ..validation.context import Context, Options, Source
from ..validation.dataset_rules import check_distribution, check_labels
from ..validation.findings import KEEP, Finding, FindingSink, ValidationReport
from ..validation.objects import scan
from ..validation.rules import RULES, select
from .api import stream

BATCH = 2000
#: rules spanning assets: checked here on summaries, not in each window
_GLOBAL = frozenset(("duplicate-file-name", "duplicate-asset-id", "duplicate-object-id", "undeclared-label"))
_DATASET = frozenset(("dataset-empty", "asset-empty", "class-few-objects", "class-imbalance", "label-unused",
                      "label-near-duplicate", "label-whitespace", "label-empty"))


def validate_stream(path: str | os.PathLike[str], rules: Iterable[str] | str | None = None, *,
                    skip: Iterable[str] | str | None = None, options: Options | None = None,
                    batch: int = BATCH, keep: int | None = KEEP, sink: FindingSink | None = None,
                    **option_values: Any) -> ValidationReport:
    """The findings `picsellia_formats.validate(path)` gives for a COCO file (no ``images``), streamed.

    The report counts every finding but holds only the first `keep` of each code (`KEEP`; None: all);
    `sink` (e.g. `picsellia_formats.validation.sink.FindingsFile`) gets every finding as it is found.
    """
    t0 = time.perf_counter()
    opts = Options(**{**(options.__dict__ if options else {}), **option_values})
    enabled = select(rules, skip) - {c for c, r in RULES.items() if r.category == "images"}
    local = enabled - _GLOBAL - _DATASET
    path = Path(path)
    s = stream(path, "coco")
    source = Source("coco", path)
    report = ValidationReport(keep=keep, sink=sink)
    file = str(path)
    names = PackedNames()
    asset_ids = array("q")  # the int id of each asset (0 when it has none or another kind: see odd_ids)
    odd_ids: dict[int, Any] = {}  # position -> an asset id that is not an int64 (kept as it is)
    has_int_id = bytearray()
    first_of_odd_id: dict[Any, int] = {}
    obj_ids, obj_ai, obj_oi, obj_label = array("q"), array("i"), array("i"), array("i")
    label_of: dict[Any, int] = {}
    label_names: list[Any] = []
    other_ids: dict[Any, tuple[int, int]] = {}
    label_counts: dict[str, int] = {}
    n_objects = 0
    assets = iter(s.assets)
    while True:
        window = list(islice(assets, batch))
        if not window:
            break
        offset = len(names)
        found = _Window()
        ctx = Context(Dataset(labels=s.labels, assets=window, metadata=s.metadata), opts,
                      local | (enabled & {"asset-empty"}), source, found)  # type: ignore[arg-type]
        counted = scan(ctx)
        check_schema(ctx)
        for ai in counted.empty_assets:
            ctx.emit("asset-empty", "the image has no objects", ai)
        for f in found.findings:
            if f.asset_index is not None:
                f.asset_index += offset
            if f.record is not None and f.record.startswith("image[") and f.record.endswith("]"):
                f.record = f"image[{int(f.record[6:-1]) + offset}]"
        report.extend(found.findings)
        for name, n in counted.label_counts.items():
            label_counts[name] = label_counts.get(name, 0) + n
        n_objects += counted.objects
        for ai, asset in enumerate(window, offset):
            name = asset.file_name
            names.append(name)
            i = asset.id
            if _int64(i):
                asset_ids.append(int(i))
                has_int_id.append(1)
                if type(i) is not int:  # 1.0, True: equal to 1 as keys, shown as they are
                    odd_ids[ai] = i
            else:
                asset_ids.append(0)
                has_int_id.append(0)
                if i is not None:
                    odd_ids[ai] = i
                    first = first_of_odd_id.setdefault(i, ai)
                    if first != ai and "duplicate-asset-id" in enabled:
                        report.add(_asset_id_finding(i, first, ai, names, file))
            for oi, ann in enumerate(asset.annotations):
                i = ann.id
                if i is None:
                    continue
                if type(i) is int and -(1 << 63) <= i < (1 << 63):
                    obj_ids.append(i)
                    obj_ai.append(ai)
                    obj_oi.append(oi)
                    li = label_of.get(ann.label)
                    if li is None:
                        li = label_of[ann.label] = len(label_names)
                        label_names.append(ann.label)
                    obj_label.append(li)
                else:
                    key = i if isinstance(i, str) else repr(i)
                    fa, fo = other_ids.setdefault(key, (ai, oi))
                    if (fa, fo) != (ai, oi) and "duplicate-object-id" in enabled:
                        report.add(_object_id_finding(i, fa, fo, ai, oi, names, file, ann.label))
    if "duplicate-file-name" in enabled:
        for ai, first in names.repeats():
            name = names[ai]
            report.add(_finding("duplicate-file-name", f"{name!r} is also the file of asset {first}", name, ai,
                                file, _image_record(odd_ids.get(ai, asset_ids[ai] if has_int_id[ai] else None), ai)))
    if "duplicate-asset-id" in enabled:
        with_id = np.flatnonzero(np.frombuffer(has_int_id, dtype=np.uint8))
        for k, f in _repeats(np.frombuffer(asset_ids, dtype=np.int64)[with_id]):
            ai, first = int(with_id[k]), int(with_id[f])
            report.add(_asset_id_finding(odd_ids.get(ai, asset_ids[ai]), first, ai, names, file))
    if "duplicate-object-id" in enabled:
        report.extend(_duplicate_int_ids(obj_ids, obj_ai, obj_oi, names, file, obj_label, label_names))
    end = Context(Dataset(labels=s.labels, assets=[None] * (len(names) > 0)), opts,  # type: ignore[list-item]
                  enabled & _DATASET - {"asset-empty"}, source)
    check_labels(end, label_counts)
    check_distribution(end, label_counts, [])
    report.extend(end.report.findings)
    report.options = {**opts.to_dict(), "rules": sorted(enabled)}
    report.stats = {"assets": len(names), "objects": n_objects, "labels": len(s.labels), "images_checked": None,
                    "source": file, "format": "coco", "seconds": round(time.perf_counter() - t0, 3),
                    "streamed": True}
    return report


class _Window:
    """A window's findings, in order, until they are renumbered and counted in the report (`add` only)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.add = self.findings.append


class PackedNames:
    """The assets' file names as one UTF-8 buffer and offsets (a few bytes per name, not a str object each),
    with a 64-bit hash per name to find repeats at the end.

    Example:
        >>> n = PackedNames()
        >>> for name in ["a.jpg", "b.jpg", "a.jpg"]:
        ...     n.append(name)
        >>> n[2], len(n), n.repeats()
        ('a.jpg', 3, [(2, 0)])
    """

    def __init__(self) -> None:
        self.blob = bytearray()
        self.ends = array("q")
        self.hashes = array("q")

    def append(self, name: str) -> None:
        self.blob += name.encode("utf-8", "surrogatepass")
        self.ends.append(len(self.blob))
        self.hashes.append(hash(name))

    def __getitem__(self, i: int) -> str:
        start = self.ends[i - 1] if i else 0
        return self.blob[start:self.ends[i]].decode("utf-8", "surrogatepass")

    def __len__(self) -> int:
        return len(self.ends)

    def repeats(self) -> list[tuple[int, int]]:
        """(position, position of the first asset of that name) for every name met before, in order."""
        candidates = sorted({k for pair in _repeats(np.frombuffer(self.hashes, dtype=np.int64)) for k in pair})
        first_of: dict[str, int] = {}  # names of equal hashes only: equal names, or a rare collision
        out = []
        for k in candidates:
            first = first_of.setdefault(self[k], k)
            if first != k:
                out.append((k, first))
        return out


def _int64(i: Any) -> bool:
    """Whether an asset id is an integer (1, 1.0, True: equal keys) within int64."""
    if type(i) is float:
        return i.is_integer() and -(1 << 63) <= i < (1 << 63)
    return type(i) in (int, bool) and -(1 << 63) <= i < (1 << 63)


def _repeats(values: Any) -> list[tuple[int, int]]:
    """(k, f) for every k whose value an earlier f has (f the first of them), in the order of k.

    One sorted copy finds the repeated values (usually none); only the positions holding them are then
    walked, so the peak is one copy of `values`, not the three an argsort takes.
    """
    ordered = np.sort(values)
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return []
    repeated = np.unique(ordered[1:][same])
    del ordered, same
    involved = np.flatnonzero(np.isin(values, repeated))
    first_of: dict[Any, int] = {}
    out = []
    for k, v in zip(involved.tolist(), values[involved].tolist()):
        f = first_of.setdefault(v, k)
        if f != k:
            out.append((k, f))
    return out


def _asset_id_finding(i: Any, first: int, ai: int, names: PackedNames, file: str) -> Finding:
    return _finding("duplicate-asset-id", f"asset id {i!r} is also the id of asset {first} ({names[first]!r})",
                    names[ai], ai, file, _image_record(i, ai))


def _image_record(image_id: Any, ai: int) -> str:
    return f"image (id={image_id!r})" if image_id is not None else f"image[{ai}]"


def _finding(code: str, message: str, asset: str, ai: int, file: str, record: str | None,
             oi: int | None = None, object_id: Any = None, label: Any = None) -> Finding:
    return Finding(code, RULES[code].severity, message, asset=asset, asset_index=ai, object_index=oi,
                   object_id=object_id, file=file, record=record, label=label)


def _object_id_finding(i: Any, fa: int, fo: int, ai: int, oi: int, names: PackedNames, file: str,
                       label: Any) -> Finding:
    return _finding("duplicate-object-id", f"object id {i!r} is also the id of object {fo} of {names[fa]!r}",
                    names[ai], ai, file, f"annotation (id={i!r})", oi, i, label)


def _duplicate_int_ids(ids: array, ai: array, oi: array, names: PackedNames, file: str, label: array,
                       label_names: list[Any]) -> list[Finding]:
    """Objects whose int id an earlier object has (one stable sort of the ids)."""
    values = np.frombuffer(ids, dtype=np.int64)
    return [_object_id_finding(int(values[k]), ai[f], oi[f], ai[k], oi[k], names, file, label_names[label[k]])
            for k, f in _repeats(values)]
