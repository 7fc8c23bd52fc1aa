"""read."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import FormatError, ProblemCollector
from ...io_utils import gc_paused
from ...model import EMPTY, Annotation, Asset, Dataset, Label
from ...report import Report
from .._json_files import load_json, resolve_file_or_folder
from .parse import PARSERS, Bad, finite, number, parse_polygon, parse_qa
from .presence import Presence, sizes_from_images
from .schema import (
    ATTR,
    CATEGORY_KEYS,
    CONTINUATION_KEYS,
    DEFAULT_ALWAYS,
    EXTENSION_KEYS,
    FLAG_KEYS,
    GEOMETRY_KEYS,
    IMAGE_KEYS,
    JOIN_KEYS,
    MISSING,
    NAME,
    NUMS,
    RANK,
    RECORD_KEYS,
    SHAPE_KEYS,
    SHAPE_TYPES,
    STATUS_FLAGS,
    TOP_KEYS,
    sniff,
    status_from_flags,
)

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


class _Reader:
    def __init__(self, path: Path, problems: ProblemCollector, report: Report) -> None:
        self.path = path
        self.problems = problems
        self.report = report
        self.presence = Presence()
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
                     if k not in CATEGORY_KEYS or (v is None and k != "name")}
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
            except Bad as exc:
                self.problems.add(_name(record, im), str(exc))
                continue
            presence.seen("image")
            assets.append(asset)
        return assets

    def _image(self, im: dict[str, Any], record: str) -> Asset:
        url = im.get("external_picture_url")
        if type(url) is not str or not url:
            raise Bad(f"external_picture_url must be a non-empty string, got {url!r:.60}")
        pid = None
        if "internal_picture_id" in im:
            pid = im["internal_picture_id"]
            if type(pid) not in (str, int):
                raise Bad(f"internal_picture_id must be a string or an integer, got {pid!r:.60}")
        verbatim = {k: v for k, v in im.items() if k not in IMAGE_KEYS}
        size = []
        for key in ("width", "height"):
            v = im.get(key)
            if v is None:
                if key in im:
                    verbatim[key] = None
            elif not (type(v) in NUMS and finite(v) and v >= 0):
                raise Bad(f"{key} must be a non-negative number, got {v!r:.60}")
            size.append(v)
        asset = Asset(url, size[0], size[1], [], pid)
        tags = im.get("tags")
        if tags is not None:
            if type(tags) is not list or not all(type(t) is str for t in tags):
                raise Bad(f"tags must be a list of strings, got {tags!r:.60}")
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
                raise Bad(f"metadata must be an object, got {meta!r:.60}")
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
            from ...progress import track

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
                    raise Bad(f"a second annotation record for picture {asset.file_name!r} "
                               f"(the first is {done[id(asset)]})")
                done[id(asset)] = record
                self._record(rec, asset, record)
            except Bad as exc:
                self.problems.add(record, str(exc))
                continue
            join = tuple(k for k in JOIN_KEYS if rec.get(k) is not None)
            join_sets[join] = join_sets.get(join, 0) + 1
            _pe(asset)["join"] = join
        # the join keys every record carried are the file's rule; records with more keep theirs
        common = set(JOIN_KEYS)
        for join in join_sets:
            common &= set(join)
        self.record_join = [k for k in JOIN_KEYS if k in common]
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
            raise Bad("has neither internal_picture_id nor external_picture_url")
        if pid is not None and type(pid) not in (str, int):
            raise Bad(f"internal_picture_id must be a string or an integer, got {pid!r:.60}")
        if url is not None and (type(url) is not str or not url):
            raise Bad(f"external_picture_url must be a non-empty string, got {url!r:.60}")
        if not from_images:
            if url is None:
                raise Bad("needs external_picture_url (the file has no images list)")
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
                raise Bad(f"internal_picture_id {pid!r} is not among the images")
            if url is not None and url != asset.file_name:
                raise Bad(f"external_picture_url {url!r} disagrees with image {pid!r} ({asset.file_name!r})")
            return asset
        if url not in by_url:
            raise Bad(f"external_picture_url {url!r} is not among the images")
        asset = by_url[url]  # type: ignore[index]
        if asset is None:
            raise Bad(f"external_picture_url {url!r} names several images; give internal_picture_id")
        return asset

    def _record(self, rec: dict[str, Any], asset: Asset, record: str) -> None:
        presence = self.presence
        presence.seen("record")
        pe = _pe(asset)
        shapes = rec.get("annotations")
        if type(shapes) is not list:
            raise Bad(f"annotations must be a list of shapes, got {shapes!r:.60}")
        verbatim = {k: v for k, v in rec.items() if k not in RECORD_KEYS or (v is None and k in JOIN_KEYS)}
        nb = rec.get("nb_labels")
        if nb is not None:
            if type(nb) is not int or nb < 0:
                raise Bad(f"nb_labels must be a non-negative integer, got {nb!r:.60}")
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
                number(t, "time_spent")
            pe["time_spent"] = t
        elif "duration" in rec:  # the 5.1 uploader's name (it reads duration, else time_spent); kept as read too
            t = rec["duration"]
            if t is not None:
                number(t, "duration")
            pe["time_spent"] = t
        flags = {k: rec[k] for k in FLAG_KEYS if k in rec}
        if flags:
            for k, v in flags.items():
                if v is not None and type(v) is not bool:
                    raise Bad(f"{k} must be true or false, got {v!r:.60}")
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
                asset.qa = parse_qa(qa, "image_qa")
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
                _ann_keys(ann)["part"] = 0  # dropped again once a second part joins
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
        for kind, keys in DEFAULT_ALWAYS.items():  # kinds the file has none of: as for a new file
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
    path = resolve_file_or_folder(Path(path), sniff, "Picsellia")
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
        sizes_from_images(assets, Path(images), report)
    meta: dict[str, Any] = {"key_order": [k for k in top if k in TOP_KEYS], "always": always}
    other = {k: v for k, v in top.items() if k not in TOP_KEYS}
    if other:
        meta["top"] = other
    return Dataset(labels, assets, {NAME: meta})
