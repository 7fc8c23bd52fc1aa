"""Per-asset and per-object rules in one pass: structure, geometry, and the label counts.

The pass is the validator's hot loop (a million objects): plain Python on the model's lists, no
per-object numpy or shapely. Polygons that need a self-intersection test (4+ vertices, non-zero
area) are gathered and tested in bulk by `polygon_checks.simple_flags`.

Example:
    >>> from picsellia_formats.model import Annotation, Asset, Dataset
    >>> from picsellia_formats.validation.context import Context, Options
    >>> from picsellia_formats.validation.rules import select
    >>> ds = Dataset(assets=[Asset("a.jpg", 100, 50, [Annotation("cat", box=(90.0, 10.0, 20.0, 5.0))])])
    >>> ctx = Context(ds, Options(), select())
    >>> _ = scan(ctx)
    >>> [f.code for f in ctx.report]
    ['bbox-partly-out-of-image']
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from .context import Context
from .polygon_checks import ZERO_AREA, PartStats, crosses, inside_area, simple_flags
from .rules import EDGE_TOLERANCE as EDGE

_isfinite = math.isfinite
_NUM = (int, float)


def shown(v: Any) -> str:
    """A number for people: integers without a fraction, others to 6 significant digits."""
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.6g}" if abs(v) < 1e6 else f"{v:.0f}"
    return repr(v)


def box_str(box: Any) -> str:
    """A box for people: ``(x, y, w, h)`` with `shown` values."""
    return "(" + ", ".join(shown(v) for v in box) + ")"


def size_valid(w: Any, h: Any) -> bool:
    """Whether an image size is two finite positive numbers."""
    return type(w) in _NUM and type(h) in _NUM and _isfinite(w) and _isfinite(h) and w > 0 and h > 0


def _unsafe_name(name: Any) -> str | None:
    """Why a file name is unsafe for a relative path, or None (cheap test first)."""
    if type(name) is not str or not name.strip():
        return "the file name is empty"
    if "\x00" in name:
        return "the file name holds a NUL byte"
    if name[0] in "/\\" or (len(name) > 1 and name[1] == ":"):
        return "the file name is an absolute path"
    if ".." in name and ".." in name.replace("\\", "/").split("/"):
        return "the file name climbs out of its folder with '..'"
    return None


class ScanResult:
    """What the pass counted, for the dataset rules: objects per label, empty assets, total objects."""

    __slots__ = ("empty_assets", "label_counts", "objects")

    def __init__(self) -> None:
        self.label_counts: dict[str, int] = {}
        self.empty_assets: list[int] = []
        self.objects = 0


def scan(ctx: Context) -> ScanResult:
    """Run the asset, object, structure and geometry rules; return the counts for the dataset rules."""
    ds = ctx.dataset
    opt = ctx.options
    on = ctx.enabled.__contains__
    emit = ctx.emit
    result = ScanResult()
    counts = result.label_counts
    declared = {label.name for label in ds.labels} if ds.labels else None
    check_undeclared = declared is not None and on("undeclared-label")
    check_ids = on("duplicate-object-id")
    check_dup = on("duplicate-object")
    check_area = on("area-mismatch")
    check_bbox = on("bbox-geometry-mismatch")
    check_small = on("object-too-small")
    min_area, min_side, tol = opt.min_area, opt.min_side, opt.bbox_tolerance
    file_names: dict[str, int] = {}
    asset_ids: dict[Any, int] = {}
    undeclared: dict[str, tuple[int, int]] = {}
    pparts: list[list[float]] = []  # polygon parts, checked in bulk after the pass
    powners: list[int] = []  # each part's index in its polygon
    pobjs: list[tuple[Any, ...]] = []  # (asset, object, first part, end part, W, H, size ok)
    n_objects = 0

    for ai, asset in enumerate(ds.assets):
        name = asset.file_name
        first = file_names.setdefault(name, ai)
        if first != ai:
            emit("duplicate-file-name", f"{name!r} is also the file of asset {first}", ai)
        if asset.id is not None:
            first = asset_ids.setdefault(asset.id, ai)
            if first != ai:
                emit("duplicate-asset-id", f"asset id {asset.id!r} is also the id of asset {first} "
                                           f"({ds.assets[first].file_name!r})", ai)
        why = _unsafe_name(name)
        if why is not None:
            emit("file-name-unsafe", f"{why}: {name!r}", ai)
        W, H = asset.width, asset.height
        size_ok = size_valid(W, H)
        if not size_ok:
            if W is None or H is None:
                emit("image-size-unknown", "the image has no stated width/height; positions were not checked",
                     ai)
            else:
                emit("image-size-invalid", f"stated size {shown(W)}×{shown(H)} is not a positive size", ai)
        anns = asset.annotations
        if not anns:
            result.empty_assets.append(ai)
            if asset.qa:
                _qa_pass(ctx, ai, None, asset.qa)
            continue
        n_objects += len(anns)
        seen: dict[Any, int] | None = {} if check_dup else None
        for oi, ann in enumerate(anns):
            label = ann.label
            box = ann.box
            polygon = ann.polygon
            mask = ann.mask
            computed_area = None
            geometry_box = None  # box of the object's geometry, when it is not the stated box
            bad = False
            if box is not None:
                try:
                    bx, by, bw, bh = box
                    finite = _isfinite(bx + by + bw + bh)
                except (TypeError, ValueError):
                    emit("non-finite-coordinate", f"box {box!r} is not four numbers", ai, oi)
                    continue
                if not finite:
                    emit("non-finite-coordinate", f"box {box_str(box)} holds NaN or infinity", ai, oi)
                    continue
            if polygon is not None:
                first_part = len(pparts)
                for pi, part in enumerate(polygon):
                    if type(part) is not list or len(part) < 6 or len(part) & 1:
                        _short_part(ctx, ai, oi, pi, part)
                    else:
                        pparts.append(part)
                        powners.append(pi)
                pobjs.append((ai, oi, first_part, len(pparts), W, H, size_ok))
            elif mask is not None:
                computed_area, geometry_box, bad = _mask(ctx, ai, oi, mask, W, H, size_ok, check_area or
                                                         check_bbox or check_small)
                if bad:
                    continue
            elif box is not None:
                if bw < 0 or bh < 0:
                    emit("box-negative-size", f"box {box_str(box)} has a negative "
                                              f"{'width' if bw < 0 else 'height'}", ai, oi)
                    continue
                if bw == 0 or bh == 0:
                    emit("box-zero-size", f"box {box_str(box)} has a zero "
                                          f"{'width' if bw == 0 else 'height'}", ai, oi)
                    continue
                if size_ok:
                    if bx >= W or by >= H or bx + bw <= 0 or by + bh <= 0:
                        emit("bbox-out-of-image", f"box {box_str(box)} lies wholly outside the "
                                                  f"{shown(W)}×{shown(H)} image", ai, oi)
                        continue
                    if bx < -EDGE or by < -EDGE or bx + bw > W + EDGE or by + bh > H + EDGE:
                        emit("bbox-partly-out-of-image", f"box {box_str(box)} reaches outside the "
                                                         f"{shown(W)}×{shown(H)} image", ai, oi,
                             {"box": list(box), "image": [W, H]})
                computed_area = bw * bh
                if check_small and (computed_area < min_area or bw < min_side or bh < min_side):
                    emit("object-too-small", f"box {box_str(box)} is {shown(computed_area)} px²", ai, oi)
            if ann.keypoints is not None or ann.line is not None or ann.point is not None:
                if _points(ctx, ai, oi, ann, W, H, size_ok):
                    continue
            if computed_area is not None and mask is not None:
                if check_small and geometry_box is not None and (
                        computed_area < min_area or geometry_box[2] < min_side or geometry_box[3] < min_side):
                    emit("object-too-small", f"{'polygon' if polygon is not None else 'mask'} covers "
                                             f"{shown(computed_area)} px²", ai, oi)
                if check_bbox and box is not None and geometry_box is not None:
                    if (abs(box[0] - geometry_box[0]) > tol or abs(box[1] - geometry_box[1]) > tol
                            or abs(box[0] + box[2] - geometry_box[0] - geometry_box[2]) > tol
                            or abs(box[1] + box[3] - geometry_box[1] - geometry_box[3]) > tol):
                        emit("bbox-geometry-mismatch", f"stated box {box_str(box)}, but the "
                                                       f"{ann.kind} spans {box_str(geometry_box)}", ai, oi)
            if check_area and ann.area is not None and computed_area is not None:
                stated = ann.area
                if type(stated) in _NUM and abs(stated - computed_area) > max(0.15 * computed_area, 16.0):
                    emit("area-mismatch", f"stated area {shown(stated)}, but the {ann.kind} covers "
                                          f"{shown(computed_area)} px²", ai, oi)
            if seen is not None:
                key = (label, box) if box is not None else shape_key(ann)
                other = seen.setdefault(key, oi)
                if other != oi and (box is None or shape_key(ann) == shape_key(anns[other])):
                    emit("duplicate-object", f"a second {label!r} {ann.kind} with the same geometry as object "
                                             f"{other}", ai, oi)
            if ann.qa:
                _qa_pass(ctx, ai, oi, ann.qa)
        if asset.qa:
            _qa_pass(ctx, ai, None, asset.qa)

    if pobjs:
        _polygons(ctx, pparts, powners, pobjs)
    counts.update(Counter(ann.label for asset in ds.assets for ann in asset.annotations))
    if check_undeclared:
        for label in counts:
            if label not in declared:  # type: ignore[operator]
                undeclared[label] = next((ai, oi) for ai, asset in enumerate(ds.assets)
                                         for oi, ann in enumerate(asset.annotations) if ann.label == label)
    if check_ids:
        _duplicate_ids(ctx)
    for label, (ai, oi) in undeclared.items():
        n = counts.get(label, 0)
        emit("undeclared-label", f"label {label!r} is used by {n:,} object{'s' if n != 1 else ''} but is not "
                                 f"in the label list (first: this one)", ai, oi, {"label": label})
    result.objects = n_objects
    return result


def _duplicate_ids(ctx: Context) -> None:
    """Objects sharing an id (a set-size test first; the detailed pass only when there are repeats)."""
    assets = ctx.dataset.assets
    ids = [ann.id for asset in assets for ann in asset.annotations if ann.id is not None]
    try:
        if len(set(ids)) == len(ids):
            return
    except TypeError:  # unhashable ids: compare their reprs
        pass
    first: dict[Any, tuple[int, int]] = {}
    for ai, asset in enumerate(assets):
        for oi, ann in enumerate(asset.annotations):
            if ann.id is None:
                continue
            key = ann.id if isinstance(ann.id, (int, str)) else repr(ann.id)
            fa, fo = first.setdefault(key, (ai, oi))
            if (fa, fo) != (ai, oi):
                ctx.emit("duplicate-object-id", f"object id {ann.id!r} is also the id of object {fo} of "
                                                f"{assets[fa].file_name!r}", ai, oi)


def shape_key(ann: Any) -> Any:
    """A hashable key of an object's label and geometry (duplicate objects share it)."""
    if ann.polygon is not None:
        return (ann.label, 1, tuple(ann.polygon[0]) if len(ann.polygon) == 1 else
                tuple(tuple(p) for p in ann.polygon))
    if ann.mask is not None:
        counts = ann.mask.counts
        return (ann.label, 2, counts if isinstance(counts, str) else tuple(counts))
    if ann.box is not None:
        return (ann.label, 3, ann.box)
    if ann.keypoints is not None:
        return (ann.label, 4, tuple(ann.keypoints))
    if ann.line is not None:
        return (ann.label, 5, tuple(ann.line))
    if ann.point is not None:
        return (ann.label, 6, tuple(ann.point))
    return (ann.label, 7)


