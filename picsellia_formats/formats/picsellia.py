"""Picsellia annotation JSON (the platform's ``images`` / ``annotations`` / ``categories`` file), read
and written without loss.

The schema, field by field, is in ``docs/reference/picsellia-json.md``. In short: ``images`` lists
the pictures (``external_picture_url`` is the file name, ``internal_picture_id`` the platform id);
``annotations`` holds one record per annotated picture with its shapes (``rectangle``, ``polygon``,
``classification``, ``line``, ``point`` and our extensions ``mask`` and ``keypoints``), object Q&A
(``qa``), image Q&A (``image_qa``), review flags (``is_accepted``, ``is_reviewed``, ``is_skipped``)
and ``time_spent`` / ``nb_labels``; ``categories`` lists the labels by name, in order.

Statuses: the flags map to `Asset.status` as ``PENDING`` = (accepted, reviewed, skipped) all false,
``SKIPPED`` = skipped only, ``ACCEPTED`` = accepted and reviewed, ``REFUSED`` = reviewed only; any
other combination keeps its flags as read (see `status_from_flags`) and is written back unchanged.
Keys this module does not know, at every level, are kept in ``extra["picsellia"]`` and written back.

Example:
    >>> import tempfile, pathlib
    >>> from picsellia_formats.formats import coco
    >>> ds = coco.read("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "picsellia.json"
    >>> write(ds, out)
    >>> back = read(out)
    >>> len(back), back.num_annotations, back.label_names
    (10, 12, ['cat'])
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..errors import FormatError, ProblemCollector
from ..fidelity import ForeignFields
from ..geometry import annotation_bbox
from ..io_utils import gc_paused, safe_relative_path
from ..model import EMPTY, QA, QA_KINDS, Annotation, Asset, Dataset, Label, Mask
from ..report import Report
from . import FormatSpec, Option
from ._json_files import detect_file_or_folder, load_json, read_head, resolve_file_or_folder

NAME = "picsellia"
#: Shape types; the first three are the platform's documented ones, line and point its legacy
#: label tools, mask and keypoints our documented extensions.
SHAPE_TYPES = ("rectangle", "polygon", "classification", "line", "point", "mask", "keypoints")
TYPE_OF_KIND = {"box": "rectangle", "polygon": "polygon", "classification": "classification",
                "line": "line", "point": "point", "mask": "mask", "keypoints": "keypoints"}
KIND_OF_TYPE = {t: k for k, t in TYPE_OF_KIND.items()}
#: Geometry keys in `Annotation.kind` precedence: a shape of one type may also carry the
#: geometries ranked after its own (e.g. the box a COCO file stated beside a polygon).
GEOMETRY_KEYS = ("mask", "polygon", "keypoints", "line", "point", "rectangle")
_RANK = {key: i for i, key in enumerate(GEOMETRY_KEYS)}
_RANK["classification"] = len(GEOMETRY_KEYS)
FLAG_KEYS = ("is_accepted", "is_reviewed", "is_skipped")
#: `Asset.status` -> (is_accepted, is_reviewed, is_skipped).
STATUS_FLAGS = {
    "PENDING": (False, False, False),
    "SKIPPED": (False, False, True),
    "ACCEPTED": (True, True, False),
    "REFUSED": (False, True, False),
}
_SHAPE_KEYS = frozenset(("type", "label", "qa", "id", "part", "attributes", "score", "iscrowd", "area",
                         *GEOMETRY_KEYS))
_EXTENSION_KEYS = frozenset(("id", "attributes", "score", "iscrowd", "area"))
_ATTR = {"rectangle": "box", "polygon": "polygon", "mask": "mask", "keypoints": "keypoints", "line": "line",
         "point": "point"}
_MISSING = object()
_CONTINUATION_KEYS = frozenset(("type", "label", "polygon", "part", "id", "qa"))
_RECORD_KEYS = frozenset(("internal_picture_id", "external_picture_url", "nb_labels", "time_spent",
                          "annotations", "image_qa", *FLAG_KEYS))
_IMAGE_KEYS = frozenset(("internal_picture_id", "external_picture_url", "width", "height", "tags",
                         "metadata"))
_CATEGORY_KEYS = frozenset(("name", "group", "keypoints", "skeleton"))
_QA_KEYS = frozenset(("type", "question", "answer", "choices", "min", "max"))
_TOP_KEYS = ("images", "annotations", "categories")
_JOIN_KEYS = ("internal_picture_id", "external_picture_url")
#: optional keys written even when empty, for files that do not say otherwise
_DEFAULT_ALWAYS: dict[str, tuple[str, ...]] = {
    "image": (),
    "record": ("internal_picture_id", "external_picture_url", "nb_labels"),
    **{t: ("qa",) for t in SHAPE_TYPES if t != "classification"},
    "classification": (),
}
_NUMS = frozenset((int, float))
_isfinite = math.isfinite
_chain = chain.from_iterable
_XY = itemgetter("x", "y")


def status_from_flags(flags: Mapping[str, Any]) -> str | None:
    """The `Asset.status` that review flags stand for (None when no flag is given).

    Skipped wins, then accepted, then reviewed (= refused); no true flag is PENDING.

    Example:
        >>> status_from_flags({"is_accepted": False, "is_reviewed": True, "is_skipped": False})
        'REFUSED'
        >>> status_from_flags({"is_accepted": True}), status_from_flags({})
        ('ACCEPTED', None)
    """
    if not any(k in flags for k in FLAG_KEYS):
        return None
    if flags.get("is_skipped"):
        return "SKIPPED"
    if flags.get("is_accepted"):
        return "ACCEPTED"
    if flags.get("is_reviewed"):
        return "REFUSED"
    return "PENDING"


def flags_of_status(status: str) -> dict[str, bool]:
    """The three review flags written for `status` (one of ``model.STATUSES``).

    Example:
        >>> flags_of_status("ACCEPTED")
        {'is_accepted': True, 'is_reviewed': True, 'is_skipped': False}
    """
    accepted, reviewed, skipped = STATUS_FLAGS[status]
    return {"is_accepted": accepted, "is_reviewed": reviewed, "is_skipped": skipped}


# --------------------------------------------------------------------------------------------- detect

_SHAPE_TYPE_RE = re.compile(rb'"type"\s*:\s*"(?:rectangle|polygon|classification|line|point|mask|keypoints)"')


def _sniff(path: Path) -> tuple[float, str]:
    """Look at the head of a JSON file for Picsellia's keys (no full parse)."""
    if path.suffix.lower() != ".json":
        return 0.0, f"{path.name} is not a .json file"
    head = read_head(path)
    if not head.lstrip().startswith(b"{"):
        return 0.0, "not a JSON object"
    if b'"external_picture_url"' in head or b'"internal_picture_id"' in head:
        return 0.95, "has Picsellia picture keys (external_picture_url / internal_picture_id)"
    if b'"annotations"' in head and b'"label"' in head and _SHAPE_TYPE_RE.search(head):
        if b'"image_id"' in head and b'"category_id"' in head:
            return 0.0, "typed shapes beside COCO image_id/category_id"
        return 0.7, "has per-image annotation lists of typed shapes (rectangle, polygon, ...)"
    return 0.0, "no Picsellia keys (external_picture_url, internal_picture_id, typed shapes) in its head"


