"""Annotations -> YOLO label rows for one task, counting what only the values tell.

What a task cannot hold at all (kinds, Q&A, attributes, crowd flags, scores without ``confidence``)
is reported from the format's declaration (`formats.yolo.holds_for`); here only per-value losses.

* ``detect``: boxes (polygons and masks as their boxes); ``segment``: one ring per object (boxes as
  4-point polygons, masks traced, several parts joined by zero-width bridges, see `merge`);
  ``obb``: four corners (a 4-point polygon exactly as it is, a box as its corners, anything else as its
  minimum rotated rectangle); ``pose``: the box then ``kpt_shape`` keypoints; ``mixed``: each object as it is.
* Objects wholly outside their image are dropped (and counted apart from those clipped to it).

Example:
    >>> from picsellia_formats.model import Annotation, Asset
    >>> w = RowWriter({"a": 0}, "segment", False)
    >>> w.rows(Asset("x.jpg", 10, 10, [Annotation("a", box=(0, 0, 5, 5))]), 10, 10)
    ['0 0 0 0.5 0 0.5 0.5 0 0.5']
"""

from __future__ import annotations

from operator import truediv
from typing import Any

from ...model import EMPTY, Annotation, Asset
from ...report import Report
from .merge import join_parts
from .rows import text_matches_box, text_matches_poly

_FORMATS: dict[int, str] = {}
_BOX_ROW = "%d %.14g %.14g %.14g %.14g"  # one % format: faster than an f-string of four specs


class Counts:
    __slots__ = ("boxes_as_polygons", "clipped", "kp_clipped", "kp_mismatch", "masks_as_boxes", "no_keypoints",
                 "obb_approx", "outside", "scores", "small_parts", "visibility")

    def __init__(self) -> None:
        for s in self.__slots__:
            setattr(self, s, 0)
        self.outside: dict[str, int] = {}


def _clip01(v: float) -> float:
    return 0.0 if not v >= 0.0 else (1.0 if v > 1.0 else v)


def _outside(x0: float, y0: float, x1: float, y1: float, W: float, H: float) -> bool:
    """Whether the rectangle [x0, x1] x [y0, y1] has nothing inside the image: on each axis, a span must
    overlap the image's, or be a single value within it (a line or point on the edge stays)."""
    in_x = (x0 < W and x1 > 0.0) or (x0 == x1 and 0.0 <= x0 <= W)
    in_y = (y0 < H and y1 > 0.0) or (y0 == y1 and 0.0 <= y0 <= H)
    return not (in_x and in_y)