def _short_part(ctx: Context, ai: int, oi: int, pi: int, part: Any) -> None:
    if type(part) is not list or len(part) & 1:
        ctx.emit("non-finite-coordinate", f"polygon part {pi} is not a list of x, y pairs", ai, oi, {"part": pi})
        return
    try:
        distinct = len(set(zip(part[0::2], part[1::2])))
    except TypeError:
        distinct = 0
    ctx.emit("polygon-too-few-points", f"polygon part {pi} has {distinct} distinct point"
                                       f"{'s' if distinct != 1 else ''}", ai, oi, {"part": pi})


def _stats(ctx: Context, parts: list[list[float]], owners: list[int], objs: list[tuple[Any, ...]]
           ) -> tuple[PartStats, list[tuple[Any, ...]]]:
    """PartStats of every part; parts holding non-numbers are reported and their objects left out."""
    try:
        return PartStats(parts), objs
    except (TypeError, ValueError):
        pass
    kept_parts: list[list[float]] = []
    kept_owners: list[int] = []
    kept_objs = []
    for ai, oi, start, end, W, H, size_ok in objs:
        bad = next((i for i in range(start, end) if any(type(v) not in _NUM for v in parts[i])), None)
        if bad is not None:
            ctx.emit("non-finite-coordinate", f"polygon part {owners[bad]} holds a value that is not a number",
                     ai, oi)
            continue
        first = len(kept_parts)
        kept_parts += parts[start:end]
        kept_owners += owners[start:end]
        kept_objs.append((ai, oi, first, len(kept_parts), W, H, size_ok))
    owners[:] = kept_owners
    return PartStats(kept_parts), kept_objs