def detect(path: Path) -> tuple[float, str]:
    """Confidence that `path` (a .json file, or a folder holding exactly one) is Picsellia JSON."""
    return detect_file_or_folder(path, _sniff, "Picsellia")


# ------------------------------------------------------------------------------------------ geometry


class _Bad(Exception):
    """A malformed value inside one record (turned into a problem naming that record)."""


def _number(v: Any, what: str) -> Any:
    t = type(v)
    if t is int or (t is float and _isfinite(v)):
        return v
    raise _Bad(f"{what} must be a finite number, got {v!r:.60}")


def _check_numbers(flat: list[Any], geom: list[Any], what: str, names: str) -> None:
    try:
        if set(map(type, flat)) <= _NUMS and all(map(_isfinite, flat)):
            return
    except OverflowError:
        pass
    n = len(names)
    for k, v in enumerate(flat):
        if type(v) not in _NUMS or not _finite(v):
            raise _Bad(f"{what}.geometry[{k // n}].{names[k % n]} must be a finite number, got {v!r:.60}")


def _finite(v: Any) -> bool:
    try:
        return _isfinite(v)
    except OverflowError:
        return False


def _points(obj: Any, what: str, minimum: int) -> tuple[list[Any], bool]:
    """Flat ``[x0, y0, ...]`` of ``{"geometry": [{"x", "y"}, ...]}``; True when it has other keys."""
    try:
        geom = obj["geometry"]
        flat = [*_chain(map(_XY, geom))]
    except (KeyError, TypeError, IndexError):
        geom = flat = None
    if type(geom) is not list or flat is None:
        _points_problem(obj, what)
    if len(geom) < minimum:
        raise _Bad(f"{what} needs at least {minimum} points, got {len(geom)}")
    try:
        ok = set(map(type, flat)) <= _NUMS and _isfinite(sum(flat))
    except OverflowError:
        ok = False
    if not ok:
        _check_numbers(flat, geom, what, "xy")
    return flat, len(obj) != 1 or sum(map(len, geom)) != 2 * len(geom)


def _points_problem(obj: Any, what: str) -> None:
    """Raise the precise problem of a malformed ``{"geometry": [...]}`` object."""
    if type(obj) is not dict or type(obj.get("geometry")) is not list:
        raise _Bad(f"{what} must be an object with a 'geometry' list of points, got {obj!r:.60}")
    for k, p in enumerate(obj["geometry"]):
        if type(p) is not dict or "x" not in p or "y" not in p:
            raise _Bad(f"{what}.geometry[{k}] must be an object with x and y, got {p!r:.60}")
    raise _Bad(f"{what} is malformed")


def _parse_rectangle(obj: Any) -> tuple[Any, bool]:
    try:
        top, left, width, height = obj["top"], obj["left"], obj["width"], obj["height"]
        if (type(top) in _NUMS and type(left) in _NUMS and type(width) in _NUMS and type(height) in _NUMS
                and width >= 0 and height >= 0 and _isfinite(top + left + width + height)):
            return (left, top, width, height), len(obj) != 4
    except (KeyError, TypeError, OverflowError):
        pass
    return _rectangle_problem(obj)


def _rectangle_problem(obj: Any) -> tuple[Any, bool]:
    """The precise problem of a rectangle the fast path refused (or the rectangle, if only its sum
    overflowed)."""
    if type(obj) is not dict:
        raise _Bad(f"rectangle must be an object with top, left, width and height, got {obj!r:.60}")
    for key in ("top", "left", "width", "height"):
        if key not in obj:
            raise _Bad(f"rectangle lacks {key!r}")
        _number(obj[key], f"rectangle.{key}")
    if obj["width"] < 0 or obj["height"] < 0:
        raise _Bad(f"rectangle has a negative size ({obj['width']!r} x {obj['height']!r})")
    return (obj["left"], obj["top"], obj["width"], obj["height"]), len(obj) != 4


def _parse_polygon(obj: Any) -> tuple[Any, bool]:
    return _points(obj, "polygon", 3)


def _parse_line(obj: Any) -> tuple[Any, bool]:
    return _points(obj, "line", 2)


def _parse_point(obj: Any) -> tuple[Any, bool]:
    if type(obj) is not dict or "x" not in obj or "y" not in obj:
        raise _Bad(f"point must be an object with x and y, got {obj!r:.60}")
    return (_number(obj["x"], "point.x"), _number(obj["y"], "point.y")), len(obj) != 2


def _parse_keypoints(obj: Any) -> tuple[Any, bool]:
    if type(obj) is not dict or type(obj.get("geometry")) is not list:
        raise _Bad(f"keypoints must be an object with a 'geometry' list of {{x, y, v}}, got {obj!r:.60}")
    geom = obj["geometry"]
    if not geom:
        raise _Bad("keypoints needs at least 1 point")
    try:
        flat = [v for p in geom for v in (p["x"], p["y"], p["v"])]
    except (KeyError, TypeError):
        for k, p in enumerate(geom):
            if type(p) is not dict or not {"x", "y", "v"} <= p.keys():
                raise _Bad(f"keypoints.geometry[{k}] must be an object with x, y and v, "
                           f"got {p!r:.60}") from None
        raise
    try:
        ok = set(map(type, flat)) <= _NUMS and _isfinite(sum(flat))
    except OverflowError:
        ok = False
    if not ok:
        _check_numbers(flat, geom, "keypoints", "xyv")
    return flat, len(obj) != 1 or set(map(len, geom)) != {3}


def _parse_mask(obj: Any) -> tuple[Any, bool]:
    if type(obj) is not dict:
        raise _Bad(f"mask must be a COCO RLE object with size and counts, got {obj!r:.60}")
    size, counts = obj.get("size"), obj.get("counts")
    if type(size) is not list or len(size) != 2 or any(type(v) is not int or v < 0 for v in size):
        raise _Bad(f"mask.size must be [height, width] of non-negative integers, got {size!r:.60}")
    if type(counts) is list:
        if counts and not (set(map(type, counts)) == {int} and min(counts) >= 0):
            raise _Bad("mask.counts must be a string or a list of non-negative integers")
        if sum(counts) != size[0] * size[1]:
            raise _Bad(f"mask.counts sum to {sum(counts)}, expected {size[0]} x {size[1]}")
    elif type(counts) is not str:
        raise _Bad(f"mask.counts must be a string or a list of non-negative integers, got {counts!r:.60}")
    return Mask(size[0], size[1], counts), len(obj) != 2