class RowWriter:
    """Builds the rows of one label file per asset. `rows` is the hot path."""

    def __init__(self, index: dict[str, int], task: str, confidence: bool,
                 kpt_shape: tuple[int, int] | None = None) -> None:
        self.index = index
        self.task = task
        self.confidence = confidence
        self.kpt_shape = kpt_shape
        self.c = Counts()
        self._divisors: dict[tuple[float, float, int], tuple[float, ...]] = {}

    def _drop_outside(self, kind: str) -> None:
        self.c.outside[kind] = self.c.outside.get(kind, 0) + 1

    def box_coords(self, ann: Annotation, box: Any, W: float, H: float) -> str | None:
        """``cx cy w h`` of a box (its source text when it still says the same), None when wholly outside."""
        ex = ann.extra
        if ex and "yolo" in ex and isinstance(ex["yolo"], dict):
            text = ex["yolo"].get("text")
            if text and text_matches_box(text, box, W, H):
                return text  # type: ignore[no-any-return]
        x, y, w, h = box
        cx = (x + w * 0.5) / W
        cy = (y + h * 0.5) / H
        nw = w / W
        nh = h / H
        if 0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0 and 0.0 <= nw <= 1.0 and 0.0 <= nh <= 1.0:
            return f"{cx:.14g} {cy:.14g} {nw:.14g} {nh:.14g}"
        if _outside(x, y, x + w, y + h, W, H) or not (w == w and h == h):
            return None
        self.c.clipped += 1  # clip the corners to the image (values in range but reaching outside are valid)
        x0, y0 = _clip01(x / W), _clip01(y / H)
        x1, y1 = max(x0, _clip01((x + w) / W)), max(y0, _clip01((y + h) / H))
        return " ".join([f"{v:.14g}" for v in ((x0 + x1) * 0.5, (y0 + y1) * 0.5, x1 - x0, y1 - y0)])

    def box_row(self, idx: int, ann: Annotation, box: Any, W: float, H: float, out: list[str]) -> None:
        coords = self.box_coords(ann, box, W, H)
        if coords is None:
            self._drop_outside("boxes")
            return
        score = ann.score
        if score is not None and self.confidence:  # without it, reported from the declaration
            out.append(f"{idx} {coords} {score:.14g}")
            return
        out.append(f"{idx} {coords}")

    def poly_rows(self, idx: int, ex: Any, parts: list[list[float]], W: float, H: float, out: list[str],
                  clip: bool = True) -> None:
        if len(parts) == 1 and ex and "yolo" in ex and isinstance(ex["yolo"], dict):
            text = ex["yolo"].get("text")
            if text and text_matches_poly(text, parts[0], W, H):
                out.append(f"{idx} {text}")
                return
        usable = parts
        if not all(len(p) >= 6 and not len(p) % 2 for p in parts):
            usable = [p for p in parts if len(p) >= 6 and not len(p) % 2]
            self.c.small_parts += len(parts) - len(usable)
            if not usable:
                return
        if len(usable) > 1:
            part = join_parts(usable)
        else:
            part = usable[0]
        n = len(part)
        cache = self._divisors
        divisors = cache.get((W, H, n))
        if divisors is None:
            if len(cache) > 4096:
                cache.clear()
            divisors = cache[(W, H, n)] = (W, H) * (n // 2)
        flat = tuple(map(truediv, part, divisors))
        if not (min(flat) >= 0.0 and max(flat) <= 1.0 and sum(flat) == sum(flat)):
            xs, ys = flat[0::2], flat[1::2]
            if _outside(min(xs), min(ys), max(xs), max(ys), 1.0, 1.0) or sum(flat) != sum(flat):
                self._drop_outside("polygons")
                return
            if clip:
                self.c.clipped += 1
                flat = tuple(_clip01(v) for v in flat)
        fmt = _FORMATS.get(n)
        if fmt is None:
            fmt = _FORMATS[n] = " ".join(["%.14g"] * n)
        out.append(f"{idx} " + fmt % flat)

    def rows(self, asset: Asset, W: float, H: float) -> list[str]:
        out: list[str] = []
        append = out.append
        index = self.index
        task = self.task
        plain_boxes = task in ("detect", "mixed")
        polygons_as_boxes = task == "detect"
        for ann in asset.annotations:
            box = ann.box
            if plain_boxes and box is not None and ann.mask is None and ann.keypoints is None \
                    and ann.line is None and ann.point is None and (ann.polygon is None or polygons_as_boxes):
                x, y, w, h = box
                cx = (x + w * 0.5) / W
                cy = (y + h * 0.5) / H
                nw = w / W
                nh = h / H
                if not ann.extra and ann.score is None and 0.0 <= cx <= 1.0 and 0.0 <= cy <= 1.0 \
                        and 0.0 <= nw <= 1.0 and 0.0 <= nh <= 1.0:
                    append(_BOX_ROW % (index[ann.label], cx, cy, nw, nh))
                else:
                    self.box_row(index[ann.label], ann, box, W, H, out)
            elif task == "pose":
                self.pose_row(index[ann.label], ann, W, H, out)
            elif task == "obb":
                self.obb_row(index[ann.label], ann, W, H, out)
            else:
                self.slow(index[ann.label], ann, W, H, out)
        return out

    def _score_dropped(self, ann: Annotation) -> None:
        """A score on a row that has no place for it (with ``confidence``; without it, declared)."""
        if ann.score is not None and self.confidence:
            self.c.scores += 1

    def slow(self, idx: int, ann: Annotation, W: float, H: float, out: list[str]) -> None:
        """Every object that is not a plain box written as a box."""
        c = self.c
        box = ann.box
        if ann.polygon is None and ann.mask is None:
            if box is None:  # keypoints, lines, points, classifications: reported from the declaration
                return
            if self.task == "segment":
                x, y, w, h = box
                c.boxes_as_polygons += 1
                self._score_dropped(ann)
                self.poly_rows(idx, EMPTY, [[x, y, x + w, y, x + w, y + h, x, y + h]], W, H, out)
            else:
                self.box_row(idx, ann, box, W, H, out)
            return
        if self.task == "detect":
            self.box_row(idx, ann, box if box is not None else _bbox(ann), W, H, out)
            return
        self._score_dropped(ann)
        if ann.polygon is not None:
            self.poly_rows(idx, ann.extra, ann.polygon, W, H, out)
            return
        from ...masks import mask_to_polygons

        parts = mask_to_polygons(ann.mask)
        if parts:
            self.poly_rows(idx, EMPTY, parts, W, H, out)
            return
        c.masks_as_boxes += 1
        self.box_row(idx, ann, box if box is not None else _bbox(ann), W, H, out)

    def obb_row(self, idx: int, ann: Annotation, W: float, H: float, out: list[str]) -> None:
        """Four corners: a 4-point polygon as it is, a box as its corners, else the minimum rotated rectangle."""
        self._score_dropped(ann)
        poly = ann.polygon
        if poly is not None and len(poly) == 1 and len(poly[0]) == 8:
            self.poly_rows(idx, ann.extra, poly, W, H, out, clip=False)
            return
        if poly is None and ann.mask is None:
            if ann.box is None:
                return
            x, y, w, h = ann.box
            self.poly_rows(idx, EMPTY, [[x, y, x + w, y, x + w, y + h, x, y + h]], W, H, out, clip=False)
            return
        corners = _rotated_rectangle(ann)
        if corners is None:
            self.c.small_parts += 1
            return
        self.c.obb_approx += 1
        self.poly_rows(idx, EMPTY, [corners], W, H, out, clip=False)

    def pose_row(self, idx: int, ann: Annotation, W: float, H: float, out: list[str]) -> None:
        """``class cx cy w h`` then ``kpt_shape`` keypoints (``x y`` or ``x y v``)."""
        c = self.c
        nk, nd = self.kpt_shape  # type: ignore[misc]
        box = ann.box
        kps = ann.keypoints
        if box is None:
            if ann.polygon is None and ann.mask is None and kps is None:
                return
            box = _bbox(ann)
        coords = self.box_coords(ann, box, W, H)
        if coords is None:
            self._drop_outside("boxes")
            return
        self._score_dropped(ann)
        values: list[str] = []
        if kps is None or len(kps) != nk * 3:
            if kps is None:
                c.no_keypoints += 1
            else:
                c.kp_mismatch += 1
            values = ["0"] * (nk * nd)
        else:
            for k in range(nk):
                x, y, v = kps[3 * k], kps[3 * k + 1], kps[3 * k + 2]
                if not v:
                    values += ["0"] * nd
                    continue
                fx, fy = x / W, y / H
                if not (0.0 <= fx <= 1.0 and 0.0 <= fy <= 1.0):
                    c.kp_clipped += 1
                    fx, fy = _clip01(fx), _clip01(fy)
                values += [f"{fx:.14g}", f"{fy:.14g}"]
                if nd == 3:
                    values.append(f"{int(v)}")
                elif v != 2:
                    c.visibility += 1
        out.append(f"{idx} {coords} " + " ".join(values))

    def report_to(self, report: Report) -> None:
        c = self.c
        report.approximated("masks with no traceable polygon written as boxes", c.masks_as_boxes)
        report.approximated("objects written as their minimum rotated rectangle", c.obb_approx,
                            "YOLO OBB rows hold 4 corners")
        report.approximated("objects clipped to the image", c.clipped, "YOLO values must be within [0, 1]")
        for kind, n in c.outside.items():
            report.dropped(f"{kind} outside their image", n, "no part of the shape lies inside the image")
        report.changed("boxes written as 4-point polygons", c.boxes_as_polygons,
                       "segmentation datasets hold one kind of row")
        report.dropped("polygon parts with fewer than 3 points or an odd count of values", c.small_parts)
        if self.kpt_shape is not None:
            nk = self.kpt_shape[0]
            report.changed(f"objects without keypoints written with {nk} unlabelled keypoints", c.no_keypoints,
                           "every pose row has kpt_shape keypoints")
            report.dropped(f"keypoint sets whose count is not {nk}", c.kp_mismatch, f"kpt_shape is [{nk}, ...]")
            report.approximated("keypoints clipped to the image", c.kp_clipped, "YOLO values are within [0, 1]")
            report.dropped("keypoint visibility flags other than visible", c.visibility,
                           "kpt_shape [N, 2] has no visibility")
        report.dropped("scores on rows other than boxes", c.scores, "YOLO writes a confidence on box rows only")


def _bbox(ann: Annotation) -> tuple[float, float, float, float]:
    if ann.polygon is None and ann.mask is None and ann.keypoints is not None:
        kps = ann.keypoints
        pts = [(kps[i], kps[i + 1]) for i in range(0, len(kps), 3) if kps[i + 2]]
        if not pts:
            return (0.0, 0.0, 0.0, 0.0)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    from ...shapes import annotation_bbox

    return annotation_bbox(ann)  # type: ignore[no-any-return]


def _rotated_rectangle(ann: Annotation) -> list[float] | None:
    """Four corners of the minimum rotated rectangle around an object's polygon (or mask's box)."""
    if ann.polygon is None:
        x, y, w, h = _bbox(ann)
        return [x, y, x + w, y, x + w, y + h, x, y + h]
    from shapely.geometry import MultiPoint

    pts = [(p[i], p[i + 1]) for p in ann.polygon for i in range(0, len(p) - 1, 2)]
    if len(pts) < 3:
        return None
    rect = MultiPoint(pts).minimum_rotated_rectangle
    coords = list(getattr(rect, "exterior", rect).coords)[:4] if rect.geom_type == "Polygon" else []
    if len(coords) != 4:
        return None
    return [v for xy in coords for v in xy]