def _polygons(ctx: Context, parts: list[list[float]], owners: list[int], objs: list[tuple[Any, ...]]) -> None:
    """The polygon rules, on numbers computed for all parts and objects at once (numpy); only the objects
    that something is wrong with are visited one by one."""
    import numpy as np

    emit = ctx.emit
    opt = ctx.options
    stats, objs = _stats(ctx, parts, owners, objs)
    objs = [o for o in objs if o[3] > o[2]]  # objects with no usable part were reported already
    if not objs:
        return
    assets = ctx.dataset.assets
    anns = [assets[o[0]].annotations[o[1]] for o in objs]
    idx = np.fromiter((o[2] for o in objs), np.int64, len(objs))
    finite = stats.finite
    good = finite & (stats.area > ZERO_AREA)
    inf = np.inf
    nonfinite = np.logical_or.reduceat(~finite, idx)
    zero = np.logical_or.reduceat(finite & (stats.area <= ZERO_AREA), idx)
    ngood = np.add.reduceat(good.astype(np.int64), idx)
    area = np.add.reduceat(np.where(good, stats.area, 0.0), idx)
    x0 = np.minimum.reduceat(np.where(good, stats.x0, inf), idx)
    y0 = np.minimum.reduceat(np.where(good, stats.y0, inf), idx)
    x1 = np.maximum.reduceat(np.where(good, stats.x1, -inf), idx)
    y1 = np.maximum.reduceat(np.where(good, stats.y1, -inf), idx)
    nan = math.nan
    W = np.fromiter((o[4] if o[6] else nan for o in objs), np.float64, len(objs))
    H = np.fromiter((o[5] if o[6] else nan for o in objs), np.float64, len(objs))
    with np.errstate(invalid="ignore"):
        outside = (x0 < -EDGE) | (y0 < -EDGE) | (x1 > W + EDGE) | (y1 > H + EDGE)
        flagged = nonfinite | zero | ((ngood > 0) & outside)
        if ctx.on("object-too-small"):
            flagged |= (ngood > 0) & ((area < opt.min_area) | (x1 - x0 < opt.min_side) | (y1 - y0 < opt.min_side))
        if ctx.on("area-mismatch"):
            stated = np.fromiter((a.area if type(a.area) in _NUM else nan for a in anns), np.float64, len(anns))
            flagged |= np.abs(stated - area) > np.maximum(0.15 * area, 16.0)
        if ctx.on("bbox-geometry-mismatch"):
            boxes = np.array([a.box if a.box is not None else (nan, nan, nan, nan) for a in anns], np.float64)
            tol = opt.bbox_tolerance
            flagged |= ((np.abs(boxes[:, 0] - x0) > tol) | (np.abs(boxes[:, 1] - y0) > tol)
                        | (np.abs(boxes[:, 0] + boxes[:, 2] - x1) > tol)
                        | (np.abs(boxes[:, 1] + boxes[:, 3] - y1) > tol))
    for k in np.flatnonzero(flagged).tolist():
        ai, oi, start, end, Wk, Hk, size_ok = objs[k]
        if nonfinite[k]:
            i = start + int(np.argmin(finite[start:end]))
            emit("non-finite-coordinate", f"polygon part {owners[i]} holds NaN or infinity", ai, oi,
                 {"part": owners[i]})
            continue
        if zero[k]:
            for i in range(start, end):
                if stats.area[i] <= ZERO_AREA:
                    part = parts[i]
                    distinct = len(set(zip(part[0::2], part[1::2])))
                    if distinct >= 3 and crosses(part):  # a symmetric bow tie: its signed area is 0
                        emit("polygon-self-intersecting", f"polygon part {owners[i]} crosses itself", ai, oi,
                             {"part": owners[i]})
                    elif distinct < 3:
                        emit("polygon-too-few-points", f"polygon part {owners[i]} has {distinct} distinct point"
                                                       f"{'s' if distinct != 1 else ''}", ai, oi, {"part": owners[i]})
                    else:
                        emit("polygon-zero-area", f"polygon part {owners[i]} has {distinct} points on one line "
                                                  "(zero area)", ai, oi, {"part": owners[i]})
        if not ngood[k]:
            continue
        a = float(area[k])
        bx0, by0, bx1, by1 = float(x0[k]), float(y0[k]), float(x1[k]), float(y1[k])
        box = (bx0, by0, bx1 - bx0, by1 - by0)
        if size_ok and outside[k]:
            if bx0 >= Wk or by0 >= Hk or bx1 <= 0 or by1 <= 0 or inside_area(anns[k].polygon, Wk, Hk) <= 0:
                emit("polygon-out-of-image", f"polygon spanning {box_str(box)} lies wholly outside the "
                                             f"{shown(Wk)}×{shown(Hk)} image", ai, oi)
                continue
            emit("polygon-partly-out-of-image", f"polygon spanning {box_str(box)} reaches outside the "
                                                f"{shown(Wk)}×{shown(Hk)} image", ai, oi)
        if a < opt.min_area or box[2] < opt.min_side or box[3] < opt.min_side:
            emit("object-too-small", f"polygon covers {shown(a)} px²", ai, oi)
        stated_box = anns[k].box
        tol = opt.bbox_tolerance
        if stated_box is not None and (
                abs(stated_box[0] - bx0) > tol or abs(stated_box[1] - by0) > tol
                or abs(stated_box[0] + stated_box[2] - bx1) > tol or abs(stated_box[1] + stated_box[3] - by1) > tol):
            emit("bbox-geometry-mismatch", f"stated box {box_str(stated_box)}, but the polygon spans "
                                           f"{box_str(box)}", ai, oi)
        stated_area = anns[k].area
        if type(stated_area) in _NUM and abs(stated_area - a) > max(0.15 * a, 16.0):
            emit("area-mismatch", f"stated area {shown(stated_area)}, but the polygon covers {shown(a)} px²", ai, oi)
    if ctx.on("polygon-self-intersecting"):
        owner_obj = np.repeat(np.arange(len(objs)), np.fromiter((o[3] - o[2] for o in objs), np.int64, len(objs)))
        first = int(idx[0])
        test = np.flatnonzero(good[first:] & (stats.n[first:] >= 4) & ~nonfinite[owner_obj]) + first
        simple = simple_flags(stats, test)
        for i in test[~simple].tolist():
            ai, oi = objs[owner_obj[i - first]][:2]
            emit("polygon-self-intersecting", f"polygon part {owners[i]} crosses itself", ai, oi, {"part": owners[i]})