_PARSERS = {
    "rectangle": _parse_rectangle,
    "polygon": _parse_polygon,
    "line": _parse_line,
    "point": _parse_point,
    "keypoints": _parse_keypoints,
    "mask": _parse_mask,
}


def _parse_qa(items: Any, what: str) -> list[QA]:
    """Q&A entries (the platform's four kinds), validated; unknown and null keys kept in `QA.extra`."""
    if type(items) is not list:
        raise _Bad(f"{what} must be a list, got {type(items).__name__}")
    out = []
    for k, q in enumerate(items):
        where = f"{what}[{k}]"
        if type(q) is not dict:
            raise _Bad(f"{where} must be an object, got {q!r:.60}")
        kind = q.get("type")
        if kind not in QA_KINDS:
            raise _Bad(f"{where}: Q&A type {kind!r:.40} is not one of {', '.join(QA_KINDS)}")
        question = q.get("question")
        if type(question) is not str:
            raise _Bad(f"{where}: question must be a string, got {question!r:.60}")
        if "answer" not in q:
            raise _Bad(f"{where}: lacks 'answer'")
        answer = q["answer"]
        if answer is not None:
            if kind == "mc":
                if type(answer) is not list or not all(type(a) is str for a in answer):
                    raise _Bad(f"{where}: a mc answer must be a list of strings, got {answer!r:.60}")
            elif kind == "range":
                _number(answer, f"{where}: a range answer")
            elif type(answer) is not str:
                raise _Bad(f"{where}: a {kind} answer must be a string, got {answer!r:.60}")
        choices = q.get("choices")
        if choices is not None and (type(choices) is not list or not all(type(c) is str for c in choices)):
            raise _Bad(f"{where}: choices must be a list of strings, got {choices!r:.60}")
        low, high = q.get("min"), q.get("max")
        if low is not None:
            _number(low, f"{where}: min")
        if high is not None:
            _number(high, f"{where}: max")
        extra = {key: v for key, v in q.items()
                 if key not in _QA_KEYS or (v is None and key in ("choices", "min", "max"))}
        out.append(QA(kind, question, answer, choices, low, high, extra or EMPTY))
    return out


# ----------------------------------------------------------------------------------------------- read


def _pe(holder: Asset | Annotation) -> dict[str, Any]:
    """The holder's ``extra["picsellia"]`` dict, created on first use."""
    extra = holder.extra
    if "picsellia" not in extra:
        extra = dict(extra)
        extra["picsellia"] = {}
        holder.extra = extra
    return extra["picsellia"]


def _ann_keys(ann: Annotation) -> dict[str, Any]:
    return _pe(ann).setdefault("keys", {})


