"""One record's shapes -> objects: the reader's hot loop (a polygon's parts joined into one object).

Example:
    >>> from picsellia_formats.model import Asset
    >>> objects = ObjectReader(Presence(), set(), [])
    >>> asset = Asset("a.jpg")
    >>> shape = {"type": "rectangle", "label": "car", "rectangle": {"top": 2, "left": 1, "width": 3, "height": 4}}
    >>> objects.read([shape], asset, "annotations[0]")
    >>> asset.annotations[0].box, objects.undeclared
    ((1, 2, 3, 4), ['car'])
"""

from __future__ import annotations

from typing import Any

from ...model import EMPTY, Annotation, Asset
from .parse import PARSERS, Bad, number, parse_polygon, parse_qa
from .schema import ATTR, CONTINUATION_KEYS, EXTENSION_KEYS, GEOMETRY_KEYS, MISSING, RANK, SHAPE_KEYS, SHAPE_TYPES


def picsellia_extra(holder: Asset | Annotation) -> dict[str, Any]:
    """The holder's ``extra["picsellia"]`` dict, created on first use."""
    extra = holder.extra
    if "picsellia" not in extra:
        extra = dict(extra)
        extra["picsellia"] = {}
        holder.extra = extra
    return extra["picsellia"]


def kept_keys(ann: Annotation) -> dict[str, Any]:
    """The shape keys of `ann` kept verbatim (``extra["picsellia"]["keys"]``), created on first use."""
    return picsellia_extra(ann).setdefault("keys", {})


class Presence:
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