def _mask(ctx: Context, ai: int, oi: int, mask: Any, W: Any, H: Any, size_ok: bool, measure: bool
          ) -> tuple[float | None, Any, bool]:
    if size_ok and (mask.width != W or mask.height != H):
        ctx.emit("rle-size-mismatch", f"mask is {mask.width}×{mask.height}, the image {shown(W)}×{shown(H)}",
                 ai, oi, {"mask": [mask.width, mask.height], "image": [W, H]})
        return None, None, True
    if not measure:
        return None, None, False
    from ..masks import rle_area, rle_bbox

    try:
        return float(rle_area(mask)), rle_bbox(mask), False
    except (ValueError, TypeError, OverflowError) as exc:
        ctx.emit("rle-size-mismatch", f"mask cannot be decoded: {exc}", ai, oi)
        return None, None, True


def _points(ctx: Context, ai: int, oi: int, ann: Any, W: Any, H: Any, size_ok: bool) -> bool:
    """Keypoints, line and point: finiteness, then position. True when unusable."""
    pts: list[tuple[float, float]] = []
    what = "keypoint"
    if ann.keypoints is not None:
        kp = ann.keypoints
        pts = [(kp[i], kp[i + 1]) for i in range(0, len(kp) - 2, 3) if kp[i + 2]]
    if ann.line is not None:
        what = "line vertex"
        pts += list(zip(ann.line[0::2], ann.line[1::2]))
    if ann.point is not None:
        what = "point"
        pts.append(tuple(ann.point))  # type: ignore[arg-type]
    try:
        finite = _isfinite(sum(x + y for x, y in pts))
    except TypeError:
        finite = False
    if not finite:
        ctx.emit("non-finite-coordinate", f"a {what} holds NaN, infinity or a non-number", ai, oi)
        return True
    if size_ok:
        outside = [(x, y) for x, y in pts if x < 0 or y < 0 or x > W or y > H]
        if outside:
            x, y = outside[0]
            ctx.emit("points-out-of-image", f"{len(outside)} {what}{'s' if len(outside) > 1 else ''} outside the "
                                            f"{shown(W)}×{shown(H)} image, e.g. ({shown(x)}, {shown(y)})", ai, oi)
    return False


def _qa_pass(ctx: Context, ai: int, oi: int | None, qa: Any) -> None:
    from .answers import check_qa

    check_qa(ctx, ai, oi, qa)
