"""`fix`: a corrected copy of a validated dataset, for the rules that have a safe fix, and every change.

Safe fixes: drop objects that cannot be right (NaN, zero or negative size, wholly outside the image,
unknown image or category, exact repeats), drop polygon parts with fewer than 3 distinct points or
no area, repair self-crossing parts (``shapely.make_valid``), clip boxes and polygons to the image,
take missing or invalid sizes from the image header, turn the geometry of an image whose stated size
is its stored size while its EXIF orientation turns it (and state the displayed size), strip spaces
around label names (merging the labels that then coincide), declare labels used but undeclared,
drop stated areas and recompute stated boxes that disagree with the geometry.

The source dataset is never modified: changed assets and objects are new; unchanged objects are
shared between the source and the copy (copy them before mutating either).

Example:
    >>> from picsellia_formats.model import Annotation, Asset, Dataset
    >>> from picsellia_formats.validation import validate
    >>> ds = Dataset(assets=[Asset("a.jpg", 100, 50, [Annotation("cat", box=(90.0, 10.0, 20.0, 5.0))])])
    >>> fixed, log = fix(validate(ds))
    >>> fixed.assets[0].annotations[0].box, ds.assets[0].annotations[0].box
    ((90.0, 10.0, 10.0, 5.0), (90.0, 10.0, 20.0, 5.0))
    >>> print(log.to_text())
    1 change
    <BLANKLINE>
    bbox-partly-out-of-image  1  clip the box to the image
      a.jpg object 0: box (90, 10, 20, 5) clipped to (90, 10, 10, 5)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import OptionError
from ..geometry import PROBLEMS, clip_box, clip_polygon, polygon_bbox, polygons_part_problems, repair_polygon
from ..model import Annotation, Asset, Dataset, Label, Mask
from .findings import Finding, ValidationReport
from .objects import box_str, shape_key, shown, size_valid
from .polygon_checks import inside_area
from .rules import EDGE_TOLERANCE, RULES

_isfinite = math.isfinite
_COPY_FIELDS = Annotation.__slots__


class Change:
    """One change `fix` made: the rule it answers, where, and what was done."""

    __slots__ = ("asset", "asset_index", "code", "detail", "object_id", "object_index")

    def __init__(self, code: str, detail: str, asset: str | None = None, asset_index: int | None = None,
                 object_index: int | None = None, object_id: Any = None) -> None:
        self.code = code
        self.detail = detail
        self.asset = asset
        self.asset_index = asset_index
        self.object_index = object_index
        self.object_id = object_id

    def where(self) -> str:
        return Finding(self.code, "info", "", asset=self.asset, object_index=self.object_index,
                       object_id=self.object_id).where()

    def __str__(self) -> str:
        return f"{self.code}: {self.where()}: {self.detail}"

    def __repr__(self) -> str:
        return f"Change({str(self)!r})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "detail": self.detail}
        for key in ("asset", "asset_index", "object_index", "object_id"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


class FixLog:
    """Every change of a `fix` run, grouped by code for people, listed in full for machines."""

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def add(self, change: Change) -> None:
        self.changes.append(change)

    def __len__(self) -> int:
        return len(self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.changes)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.code] = out.get(c.code, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def codes(self) -> set[str]:
        return {c.code for c in self.changes}

    def to_text(self, examples: int = 3) -> str:
        n = len(self.changes)
        lines = [f"{n:,} change{'s' if n != 1 else ''}" if n else "nothing to fix"]
        groups: dict[str, list[Change]] = {}
        for c in self.changes:
            groups.setdefault(c.code, []).append(c)
        width = max((len(c) for c in groups), default=0)
        for code, count in self.counts().items():
            lines += ["", f"{code:<{width}}  {count:,}  {RULES[code].fix}"]
            lines += [f"  {c.where()}: {c.detail}" for c in groups[code][:examples]]
            if count > examples:
                lines.append(f"  ... and {count - examples:,} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def to_dict(self) -> dict[str, Any]:
        return {"changes": len(self.changes), "counts": self.counts(), "list": [c.to_dict() for c in self.changes]}


def copy_annotation(ann: Annotation, **changes: Any) -> Annotation:
    """A new Annotation with the fields of `ann`, some replaced."""
    new = Annotation.__new__(Annotation)
    for name in _COPY_FIELDS:
        setattr(new, name, changes[name] if name in changes else getattr(ann, name))
    return new


def _copy_asset(asset: Asset, annotations: list[Annotation], **changes: Any) -> Asset:
    new = Asset.__new__(Asset)
    for name in Asset.__slots__:
        setattr(new, name, changes[name] if name in changes else getattr(asset, name))
    new.annotations = annotations
    new.tags = list(asset.tags)
    return new


# ------------------------------------------------------------------------------------ EXIF geometry


def orient_point(orientation: int, w: float, h: float) -> Callable[[float, float], tuple[float, float]]:
    """Map a point of the stored ``w`` × ``h`` image to the displayed image for an EXIF orientation.

    Example:
        >>> orient_point(6, 40, 30)(10, 5)  # turned 90° clockwise: the displayed image is 30 × 40
        (25, 10)
    """
    table: dict[int, Callable[[float, float], tuple[float, float]]] = {
        1: lambda x, y: (x, y),
        2: lambda x, y: (w - x, y),
        3: lambda x, y: (w - x, h - y),
        4: lambda x, y: (x, h - y),
        5: lambda x, y: (y, x),
        6: lambda x, y: (h - y, x),
        7: lambda x, y: (h - y, w - x),
        8: lambda x, y: (y, w - x),
    }
    return table[orientation]


def _orient_flat(flat: list[float], f: Callable[[float, float], tuple[float, float]], stride: int = 2
                 ) -> list[float]:
    out = list(flat)
    for i in range(0, len(flat) - 1, stride):
        out[i], out[i + 1] = f(flat[i], flat[i + 1])
    return out


def _orient_mask(mask: Mask, orientation: int) -> Mask:
    import numpy as np
    from pycocotools import mask as coco_mask

    from ..masks import to_compressed

    m = coco_mask.decode(to_compressed(mask))
    m = {1: m, 2: m[:, ::-1], 3: m[::-1, ::-1], 4: m[::-1, :], 5: m.T, 6: np.rot90(m, -1), 7: m.T[::-1, ::-1],
         8: np.rot90(m, 1)}[orientation]
    rle = coco_mask.encode(np.asfortranarray(m))
    counts = rle["counts"].decode("ascii")
    return Mask(int(rle["size"][0]), int(rle["size"][1]), counts)


def orient_annotation(ann: Annotation, orientation: int, w: float, h: float) -> Annotation:
    """`ann` drawn on the stored ``w`` × ``h`` image, moved onto the displayed (EXIF-oriented) image."""
    f = orient_point(orientation, w, h)
    changes: dict[str, Any] = {}
    if ann.box is not None:
        x, y, bw, bh = ann.box
        (x0, y0), (x1, y1) = f(x, y), f(x + bw, y + bh)
        changes["box"] = (min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
    if ann.polygon is not None:
        changes["polygon"] = [_orient_flat(p, f) for p in ann.polygon]
    if ann.keypoints is not None:
        changes["keypoints"] = _orient_flat(ann.keypoints, f, 3)
    if ann.line is not None:
        changes["line"] = _orient_flat(ann.line, f)
    if ann.point is not None:
        changes["point"] = f(*ann.point)
    if ann.mask is not None:
        changes["mask"] = _orient_mask(ann.mask, orientation)
    return copy_annotation(ann, **changes)


# ------------------------------------------------------------------------------------------- fixing


#: image findings whose asset `fix(..., drop_broken=True)` leaves out, and how the log says why
BROKEN_IMAGE_CODES: dict[str, str] = {
    "image-missing": "its image file is missing",
    "image-unreadable": "its image file is not a readable image",
    "image-truncated": "its image file ends early",
    "image-type-unsupported": "its image type is not one the platform takes",
}


class _Fixer:
    def __init__(self, report: ValidationReport, drop_broken: bool = False) -> None:
        if not report.complete:
            raise OptionError("fix needs every finding of the validation: validate with keep=None (a bounded "
                              f"report holds {len(report.findings):,} of its {len(report):,} findings)")
        self.report = report
        self.drop_broken = drop_broken
        self.dataset: Dataset = report.dataset
        rules = report.options.get("rules")
        self.enabled = set(rules) if rules is not None else set(RULES)
        self.log = FixLog()
        self.asset_codes: dict[int, dict[str, Finding]] = {}
        for f in report.findings:
            if f.asset_index is not None and f.object_index is None:
                self.asset_codes.setdefault(f.asset_index, {})[f.code] = f
        self.object_codes: set[tuple[int, int, str]] = {
            (f.asset_index, f.object_index, f.code) for f in report.findings
            if f.asset_index is not None and f.object_index is not None}

    def on(self, code: str) -> bool:
        return code in self.enabled

    def change(self, code: str, detail: str, asset: Asset | None = None, ai: int | None = None,
               oi: int | None = None, ann: Annotation | None = None) -> None:
        self.log.add(Change(code, detail, asset.file_name if asset is not None else None, ai, oi,
                            ann.id if ann is not None else None))

    def dropped_as_broken(self, ai: int, asset: Asset) -> bool:
        """With `drop_broken`: True (and logged) when the asset's image is missing or broken."""
        if not self.drop_broken:
            return False
        for code, why in BROKEN_IMAGE_CODES.items():
            if code in self.asset_codes.get(ai, {}):
                self.change(code, f"asset dropped with its {len(asset.annotations):,} object"
                            f"{'s' if len(asset.annotations) != 1 else ''}: {why}", asset, ai)
                return True
        return False

    def run(self) -> Dataset:
        for f in self.report.salvaged:
            if f.data and f.data.get("dropped") and self.on(f.code):
                self.log.add(Change(f.code, f"left out {f.record}: {f.message}", f.asset, None, None, f.object_id))
            elif f.data and f.data.get("dropped_size") and self.on(f.code):
                self.log.add(Change(f.code, f"left out the size of {f.record}: {f.message}", f.asset))
        labels, renames = self.fix_labels()
        assets = [self.fix_asset(ai, a, renames) for ai, a in enumerate(self.dataset.assets)
                  if not self.dropped_as_broken(ai, a)]
        used = {ann.label for a in assets for ann in a.annotations}
        known = {label.name for label in labels}
        if self.on("undeclared-label") and labels:
            for name in sorted(used - known, key=str):
                labels.append(Label(name))
                self.change("undeclared-label", f"label {name!r} declared")
        return Dataset(labels, assets, dict(self.dataset.metadata))

    def fix_labels(self) -> tuple[list[Label], dict[str, str]]:
        renames: dict[str, str] = {}
        if not (self.on("label-whitespace") or self.on("label-near-duplicate")):
            return list(self.dataset.labels), renames
        labels: list[Label] = []
        by_name: dict[str, Label] = {}
        names = list(self.dataset.label_names) + sorted(
            {ann.label for _, ann in self.dataset.annotations()} - set(self.dataset.label_names), key=str)
        for name in names:
            if isinstance(name, str) and name != name.strip() and name.strip():
                renames[name] = name.strip()
        if not self.on("label-whitespace"):  # merge the colliding ones only
            renames = {k: v for k, v in renames.items() if v in names}
        for label in self.dataset.labels:
            name = renames.get(label.name, label.name)
            if name in by_name:
                self.change("label-near-duplicate", f"label {label.name!r} merged into {name!r}")
                continue
            if name != label.name:
                self.change("label-whitespace", f"label {label.name!r} renamed {name!r}")
                label = Label(name, label.group, label.id, label.keypoints, label.skeleton, label.extra)
            by_name[name] = label
            labels.append(label)
        return labels, renames

    def fix_asset(self, ai: int, asset: Asset, renames: dict[str, str]) -> Asset:
        codes = self.asset_codes.get(ai, {})
        facts = self.report.image_facts.get(ai)
        W, H = asset.width, asset.height
        changes: dict[str, Any] = {}
        anns = asset.annotations
        changed = False
        if facts is not None and facts.status == "ok":
            if "image-exif-swapped" in codes and self.on("image-exif-swapped"):
                anns = [orient_annotation(a, facts.orientation, facts.raw_width, facts.raw_height) for a in anns]
                W, H = facts.width, facts.height
                changes.update(width=W, height=H)
                changed = True
                self.change("image-exif-swapped", f"size set to {W}×{H} and {len(anns)} object"
                            f"{'s' if len(anns) != 1 else ''} turned with EXIF orientation {facts.orientation}",
                            asset, ai)
            elif not size_valid(W, H):
                code = "image-size-unknown" if W is None or H is None else "image-size-invalid"
                if self.on(code):
                    W, H = facts.width, facts.height
                    changes.update(width=W, height=H)
                    self.change(code, f"size set to {W}×{H} from the image header", asset, ai)
        size_ok = size_valid(W, H)
        out: list[Annotation] = []
        seen: set[Any] = set()
        for oi, ann in enumerate(anns):
            if self.on("duplicate-object"):
                key = shape_key(ann)
                if key in seen:
                    self.change("duplicate-object", f"repeat of a {ann.label!r} {ann.kind} dropped", asset, ai, oi,
                                ann)
                    changed = True
                    continue
                seen.add(key)
            new = self.fix_object(ai, oi, asset, ann, W, H, size_ok)
            if new is None:
                changed = True
                continue
            if new.label in renames:
                new = copy_annotation(new, label=renames[new.label])
            changed = changed or new is not ann
            out.append(new)
        if not changed and not changes:
            return asset
        return _copy_asset(asset, out, **changes)

    def fix_object(self, ai: int, oi: int, asset: Asset, ann: Annotation, W: Any, H: Any, size_ok: bool
                   ) -> Annotation | None:
        """The object fixed, itself when nothing changed, None when dropped."""
        drop = self._drop_reason(ann, W, H, size_ok)
        if drop is not None:
            code, why = drop
            if self.on(code):
                self.change(code, f"{ann.kind} dropped: {why}", asset, ai, oi, ann)
                return None
            return ann
        changes: dict[str, Any] = {}
        geometry_changed = False
        if ann.polygon is not None:
            parts, notes = self._fix_polygon(ann.polygon, W, H, size_ok)
            for code, why in notes:
                self.change(code, why, asset, ai, oi, ann)
            if parts is None:
                return None
            if parts is not ann.polygon:
                changes["polygon"] = parts
                geometry_changed = True
                if ann.box is not None:
                    changes["box"] = polygon_bbox(parts)
        elif ann.box is not None and ann.mask is None and size_ok:
            x, y, w, h = ann.box
            edge = EDGE_TOLERANCE  # within it the box is not out of the image: no clip by nothing
            if (x < -edge or y < -edge or x + w > W + edge or y + h > H + edge) \
                    and self.on("bbox-partly-out-of-image"):
                box = clip_box(ann.box, W, H)
                changes["box"] = box
                geometry_changed = True
                self.change("bbox-partly-out-of-image", f"box {box_str(ann.box)} clipped to {box_str(box)}",
                            asset, ai, oi, ann)
        if (ai, oi, "bbox-geometry-mismatch") in self.object_codes and self.on("bbox-geometry-mismatch") \
                and "box" not in changes:
            from ..shapes import annotation_bbox

            geometry_box = annotation_bbox(copy_annotation(ann, box=None))
            if geometry_box is not None:
                changes["box"] = geometry_box
                self.change("bbox-geometry-mismatch", f"box {box_str(ann.box)} recomputed as "
                                                      f"{box_str(geometry_box)}", asset, ai, oi, ann)
        if ann.area is not None and (geometry_changed or (ai, oi, "area-mismatch") in self.object_codes):
            if self.on("area-mismatch"):
                changes["area"] = None
                if not geometry_changed:
                    self.change("area-mismatch", f"stated area {shown(ann.area)} dropped", asset, ai, oi, ann)
        return copy_annotation(ann, **changes) if changes else ann

    def _drop_reason(self, ann: Annotation, W: Any, H: Any, size_ok: bool) -> tuple[str, str] | None:
        box = ann.box
        if box is not None:
            try:
                if not _isfinite(sum(box)):
                    return "non-finite-coordinate", f"box {box_str(box)} holds NaN or infinity"
            except TypeError:
                return "non-finite-coordinate", f"box {box!r} is not four numbers"
        for name in ("polygon", "keypoints", "line", "point"):
            value = getattr(ann, name)
            if value is None:
                continue
            if name == "polygon" and any(type(p) is not list or len(p) & 1 for p in value):
                return "non-finite-coordinate", "a polygon part is not a list of x, y pairs"
            flat = [v for p in value for v in p] if name == "polygon" else value
            try:
                if not _isfinite(sum(flat)):
                    return "non-finite-coordinate", f"its {name} holds NaN or infinity"
            except TypeError:
                return "non-finite-coordinate", f"its {name} holds a value that is not a number"
        if ann.polygon is None and ann.mask is None and box is not None:
            x, y, w, h = box
            if w < 0 or h < 0:
                return "box-negative-size", f"box {box_str(box)} has a negative size"
            if w == 0 or h == 0:
                return "box-zero-size", f"box {box_str(box)} has a zero size"
            if size_ok and (x >= W or y >= H or x + w <= 0 or y + h <= 0):
                return "bbox-out-of-image", f"box {box_str(box)} lies outside the {shown(W)}×{shown(H)} image"
        return None

    def _fix_polygon(self, parts: list[list[float]], W: Any, H: Any, size_ok: bool
                     ) -> tuple[list[list[float]] | None, list[tuple[str, str]]]:
        """(the fixed parts, `parts` itself when unchanged, None when nothing is left; notes)."""
        notes: list[tuple[str, str]] = []
        problems = polygons_part_problems([parts])[0]
        drop = set()
        crossing = False
        for pi, code in problems:
            if code in ("too_few_points", "zero_area", "empty"):
                rule = "polygon-too-few-points" if code != "zero_area" else "polygon-zero-area"
                if self.on(rule):
                    drop.add(pi)
                    notes.append((rule, f"polygon part {pi} dropped ({PROBLEMS[code]})" if pi >= 0
                                  else "polygon dropped: no coordinates"))
            elif code == "self_intersection" and self.on("polygon-self-intersecting"):
                crossing = True
        new = [p for i, p in enumerate(parts) if i not in drop] if drop else parts
        if -1 in drop:
            new = []
        if crossing and new:
            repaired = repair_polygon(new)
            notes.append(("polygon-self-intersecting", f"self-crossing part{'s' if len(new) > 1 else ''} "
                                                       f"repaired into {len(repaired)} part"
                                                       f"{'s' if len(repaired) != 1 else ''} (shapely make_valid)"))
            new = repaired
        if size_ok and new:
            xs = [v for p in new for v in p[0::2]]
            ys = [v for p in new for v in p[1::2]]
            if min(xs) < 0 or min(ys) < 0 or max(xs) > W or max(ys) > H:
                if inside_area(new, W, H) <= 0:
                    if self.on("polygon-out-of-image"):
                        notes.append(("polygon-out-of-image", f"polygon dropped: it lies outside the "
                                                              f"{shown(W)}×{shown(H)} image"))
                        return None, notes
                elif self.on("polygon-partly-out-of-image"):
                    clipped = clip_polygon(new, W, H)
                    notes.append(("polygon-partly-out-of-image", f"polygon clipped to the {shown(W)}×{shown(H)} "
                                                                 f"image ({len(clipped)} part"
                                                                 f"{'s' if len(clipped) != 1 else ''})"))
                    new = clipped
        if not new:
            code = notes[-1][0] if notes else "polygon-zero-area"
            notes.append((code, "polygon dropped: no part left"))
            return None, notes
        return new, notes


def fix(source: ValidationReport | Dataset, images: Any = None, *, drop_broken: bool = False,
        **validate_options: Any) -> tuple[Dataset, FixLog]:
    """A corrected copy of a dataset and the log of every change.

    `drop_broken` also leaves out every asset whose image file is missing, unreadable, truncated or of
    a type the platform refuses (found only when the images were checked: `images`), each one logged.

    `source` is a `ValidationReport` (its ``dataset``, image facts and enabled rules are used) or a
    `Dataset` (validated first with `images` and `validate_options`). Fixes run only for the rules
    that were enabled; the source dataset is left as it was.
    """
    if isinstance(source, Dataset):
        from .run import validate

        source = validate(source, images, **validate_options)
    if source.dataset is None:
        raise OptionError("fix() needs the report of validate() (it keeps the dataset it checked)")
    fixer = _Fixer(source, drop_broken)
    return fixer.run(), fixer.log