class ObjectReader:
    """Parses shapes into objects, recording key presence in `presence`; labels first seen on a shape
    (not in `label_names`) are added to it and listed in `undeclared`."""

    def __init__(self, presence: Presence, label_names: set[str], undeclared: list[str]) -> None:
        self.presence = presence
        self.label_names = label_names
        self.undeclared = undeclared

    def read(self, shapes: list[Any], asset: Asset, record: str) -> None:
        """Append the objects of one record's ``annotations`` list to `asset` (Bad on a bad shape)."""
        anns = asset.annotations
        presence = self.presence
        label_names = self.label_names
        opened: Annotation | None = None  # the object whose part 0 came last, and whether it had qa
        opened_qa = False
        for j, s in enumerate(shapes):
            if type(s) is not dict:
                raise Bad(f"annotations[{j}] must be a shape object, got {s!r:.60}")
            t = s.get("type")
            rank = RANK.get(t) if type(t) is str else None
            if rank is None:
                raise Bad(f"annotations[{j}]: shape type {t!r:.40} is not one of {', '.join(SHAPE_TYPES)}")
            label = s.get("label")
            if type(label) is not str:
                raise Bad(f"annotations[{j}] ({t}): label must be a string, got {label!r:.60}")
            part = s.get("part")
            if "part" in s and (type(part) is not int or part < 0 or t != "polygon"):
                raise Bad(f"annotations[{j}] ({t}): part must be a non-negative integer on a polygon, "
                           f"got {part!r:.40}")
            try:
                if part:
                    self._continue(s, part, opened, opened_qa, label)
                    continue
                ann = self._shape(s, t, rank, label, presence)
            except Bad as exc:
                raise Bad(f"annotations[{j}] ({t}): {exc}") from None
            if label not in label_names:
                label_names.add(label)
                self.undeclared.append(label)
            if part == 0:
                kept_keys(ann)["part"] = 0  # dropped again once a second part joins
                opened, opened_qa = ann, "qa" in s
            else:
                opened = None
            anns.append(ann)

    def _shape(self, s: dict[str, Any], t: str, rank: int, label: str, presence: Presence) -> Annotation:
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
                raise Bad(f"lacks its {t!r} object") from None
            value, odd = PARSERS[t](obj)
            if t == "polygon":
                ann.polygon = [value]
            else:
                setattr(ann, ATTR[t], value)
            if odd:
                raw = {t: obj}
            n = 3
        qa = s.get("qa", MISSING)
        if qa is not MISSING:
            n += 1
            if qa:
                ann.qa = parse_qa(qa, "qa")
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
                raise Bad(f"qa must be a list, got {qa!r:.60}")
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

    def _rest(self, s: dict[str, Any], ann: Annotation, t: str, rank: int, presence: Presence,
              verbatim: dict[str, Any] | None, raw: dict[str, Any] | None
              ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Secondary geometries, our extension keys (id, attributes, score, iscrowd, area) and unknown
        keys of a shape."""
        for key in GEOMETRY_KEYS:
            if key == t or key not in s:
                continue
            v = s[key]
            if RANK[key] < rank:  # a geometry that would outrank the type: kept as it is
                verbatim = verbatim or {}
                verbatim[key] = v
                continue
            value, odd = PARSERS[key](v)
            setattr(ann, ATTR[key], [value] if key == "polygon" else value)
            if odd:
                raw = raw or {}
                raw[key] = v
        v = s.get("id")
        if v is not None:
            if type(v) not in (str, int):
                raise Bad(f"id must be a string or an integer, got {v!r:.60}")
            ann.id = v
        v = s.get("score")
        if v is not None:
            ann.score = number(v, "score")
        v = s.get("area")
        if v is not None:
            ann.area = number(v, "area")
        v = s.get("iscrowd")
        if v is not None:
            if v not in (0, 1) or type(v) is not int:
                raise Bad(f"iscrowd must be 0 or 1, got {v!r:.60}")
            if v:
                ann.iscrowd = 1
            else:
                verbatim = verbatim or {}
                verbatim["iscrowd"] = 0
        v = s.get("attributes")
        if v is not None:
            if type(v) is not dict:
                raise Bad(f"attributes must be an object, got {v!r:.60}")
            if v:
                ann.attributes = v
                presence.has(t, "attributes")
            else:
                presence.empty(t, "attributes", ann)
        if not (s.keys() <= SHAPE_KEYS):
            verbatim = verbatim or {}
            for key, v in s.items():
                if key not in SHAPE_KEYS:
                    verbatim[key] = v
        for key in EXTENSION_KEYS:
            if key in s and s[key] is None:
                verbatim = verbatim or {}
                verbatim[key] = None
        return verbatim, raw

    def _continue(self, s: dict[str, Any], part: int, prev: Annotation | None, with_qa: bool,
                  label: str) -> None:
        """Append part `part` (>= 1) of a multi-part polygon to the object (with ``part: 0``) before it."""
        if prev is None or prev.polygon is None or len(prev.polygon) != part:
            raise Bad(f"part {part} does not follow part {part - 1} of a polygon")
        if label != prev.label:
            raise Bad(f"part {part} has label {label!r}, its object {prev.label!r}")
        if ("id" in s) != (prev.id is not None) or s.get("id") != prev.id:
            raise Bad(f"part {part} has id {s.get('id')!r}, its object {prev.id!r}")
        if not (s.keys() <= CONTINUATION_KEYS) or s.get("qa", []) != []:
            raise Bad(f"part {part} of a polygon may carry only type, label, polygon, part, id and an "
                       "empty qa")
        if ("qa" in s) != with_qa:
            raise Bad(f"part {part} must carry qa exactly when part 0 does")
        if "polygon" not in s:
            raise Bad("lacks its 'polygon' object")
        flat, odd = parse_polygon(s["polygon"])
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
            raws = picsellia_extra(prev).setdefault("raw", {})
            parts = raws.get("polygon")
            if type(parts) is not list:
                parts = raws["polygon"] = [parts] if parts is not None else [None]
            parts.extend([None] * (part - len(parts)))
            parts.append(s["polygon"])
        elif pe and type(pe.get("raw", {}).get("polygon")) is dict:
            pe["raw"]["polygon"] = [pe["raw"]["polygon"], None]
        elif pe and type(pe.get("raw", {}).get("polygon")) is list:
            pe["raw"]["polygon"].append(None)