class _Presence:
    """Which optional keys every record of a kind carried (written back even when empty)."""

    def __init__(self) -> None:
        self.total: dict[str, int] = {}
        self.present: dict[tuple[str, str], int] = {}
        # (kind, key) -> holders whose empty value must be kept verbatim unless the key is "always"
        self.pending: dict[tuple[str, str], list[Any]] = {}

    def seen(self, kind: str) -> None:
        self.total[kind] = self.total.get(kind, 0) + 1

    def has(self, kind: str, key: str) -> None:
        self.present[(kind, key)] = self.present.get((kind, key), 0) + 1

    def empty(self, kind: str, key: str, holder: Any) -> None:
        self.present[(kind, key)] = self.present.get((kind, key), 0) + 1
        self.pending.setdefault((kind, key), []).append(holder)

    def always(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for (kind, key), n in self.present.items():
            if n == self.total.get(kind):
                out.setdefault(kind, []).append(key)
        return {k: sorted(v) for k, v in out.items()}


class _Reader:
    def __init__(self, path: Path, problems: ProblemCollector, report: Report) -> None:
        self.path = path
        self.problems = problems
        self.report = report
        self.presence = _Presence()
        self.labels: list[Label] = []
        self.label_names: set[str] = set()
        self.undeclared: list[str] = []
        self.nb_labels_mismatch = 0
        self.odd_flags = 0

    # -- categories
    def categories(self, cats: Any) -> None:
        if type(cats) is not list:
            self.problems.add("categories", f"must be a list, got {type(cats).__name__}")
            return
        for i, c in enumerate(cats):
            record = f"category[{i}]"
            if type(c) is not dict:
                self.problems.add(record, f"expected an object, got {c!r:.60}")
                continue
            name = c.get("name")
            if type(name) is not str:
                self.problems.add(record, f"name must be a string, got {name!r:.60}")
                continue
            group, keypoints, skeleton = c.get("group"), c.get("keypoints"), c.get("skeleton")
            if group is not None and type(group) is not str:
                self.problems.add(record, f"group must be a string, got {group!r:.60}")
                continue
            if keypoints is not None and (type(keypoints) is not list
                                          or not all(type(k) is str for k in keypoints)):
                self.problems.add(record, f"keypoints must be a list of names, got {keypoints!r:.60}")
                continue
            if skeleton is not None and (type(skeleton) is not list or not all(
                    type(e) is list and len(e) == 2 and all(type(v) is int for v in e) for e in skeleton)):
                self.problems.add(record, f"skeleton must be a list of [i, j] pairs, got {skeleton!r:.60}")
                continue
            if name in self.label_names:
                self.report.changed("categories sharing a name merged into one label", why=f"name {name!r}",
                                    example=record)
                continue
            extra = {k: v for k, v in c.items()
                     if k not in _CATEGORY_KEYS or (v is None and k != "name")}
            self.labels.append(Label(name, group, None, keypoints, skeleton,
                                     {"picsellia": extra} if extra else EMPTY))
            self.label_names.add(name)

    # -- images
    def images(self, images: Any) -> list[Asset]:
        assets: list[Asset] = []
        if type(images) is not list:
            self.problems.add("images", f"must be a list, got {type(images).__name__}")
            return assets
        presence = self.presence
        for i, im in enumerate(images):
            record = f"image[{i}]"
            if type(im) is not dict:
                self.problems.add(record, f"expected an object, got {im!r:.60}")
                continue
            try:
                asset = self._image(im, record)
            except _Bad as exc:
                self.problems.add(_name(record, im), str(exc))
                continue
            presence.seen("image")
            assets.append(asset)
        return assets

    def _image(self, im: dict[str, Any], record: str) -> Asset:
        url = im.get("external_picture_url")
        if type(url) is not str or not url:
            raise _Bad(f"external_picture_url must be a non-empty string, got {url!r:.60}")
        pid = None
        if "internal_picture_id" in im:
            pid = im["internal_picture_id"]
            if type(pid) not in (str, int):
                raise _Bad(f"internal_picture_id must be a string or an integer, got {pid!r:.60}")
        verbatim = {k: v for k, v in im.items() if k not in _IMAGE_KEYS}
        size = []
        for key in ("width", "height"):
            v = im.get(key)
            if v is None:
                if key in im:
                    verbatim[key] = None
            elif not (type(v) in _NUMS and _finite(v) and v >= 0):
                raise _Bad(f"{key} must be a non-negative number, got {v!r:.60}")
            size.append(v)
        asset = Asset(url, size[0], size[1], [], pid)
        tags = im.get("tags")
        if tags is not None:
            if type(tags) is not list or not all(type(t) is str for t in tags):
                raise _Bad(f"tags must be a list of strings, got {tags!r:.60}")
            if tags:
                asset.tags = tags
                self.presence.has("image", "tags")
            else:
                self.presence.empty("image", "tags", asset)
        elif "tags" in im:
            verbatim["tags"] = None
        meta = im.get("metadata")
        if meta is not None:
            if type(meta) is not dict:
                raise _Bad(f"metadata must be an object, got {meta!r:.60}")
            if meta:
                asset.metadata = meta
                self.presence.has("image", "metadata")
            else:
                self.presence.empty("image", "metadata", asset)
        elif "metadata" in im:
            verbatim["metadata"] = None
        asset.extra = {"picsellia": {"image": verbatim}} if verbatim else {"picsellia": {}}
        return asset

    # -- annotation records
    def records(self, records: Any, assets: list[Asset], from_images: bool, progress: bool = False) -> list[Asset]:
        if type(records) is not list:
            self.problems.add("annotations", f"must be a list, got {type(records).__name__}")
            return assets
        items: Iterable[Any] = records
        if progress and len(records) > 1:
            from ..progress import track

            items = track(records, f"reading {self.path.name}", unit="record")
        by_id: dict[Any, Asset] = {}
        by_url: dict[str, Asset | None] = {}
        for k, asset in enumerate(assets):
            if asset.id is not None:
                if asset.id in by_id:
                    self.problems.add(f"image[{k}]", f"duplicate internal_picture_id {asset.id!r}")
                by_id[asset.id] = asset
            by_url[asset.file_name] = None if asset.file_name in by_url else asset
        done: dict[int, str] = {}
        join_sets: dict[tuple[str, ...], int] = {}
        for i, rec in enumerate(items):
            record = f"annotations[{i}]"
            if type(rec) is not dict:
                self.problems.add(record, f"expected an object, got {rec!r:.60}")
                continue
            record = _name(record, rec)
            try:
                asset = self._join(rec, by_id, by_url, assets, from_images)
                if id(asset) in done:
                    raise _Bad(f"a second annotation record for picture {asset.file_name!r} "
                               f"(the first is {done[id(asset)]})")
                done[id(asset)] = record
                self._record(rec, asset, record)
            except _Bad as exc:
                self.problems.add(record, str(exc))
                continue
            join = tuple(k for k in _JOIN_KEYS if rec.get(k) is not None)
            join_sets[join] = join_sets.get(join, 0) + 1
            _pe(asset)["join"] = join
        # the join keys every record carried are the file's rule; records with more keep theirs
        common = set(_JOIN_KEYS)
        for join in join_sets:
            common &= set(join)
        self.record_join = [k for k in _JOIN_KEYS if k in common]
        for asset in assets:
            pe = asset.extra.get("picsellia") if asset.extra else None
            if pe and "join" in pe:
                if set(pe["join"]) == common:
                    del pe["join"]
                else:
                    pe["join"] = list(pe["join"])
        return assets

    def _join(self, rec: dict[str, Any], by_id: dict[Any, Asset], by_url: dict[str, Asset | None],
              assets: list[Asset], from_images: bool) -> Asset:
        pid, url = rec.get("internal_picture_id"), rec.get("external_picture_url")
        if pid is None and url is None:
            raise _Bad("has neither internal_picture_id nor external_picture_url")
        if pid is not None and type(pid) not in (str, int):
            raise _Bad(f"internal_picture_id must be a string or an integer, got {pid!r:.60}")
        if url is not None and (type(url) is not str or not url):
            raise _Bad(f"external_picture_url must be a non-empty string, got {url!r:.60}")
        if not from_images:
            if url is None:
                raise _Bad("needs external_picture_url (the file has no images list)")
            key = pid if pid is not None else ("url", url)
            asset = by_id.get(key)
            if asset is None:
                asset = Asset(url, None, None, [], pid, extra={"picsellia": {}})
                by_id[key] = asset
                assets.append(asset)
            return asset
        if pid is not None:
            asset = by_id.get(pid)
            if asset is None:
                raise _Bad(f"internal_picture_id {pid!r} is not among the images")
            if url is not None and url != asset.file_name:
                raise _Bad(f"external_picture_url {url!r} disagrees with image {pid!r} ({asset.file_name!r})")
            return asset
        if url not in by_url:
            raise _Bad(f"external_picture_url {url!r} is not among the images")
        asset = by_url[url]  # type: ignore[index]
        if asset is None:
            raise _Bad(f"external_picture_url {url!r} names several images; give internal_picture_id")
        return asset

    def _record(self, rec: dict[str, Any], asset: Asset, record: str) -> None:
        presence = self.presence
        presence.seen("record")
        pe = _pe(asset)
        shapes = rec.get("annotations")
        if type(shapes) is not list:
            raise _Bad(f"annotations must be a list of shapes, got {shapes!r:.60}")
        verbatim = {k: v for k, v in rec.items() if k not in _RECORD_KEYS or (v is None and k in _JOIN_KEYS)}
        nb = rec.get("nb_labels")
        if nb is not None:
            if type(nb) is not int or nb < 0:
                raise _Bad(f"nb_labels must be a non-negative integer, got {nb!r:.60}")
            if nb != len(shapes):
                self.nb_labels_mismatch += 1
                pe["nb_labels"] = nb
                presence.has("record", "nb_labels")
            else:
                presence.empty("record", "nb_labels", (asset, nb))
        elif "nb_labels" in rec:
            verbatim["nb_labels"] = None
        if "time_spent" in rec:
            t = rec["time_spent"]
            if t is not None:
                _number(t, "time_spent")
            pe["time_spent"] = t
        flags = {k: rec[k] for k in FLAG_KEYS if k in rec}
        if flags:
            for k, v in flags.items():
                if v is not None and type(v) is not bool:
                    raise _Bad(f"{k} must be true or false, got {v!r:.60}")
            status = status_from_flags(flags)
            asset.status = status
            if len(flags) != 3 or tuple(flags[k] for k in FLAG_KEYS) != STATUS_FLAGS[status]:  # type: ignore[index]
                pe["flags"] = flags
                self.odd_flags += 1
        if "image_qa" in rec:
            qa = rec["image_qa"]
            if qa is None:
                verbatim["image_qa"] = None
            else:
                asset.qa = _parse_qa(qa, "image_qa")
                if asset.qa:
                    presence.has("record", "image_qa")
                else:
                    presence.empty("record", "image_qa", asset)
        pe["record"] = verbatim
        self._shapes(shapes, asset, record)

    # -- shapes: the hot loop
    def _shapes(self, shapes: list[Any], asset: Asset, record: str) -> None:
        anns = asset.annotations
        presence = self.presence
        label_names = self.label_names
        opened: Annotation | None = None  # the object whose part 0 came last, and whether it had qa
        opened_qa = False
        for j, s in enumerate(shapes):
            if type(s) is not dict:
                raise _Bad(f"annotations[{j}] must be a shape object, got {s!r:.60}")
            t = s.get("type")
            rank = _RANK.get(t) if type(t) is str else None
            if rank is None:
                raise _Bad(f"annotations[{j}]: shape type {t!r:.40} is not one of {', '.join(SHAPE_TYPES)}")
            label = s.get("label")
            if type(label) is not str:
                raise _Bad(f"annotations[{j}] ({t}): label must be a string, got {label!r:.60}")
            part = s.get("part")
            if "part" in s and (type(part) is not int or part < 0 or t != "polygon"):
                raise _Bad(f"annotations[{j}] ({t}): part must be a non-negative integer on a polygon, "
                           f"got {part!r:.40}")
            try:
                if part:
                    self._continue(s, part, opened, opened_qa, label)
                    continue
                ann = self._shape(s, t, rank, label, presence)
            except _Bad as exc:
                raise _Bad(f"annotations[{j}] ({t}): {exc}") from None
            if label not in label_names:
                label_names.add(label)
                self.undeclared.append(label)
            if part == 0:
                _ann_keys(ann)["part"] = 0  # dropped again once a second part joins
                opened, opened_qa = ann, "qa" in s
            else:
                opened = None
            anns.append(ann)

    def _shape(self, s: dict[str, Any], t: str, rank: int, label: str, presence: _Presence) -> Annotation:
        total = presence.total
        total[t] = total.get(t, 0) + 1
        ann = Annotation(label)
        raw: dict[str, Any] | None = None
        verbatim: dict[str, Any] | None = None
        n = 2
        if t != "classification":
            try:
                obj = s[t]
            except KeyError:
                raise _Bad(f"lacks its {t!r} object") from None
            value, odd = _PARSERS[t](obj)
            if t == "polygon":
                ann.polygon = [value]
            else:
                setattr(ann, _ATTR[t], value)
            if odd:
                raw = {t: obj}
            n = 3
        qa = s.get("qa", _MISSING)
        if qa is not _MISSING:
            n += 1
            if qa:
                ann.qa = _parse_qa(qa, "qa")
                presence.has(t, "qa")
            elif type(qa) is list:  # presence.empty(t, "qa", ann), inlined: the hot path
                key = (t, "qa")
                present = presence.present
                present[key] = present.get(key, 0) + 1
                pending = presence.pending.get(key)
                if pending is None:
                    pending = presence.pending[key] = []
                pending.append(ann)
            elif qa is None:
                verbatim = {"qa": None}
            else:
                raise _Bad(f"qa must be a list, got {qa!r:.60}")
        if "part" in s:
            n += 1
        if len(s) > n:
            verbatim, raw = self._rest(s, ann, t, rank, presence, verbatim, raw)
        if verbatim or raw:
            pe: dict[str, Any] = {}
            if verbatim:
                pe["keys"] = verbatim
            if raw:
                pe["raw"] = raw
            ann.extra = {"picsellia": pe}
        return ann

    def _rest(self, s: dict[str, Any], ann: Annotation, t: str, rank: int, presence: _Presence,
              verbatim: dict[str, Any] | None, raw: dict[str, Any] | None
              ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Secondary geometries, our extension keys (id, attributes, score, iscrowd, area) and unknown
        keys of a shape."""
        for key in GEOMETRY_KEYS:
            if key == t or key not in s:
                continue
            v = s[key]
            if _RANK[key] < rank:  # a geometry that would outrank the type: kept as it is
                verbatim = verbatim or {}
                verbatim[key] = v
                continue
            value, odd = _PARSERS[key](v)
            setattr(ann, _ATTR[key], [value] if key == "polygon" else value)
            if odd:
                raw = raw or {}
                raw[key] = v
        v = s.get("id")
        if v is not None:
            if type(v) not in (str, int):
                raise _Bad(f"id must be a string or an integer, got {v!r:.60}")
            ann.id = v
        v = s.get("score")
        if v is not None:
            ann.score = _number(v, "score")
        v = s.get("area")
        if v is not None:
            ann.area = _number(v, "area")
        v = s.get("iscrowd")
        if v is not None:
            if v not in (0, 1) or type(v) is not int:
                raise _Bad(f"iscrowd must be 0 or 1, got {v!r:.60}")
            if v:
                ann.iscrowd = 1
            else:
                verbatim = verbatim or {}
                verbatim["iscrowd"] = 0
        v = s.get("attributes")
        if v is not None:
            if type(v) is not dict:
                raise _Bad(f"attributes must be an object, got {v!r:.60}")
            if v:
                ann.attributes = v
                presence.has(t, "attributes")
            else:
                presence.empty(t, "attributes", ann)
        if not (s.keys() <= _SHAPE_KEYS):
            verbatim = verbatim or {}
            for key, v in s.items():
                if key not in _SHAPE_KEYS:
                    verbatim[key] = v
        for key in _EXTENSION_KEYS:
            if key in s and s[key] is None:
                verbatim = verbatim or {}
                verbatim[key] = None
        return verbatim, raw

    def _continue(self, s: dict[str, Any], part: int, prev: Annotation | None, with_qa: bool,
                  label: str) -> None:
        """Append part `part` (>= 1) of a multi-part polygon to the object (with ``part: 0``) before it."""
        if prev is None or prev.polygon is None or len(prev.polygon) != part:
            raise _Bad(f"part {part} does not follow part {part - 1} of a polygon")
        if label != prev.label:
            raise _Bad(f"part {part} has label {label!r}, its object {prev.label!r}")
        if ("id" in s) != (prev.id is not None) or s.get("id") != prev.id:
            raise _Bad(f"part {part} has id {s.get('id')!r}, its object {prev.id!r}")
        if not (s.keys() <= _CONTINUATION_KEYS) or s.get("qa", []) != []:
            raise _Bad(f"part {part} of a polygon may carry only type, label, polygon, part, id and an "
                       "empty qa")
        if ("qa" in s) != with_qa:
            raise _Bad(f"part {part} must carry qa exactly when part 0 does")
        if "polygon" not in s:
            raise _Bad("lacks its 'polygon' object")
        flat, odd = _parse_polygon(s["polygon"])
        prev.polygon.append(flat)
        pe = prev.extra.get("picsellia") if prev.extra else None
        if pe and pe.get("keys", {}).get("part") == 0:
            del pe["keys"]["part"]
            if not pe["keys"]:
                del pe["keys"]
            if not pe:
                prev.extra = EMPTY
                pe = None
        if odd:
            raws = _pe(prev).setdefault("raw", {})
            parts = raws.get("polygon")
            if type(parts) is not list:
                parts = raws["polygon"] = [parts] if parts is not None else [None]
            parts.extend([None] * (part - len(parts)))
            parts.append(s["polygon"])
        elif pe and type(pe.get("raw", {}).get("polygon")) is dict:
            pe["raw"]["polygon"] = [pe["raw"]["polygon"], None]
        elif pe and type(pe.get("raw", {}).get("polygon")) is list:
            pe["raw"]["polygon"].append(None)

    def finish(self, assets: list[Asset]) -> dict[str, Any]:
        """Resolve which empty values are the file's rule and which are kept verbatim; report."""
        presence = self.presence
        always = presence.always()
        for (kind, key), holders in presence.pending.items():
            if key in always.get(kind, ()):
                continue
            for holder in holders:
                if kind == "image":
                    _pe(holder).setdefault("image", {})[key] = [] if key == "tags" else {}
                elif kind == "record":
                    if key == "nb_labels":
                        _pe(holder[0])["nb_labels"] = holder[1]
                    else:
                        _pe(holder)["record"][key] = []
                else:
                    _ann_keys(holder)[key] = [] if key == "qa" else {}
        always["record"] = always.get("record", []) + self.record_join
        for kind, keys in _DEFAULT_ALWAYS.items():  # kinds the file has none of: as for a new file
            if not presence.total.get(kind):
                always[kind] = list(keys)
        for asset in assets:
            if not asset.extra.get(NAME, True):
                asset.extra = EMPTY
        if self.undeclared:
            self.report.changed("labels used by shapes but missing from categories added",
                                len(self.undeclared), example=", ".join(self.undeclared[:5]))
        if self.nb_labels_mismatch:
            self.report.info("nb_labels kept as stated", self.nb_labels_mismatch,
                             "it differs from the number of shapes")
        if self.odd_flags:
            self.report.info("review flags kept as read", self.odd_flags,
                             "not one of the four standard combinations; status derived from them")
        return always


def _name(record: str, obj: Any) -> str:
    if type(obj) is dict:
        url = obj.get("external_picture_url")
        if type(url) is str:
            return f"{record} ({url})"
        pid = obj.get("internal_picture_id")
        if pid is not None:
            return f"{record} (internal_picture_id={pid!r:.40})"
    return record


def read(
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    progress: bool = False,
) -> Dataset:
    """Read a Picsellia annotation JSON file (or a folder holding exactly one).

    `images`: the folder of the pictures; when given, a picture without width/height in the file
    gets them from its image header (after EXIF orientation). `progress`: a bar over the annotation
    records on stderr when it is a terminal. Raises FormatError naming the file and the records
    that are wrong.

    Example:
        >>> ds = read("tests/data/picsellia/full.json")
        >>> [a.status for a in ds.assets]
        ['ACCEPTED', 'REFUSED', 'SKIPPED', 'PENDING', 'ACCEPTED', None]
    """
    path = resolve_file_or_folder(Path(path), _sniff, "Picsellia")
    report = report if report is not None else Report()
    problems = ProblemCollector(path)
    with gc_paused():
        top = load_json(path)
        if type(top) is not dict:
            raise FormatError(f"expected a JSON object with images, annotations and categories, got "
                              f"{type(top).__name__}", file=path)
        if "images" not in top and "annotations" not in top:
            raise FormatError("not a Picsellia JSON file: no 'images' or 'annotations' list", file=path)
        reader = _Reader(path, problems, report)
        reader.categories(top.get("categories", []))
        from_images = "images" in top
        assets = reader.images(top["images"]) if from_images else []
        reader.records(top.get("annotations", []), assets, from_images, progress)
        problems.raise_if_any()
        always = reader.finish(assets)
        labels = reader.labels + [Label(name) for name in reader.undeclared]
    if images is not None:
        _sizes_from_images(assets, Path(images), report)
    meta: dict[str, Any] = {"key_order": [k for k in top if k in _TOP_KEYS], "always": always}
    other = {k: v for k, v in top.items() if k not in _TOP_KEYS}
    if other:
        meta["top"] = other
    return Dataset(labels, assets, {NAME: meta})


def _sizes_from_images(assets: list[Asset], folder: Path, report: Report) -> None:
    from ..images import image_size

    missing = 0
    for asset in assets:
        if asset.width is not None and asset.height is not None:
            continue
        try:
            rel = safe_relative_path(asset.file_name)
        except ValueError:
            missing += 1
            continue
        for candidate in (folder / rel, folder / rel.name):
            if candidate.is_file():
                asset.width, asset.height = image_size(candidate)
                break
        else:
            missing += 1
    if missing:
        report.info("pictures without a size", missing, f"no image file for them in {folder}")


# ---------------------------------------------------------------------------------------------- write


def _points_obj(flat: list[Any]) -> dict[str, Any]:
    return {"geometry": [{"x": x, "y": y} for x, y in zip(flat[0::2], flat[1::2])]}


def _keypoints_obj(flat: list[Any]) -> dict[str, Any]:
    return {"geometry": [{"x": x, "y": y, "v": v} for x, y, v in zip(flat[0::3], flat[1::3], flat[2::3])]}


def _geometry_obj(key: str, value: Any, raw: Any) -> Any:
    """The JSON object of one geometry; the object as read when it still says the same."""
    if raw is not None:
        try:
            if _PARSERS[key](raw)[0] == value:
                return raw
        except _Bad:
            pass
    if key == "rectangle":
        x, y, w, h = value
        return {"top": y, "left": x, "width": w, "height": h}
    if key in ("polygon", "line"):
        return _points_obj(value)
    if key == "point":
        return {"x": value[0], "y": value[1]}
    if key == "keypoints":
        return _keypoints_obj(value)
    return value.to_coco()


class _Writer:
    def __init__(self, dataset: Dataset, report: Report, masks: str, platform_only: bool) -> None:
        self.dataset = dataset
        self.report = report
        self.masks = "polygon" if platform_only and masks == "rle" else masks
        self.platform_only = platform_only
        meta = dataset.metadata.get(NAME)
        always = meta.get("always") if meta else None
        if always is None:
            always = _DEFAULT_ALWAYS
        self.always = {k: frozenset(v) for k, v in always.items()}
        self.record_join = [k for k in _JOIN_KEYS if k in self.always.get("record", ())] or list(_JOIN_KEYS)
        self.counts: dict[tuple[str, str, str], int] = {}
        self.foreign = ForeignFields(NAME)

    def count(self, kind: str, what: str, why: str = "", n: int = 1) -> None:
        key = (kind, what, why)
        self.counts[key] = self.counts.get(key, 0) + n

    # -- shapes
    def shapes(self, ann: Annotation, asset: Asset) -> list[dict[str, Any]]:
        pe = ann.extra.get(NAME) if ann.extra else None
        keys = pe.get("keys") if pe else None
        raw = pe.get("raw") if pe else None
        self.foreign.add("objects", ann.extra)
        geoms = self._geometries(ann, asset)
        if geoms is None:
            return []
        t = geoms[0][0] if geoms else "classification"
        out: dict[str, Any] = {"type": t, "label": ann.label}
        parts: list[list[Any]] = []
        for key, value in geoms:
            r = raw.get(key) if raw else None
            if key == "polygon":
                if key == t:
                    parts = value
                    r = r[0] if type(r) is list else r
                elif len(value) > 1:
                    self.count("dropped", "polygon parts beside a mask", "only the first part is written")
                value = value[0]
            out[key] = _geometry_obj(key, value, r)
        always = self.always.get(t, frozenset())
        if ann.qa or "qa" in always:
            out["qa"] = [q.to_dict() for q in ann.qa]
        if not self.platform_only:
            if ann.id is not None:
                out["id"] = ann.id
            if len(parts) > 1:
                out["part"] = 0
            if ann.attributes or "attributes" in always:
                out["attributes"] = dict(ann.attributes)
            if ann.score is not None:
                out["score"] = ann.score
            if ann.iscrowd:
                out["iscrowd"] = ann.iscrowd
            if ann.area is not None:
                out["area"] = ann.area
        else:
            self._count_extensions(ann)
        if keys:
            for k, v in keys.items():
                if k not in out:
                    out[k] = v
        if len(parts) <= 1:
            return [out]
        result = [out]
        raws = raw.get("polygon") if raw else None
        if self.platform_only:
            self.count("approximated", "multi-part polygons written as one polygon per part",
                       "the platform has no multi-part polygon")
        for k in range(1, len(parts)):
            r = raws[k] if type(raws) is list and k < len(raws) else None
            more: dict[str, Any] = {"type": "polygon", "label": ann.label,
                                    "polygon": _geometry_obj("polygon", parts[k], r)}
            if "qa" in out:
                more["qa"] = []
            if not self.platform_only:
                if ann.id is not None:
                    more["id"] = ann.id
                more["part"] = k
            result.append(more)
        return result

    def _count_extensions(self, ann: Annotation) -> None:
        if ann.id is not None:
            self.count("dropped", "object ids", "--picsellia-platform-only")
        if ann.attributes:
            self.count("dropped", "object attributes", "--picsellia-platform-only")
        if ann.score is not None:
            self.count("dropped", "scores", "--picsellia-platform-only")
        if ann.iscrowd:
            self.count("dropped", "iscrowd flags", "--picsellia-platform-only")
        if ann.area is not None:
            self.count("dropped", "stated areas", "--picsellia-platform-only")

    def _geometries(self, ann: Annotation, asset: Asset) -> list[tuple[str, Any]] | None:
        """(key, value) of every geometry to write, the primary one first; None drops the object."""
        mask, polygon, box = ann.mask, ann.polygon, ann.box
        keypoints, line, point = ann.keypoints, ann.line, ann.point
        if mask is not None and self.masks != "rle":
            traced = None
            if polygon is None and self.masks == "polygon":
                from .. import masks as masks_module

                to_polygons = getattr(masks_module, "mask_to_polygons", None)
                traced = to_polygons(mask) if to_polygons is not None else None
                traced = [list(p) for p in traced or () if len(p) >= 6 and not len(p) % 2]
            if traced:
                polygon = traced
                self.count("approximated", "masks written as polygons", "traced outlines")
            elif polygon is not None:
                self.count("dropped", "masks beside a polygon", f"--picsellia-masks {self.masks}")
            else:
                box = box if box is not None else annotation_bbox(ann)
                self.count("approximated", "masks written as boxes",
                           "no polygon tracer" if self.masks == "polygon" else "--picsellia-masks box")
            mask = None
        if polygon is not None:
            good = [p for p in polygon if len(p) >= 6 and not len(p) % 2]
            if len(good) != len(polygon):
                self.count("dropped", "polygon parts with fewer than 3 points",
                           "a Picsellia polygon needs 3 points")
                if not good:
                    if box is None and mask is None:
                        box = annotation_bbox(ann)
                        self.count("approximated", "degenerate polygons written as boxes")
                    polygon = None
                else:
                    polygon = good
        if line is not None and (len(line) < 4 or len(line) % 2):
            if box is None and polygon is None and mask is None:
                box = annotation_bbox(ann) if len(line) >= 2 else None
            line = None
            self.count("dropped", "lines with fewer than 2 points")
        if keypoints is not None and (not keypoints or len(keypoints) % 3 or self.platform_only):
            alone = mask is None and polygon is None and line is None and point is None and box is None
            what = "keypoint objects" if alone else "keypoints beside another geometry"
            why = "--picsellia-platform-only" if self.platform_only else "malformed keypoint list"
            self.count("dropped", what, why)
            if alone:
                return None
            keypoints = None
        out = []
        if mask is not None:
            out.append(("mask", mask))
        if polygon is not None:
            out.append(("polygon", polygon))
        if keypoints is not None:
            out.append(("keypoints", keypoints))
        if line is not None:
            out.append(("line", line))
        if point is not None:
            out.append(("point", point))
        if box is not None:
            out.append(("rectangle", box))
        if self.platform_only and len(out) > 1:
            self.count("dropped", "secondary geometries (e.g. a stated box beside a polygon)",
                       "--picsellia-platform-only")
            out = out[:1]
        return out

    # -- records
    def record(self, asset: Asset) -> dict[str, Any] | None:
        pe = asset.extra.get(NAME) if asset.extra else None
        pe = pe or EMPTY
        flags = pe.get("flags")
        status = asset.status
        has_record = ("record" in pe or asset.annotations or asset.qa or status is not None
                      or "time_spent" in pe)
        if not has_record:
            return None
        rec: dict[str, Any] = {}
        join = pe.get("join", self.record_join)
        if "internal_picture_id" in join and asset.id is not None:
            rec["internal_picture_id"] = asset.id
        if "external_picture_url" in join or "internal_picture_id" not in rec:
            rec["external_picture_url"] = asset.file_name
        shapes = [s for ann in asset.annotations for s in self.shapes(ann, asset)]
        if "nb_labels" in pe:
            rec["nb_labels"] = pe["nb_labels"]
        elif "nb_labels" in self.always.get("record", ()):
            rec["nb_labels"] = len(shapes)
        if "time_spent" in pe:
            rec["time_spent"] = pe["time_spent"]
        if flags is not None and status_from_flags(flags) == status:
            rec.update(flags)
        elif status is not None:
            if status in STATUS_FLAGS:
                rec.update(flags_of_status(status))
            else:
                self.count("dropped", "unknown statuses", "not PENDING, SKIPPED, ACCEPTED or REFUSED")
        rec["annotations"] = shapes
        if asset.qa or "image_qa" in self.always.get("record", ()):
            rec["image_qa"] = [q.to_dict() for q in asset.qa]
        verbatim = pe.get("record")
        if verbatim:
            for k, v in verbatim.items():
                if k not in rec:
                    rec[k] = v
        return rec

    def image(self, asset: Asset) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if asset.id is not None:
            out["internal_picture_id"] = asset.id
        out["external_picture_url"] = asset.file_name
        if asset.width is not None:
            out["width"] = asset.width
        if asset.height is not None:
            out["height"] = asset.height
        always = self.always.get("image", ())
        if asset.tags or "tags" in always:
            out["tags"] = list(asset.tags)
        if asset.metadata or "metadata" in always:
            out["metadata"] = dict(asset.metadata)
        pe = asset.extra.get(NAME) if asset.extra else None
        verbatim = pe.get("image") if pe else None
        if verbatim:
            for k, v in verbatim.items():
                if k not in out:
                    out[k] = v
        self.foreign.add("assets", asset.extra)
        return out

    def category(self, label: Label) -> dict[str, Any]:
        out: dict[str, Any] = {"name": label.name}
        if label.group is not None:
            out["group"] = label.group
        if label.keypoints is not None:
            out["keypoints"] = label.keypoints
        if label.skeleton is not None:
            out["skeleton"] = label.skeleton
        pe = label.extra.get(NAME) if label.extra else None
        if pe:
            for k, v in pe.items():
                out.setdefault(k, v)
        self.foreign.add("labels", label.extra)
        return out

    def flush(self) -> None:
        for (kind, what, why), n in self.counts.items():
            self.report.add(kind, what, n, why)
        self.foreign.report_to(self.report)


def _dumps(value: Any) -> bytes:
    """orjson, or the standard library for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _write_array(f: BinaryIO, items: Iterator[dict[str, Any]], chunk: int = 20000) -> None:
    """Stream a JSON array in chunks (bounded memory for the output side)."""
    f.write(b"[")
    first = True
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= chunk:
            f.write((b"" if first else b",") + _dumps(batch)[1:-1])
            first = False
            batch = []
    if batch:
        f.write((b"" if first else b",") + _dumps(batch)[1:-1])
    f.write(b"]")


def write(
    dataset: Dataset,
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    masks: str = "rle",
    platform_only: bool = False,
) -> None:
    """Write `dataset` as a Picsellia annotation JSON file.

    Every picture is listed in ``images``; pictures with shapes, Q&A, a status or a record in
    their source get an ``annotations`` record; ``categories`` lists the dataset's labels in order
    (then any label used but not declared). `masks`: ``rle`` (default, the ``mask`` shape
    extension, exact), ``polygon`` (traced outlines where `picsellia_formats.masks` has
    ``mask_to_polygons``, else boxes) or ``box``. `platform_only`: write only what the platform
    documents (masks as polygons, no keypoints, ids, scores, attributes or secondary geometries;
    multi-part polygons as one polygon per part), counting what it leaves out.

    Example:
        >>> import tempfile, pathlib
        >>> ds = Dataset(assets=[Asset("a.jpg", 4, 4, [Annotation("cat", box=(0, 0, 2, 2))],
        ...                            status="ACCEPTED")])
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "p.json"
        >>> write(ds, out)
        >>> out.read_bytes()[:80]
        b'{"images":[{"external_picture_url":"a.jpg","width":4,"height":4}],"annotations":'
    """
    report = report if report is not None else Report()
    if masks not in ("rle", "polygon", "box"):
        raise ValueError(f"masks must be rle, polygon or box, got {masks!r}")
    w = _Writer(dataset, report, masks, platform_only)
    meta = dataset.metadata.get(NAME) or {}
    labels = list(dataset.labels)
    known = {label.name for label in labels}
    for _, ann in dataset.annotations():
        if ann.label not in known:
            known.add(ann.label)
            labels.append(Label(ann.label))
    with_ids = sum(1 for label in labels if label.id is not None)
    if with_ids:
        report.info("label ids not written", with_ids, "Picsellia JSON names labels; their order gives ids")
    w.foreign.add("dataset", dataset.metadata)

    with gc_paused():
        _write(dataset, path, w, meta, labels)
    w.flush()


def _write(dataset: Dataset, path: str | Path, w: _Writer, meta: dict[str, Any], labels: list[Label]) -> None:
    records = [w.record(asset) for asset in dataset.assets]
    order = [k for k in meta.get("key_order", _TOP_KEYS) if k in _TOP_KEYS]
    if "images" not in order and _needs_images(dataset, records):
        order.insert(0, "images")
    if "categories" not in order and _needs_categories(labels, dataset):
        order.append("categories")
    if "annotations" not in order and any(r is not None for r in records):
        order.insert(1 if order[:1] == ["images"] else 0, "annotations")
    with open(path, "wb") as f:
        f.write(b"{")
        for i, key in enumerate(order):
            f.write((b"," if i else b"") + orjson.dumps(key) + b":")
            if key == "images":
                _write_array(f, (w.image(a) for a in dataset.assets))
            elif key == "annotations":
                _write_array(f, (r for r in records if r is not None))
            else:
                f.write(_dumps([w.category(label) for label in labels]))
        for key, value in (meta.get("top") or {}).items():
            f.write((b"," if order else b"") + _dumps(key) + b":" + _dumps(value))
            order = order or [key]
        f.write(b"}")


def _needs_images(dataset: Dataset, records: list[dict[str, Any] | None]) -> bool:
    for asset, rec in zip(dataset.assets, records):
        pe = asset.extra.get(NAME) if asset.extra else None
        if rec is None or asset.width is not None or asset.height is not None or asset.tags \
                or asset.metadata or (pe and pe.get("image")):
            return True
    return not dataset.assets


def _needs_categories(labels: list[Label], dataset: Dataset) -> bool:
    used: list[str] = []
    seen: set[str] = set()
    for _, ann in dataset.annotations():
        if ann.label not in seen:
            seen.add(ann.label)
            used.append(ann.label)
    if used != [label.name for label in labels]:
        return True
    return any(label.group is not None or label.keypoints is not None or label.skeleton is not None
               or label.extra for label in labels)


FORMAT = FormatSpec(
    name=NAME,
    description="Picsellia annotation JSON (images, per-picture shape records with Q&A and review "
                "status, categories)",
    detect=detect,
    read=read,
    write=write,
    hint_keys=frozenset(("keys", "raw", "always", "key_order")),
    output="file",
    default_file_name="annotations.json",
    read_options=(),
    write_options=(
        Option("masks", "--picsellia-masks", "masks in Picsellia JSON: rle (default, the mask shape "
               "extension), polygon or box", type=str, choices=("rle", "polygon", "box")),
        Option("platform_only", "--picsellia-platform-only", "write only the shapes and keys the "
               "Picsellia platform documents (lossy parts are reported)"),
    ),
)
