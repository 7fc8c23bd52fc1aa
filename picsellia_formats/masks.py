"""Mask conversions: polygons, COCO RLE (both encodings) and binary arrays, exact to pycocotools.

The model's mask is COCO RLE (`Mask`). Everything that rasterises goes through pycocotools itself
(``frPyObjects`` + ``merge`` + ``decode``), so a mask made here has the very pixels every COCO
consumer computes. Tracing a mask back to polygons (`mask_to_polygons`) follows the *pixel edges*
(the "crack" boundary) with OpenCV, so that pycocotools rasterises the polygons back to the same
pixels: exact at ``tolerance=0``, within ``tolerance`` pixels once simplified.

Holes: a COCO polygon object is the *union* of its parts, so a hole cannot be a part of its own.
Each hole is joined to its outer ring by a zero-width cut (a "keyhole" bridge walked there and
back); pycocotools fills each part by the even-odd rule, so the bridge cancels out and the hole
stays empty, pixel for pixel. ``holes="separate"`` returns the holes as rings of their own (with
`mask_to_rings`) for consumers that understand them (shapely, the platform's multi-polygons);
``holes="fill"`` drops them.

Example:
    >>> from picsellia_formats.model import Mask
    >>> m = Mask(2, 3, [1, 4, 1])
    >>> rle_area(m), rle_bbox(m)
    (4, (0.0, 0.0, 3.0, 2.0))
    >>> sq = polygon_to_rle([[1, 1, 4, 1, 4, 4, 1, 4]], 6, 6)
    >>> rle_area(sq), mask_to_polygons(sq)
    (9, [[1.0, 1.0, 1.0, 4.0, 4.0, 4.0, 4.0, 1.0]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pycocotools import mask as _coco_mask

from .errors import FormatError, OptionError
from .geometry import bridge_holes
from .model import Mask

if TYPE_CHECKING:
    from .model import Box

HOLES = ("bridge", "separate", "fill")


# ------------------------------------------------------------------------------------ RLE encodings


def counts_from_string(s: str | bytes) -> list[int]:
    """Decode COCO's compressed ``counts`` string into run lengths (pycocotools' ``rleFrString``).

    Example:
        >>> counts_from_string("14")
        [1, 4]
    """
    data = s.encode("ascii") if isinstance(s, str) else s
    counts: list[int] = []
    append = counts.append
    p = 0
    n = len(data)
    while p < n:
        x = 0
        k = 0
        more = True
        while more:
            if p >= n:
                raise FormatError("RLE counts string ends inside a number")
            c = data[p] - 48
            if c < 0 or c > 63:
                raise FormatError(f"RLE counts string has an invalid character {chr(data[p])!r} at {p}")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        m = len(counts)
        if m > 2:
            x += counts[m - 2]
        if x < 0:
            raise FormatError(f"RLE counts string gives a negative run length ({x}) at run {m}")
        append(x)
    return counts


def rle_counts_problem(height: int, width: int, counts: object) -> str | None:
    """What is wrong with RLE `counts` for a `height` x `width` mask (None: nothing), as
    pycocotools needs them: the runs (compressed string or list of non-negative integers) cover
    exactly height x width pixels. Every reader of COCO-style RLE checks with this one rule.

    Example:
        >>> rle_counts_problem(2, 2, [1, 2, 1]) is None
        True
        >>> rle_counts_problem(2, 2, "14")
        'RLE counts cover 5 pixels, expected 2 x 2 = 4'
    """
    if type(counts) is str:
        try:
            total = sum(counts_from_string(counts))
        except (FormatError, UnicodeEncodeError) as exc:
            return f"compressed RLE counts are not valid ({exc if isinstance(exc, FormatError) else 'not ASCII'})"
    elif type(counts) is list and all(type(v) is int and v >= 0 for v in counts):
        total = sum(counts)
    else:
        return "RLE counts must be a string or a list of non-negative integers"
    if total != height * width:
        return f"RLE counts cover {total} pixels, expected {height} x {width} = {height * width}"
    return None


def counts_to_string(counts: Sequence[int]) -> str:
    """Encode run lengths as COCO's compressed ``counts`` string (pycocotools' ``rleToString``).

    Example:
        >>> counts_to_string([1, 4, 1])
        '141'
    """
    out: list[str] = []
    append = out.append
    for i, v in enumerate(counts):
        x = int(v)
        if i > 2:
            x -= int(counts[i - 2])
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            append(chr(c + 48))
    return "".join(out)


def compress(mask: Mask) -> Mask:
    """The same mask with compressed (string) counts; a compressed mask is returned as is."""
    if isinstance(mask.counts, str):
        return mask
    return Mask(mask.height, mask.width, counts_to_string(mask.counts))


def decompress(mask: Mask) -> Mask:
    """The same mask with uncompressed (list of run lengths) counts."""
    if isinstance(mask.counts, str):
        return Mask(mask.height, mask.width, counts_from_string(mask.counts))
    return mask


def to_compressed(mask: Mask) -> dict[str, Any]:
    """pycocotools' compressed RLE dict (``counts`` as bytes) for `mask`, either encoding."""
    if isinstance(mask.counts, str):
        return {"size": [mask.height, mask.width], "counts": mask.counts.encode("ascii")}
    return _coco_mask.frPyObjects({"size": [mask.height, mask.width], "counts": list(mask.counts)},
                                  mask.height, mask.width)


# ---------------------------------------------------------------------------------- arrays <-> RLE


def counts_array(counts: str | bytes | Sequence[int]) -> np.ndarray:
    """Run lengths as an ``int64`` array, from either encoding (the string decoded vectorised).

    Example:
        >>> counts_array("141").tolist()
        [1, 4, 1]
    """
    if not isinstance(counts, (str, bytes)):
        return np.asarray(counts, dtype=np.int64)
    data = counts.encode("ascii") if isinstance(counts, str) else counts
    c = np.frombuffer(data, dtype=np.uint8).astype(np.int64) - 48
    if c.size == 0:
        return c
    if c.min() < 0 or c.max() > 63:
        raise FormatError("RLE counts string has an invalid character")
    ends = np.flatnonzero((c & 0x20) == 0)
    if ends.size == 0 or ends[-1] != c.size - 1:
        raise FormatError("RLE counts string ends inside a number")
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    digit = np.arange(c.size) - np.repeat(starts, ends - starts + 1)
    if digit.max() > 11:
        raise FormatError("RLE counts string holds a number too large")
    x = np.add.reduceat((c & 0x1F) << (5 * digit), starts)
    negative = (c[ends] & 0x10) != 0
    x = np.where(negative, x - (np.int64(1) << (5 * (ends - starts + 1))), x)
    if x.size > 3:  # each run is stored relative to the run two before it (from the fourth on)
        x[1::2] = np.cumsum(x[1::2])
        x[2::2] = np.cumsum(x[2::2])
    if x.size and x.min() < 0:
        raise FormatError("RLE counts string gives a negative run length")
    return x


def _foreground_span(mask: Mask) -> tuple[np.ndarray, np.ndarray] | None:
    """(starts, ends) of the foreground runs in column-major pixel order; None when empty.

    Raises ValueError when the runs do not cover ``height * width`` pixels exactly."""
    runs = counts_array(mask.counts)
    total = int(runs.sum())
    if total != mask.height * mask.width:
        raise FormatError(f"RLE runs cover {total} pixels, expected {mask.height} x {mask.width}")
    ends = np.cumsum(runs)
    fg_ends = ends[1::2]
    fg_starts = fg_ends - runs[1::2]
    keep = fg_ends > fg_starts
    if not keep.any():
        return None
    return fg_starts[keep], fg_ends[keep]


def _crop_columns(mask: Mask, span: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, int, int]:
    """The foreground's bounding box as a column-major ``(columns, rows)`` uint8 array, with its
    top-left ``(x0, y0)``: the runs are painted into the box only, never the whole image."""
    h = mask.height
    fg_starts, fg_ends = span
    last = fg_ends - 1
    x0 = int(fg_starts[0]) // h
    x1 = int(last[-1]) // h + 1
    if (fg_starts // h != last // h).any():  # a run wraps into the next column: full height
        y0, y1 = 0, h
    else:
        y0 = int((fg_starts % h).min())
        y1 = int((last % h).max()) + 1
    bh = y1 - y0
    if bh == h:
        index_s, index_e = fg_starts - x0 * h, fg_ends - x0 * h
    else:
        index_s = (fg_starts // h - x0) * bh + fg_starts % h - y0
        index_e = (last // h - x0) * bh + last % h - y0 + 1
    edges = np.zeros((x1 - x0) * bh + 1, dtype=np.int8)
    edges[index_s] += 1
    edges[index_e] -= 1
    cols = np.cumsum(edges[:-1], dtype=np.int8).view(np.uint8)
    return cols.reshape(x1 - x0, bh), x0, y0


def rle_to_mask(mask: Mask) -> np.ndarray:
    """The binary array (``uint8``, shape ``(height, width)``, 0/1) of a mask: the pixels pycocotools
    decodes, filled only where the foreground runs are (fast for the usual small object).

    Raises ValueError when the runs do not add up to ``height * width``.
    """
    h, w = mask.height, mask.width
    out = np.zeros((w, h), dtype=np.uint8)  # column-major, as RLE runs; returned transposed
    if h == 0 or w == 0:
        return out.T
    span = _foreground_span(mask)
    if span is not None:
        cols, x0, y0 = _crop_columns(mask, span)
        out[x0:x0 + cols.shape[0], y0:y0 + cols.shape[1]] = cols
    return out.T


def rle_crop(mask: Mask) -> tuple[np.ndarray, int, int] | None:
    """The foreground crop of a mask (C-contiguous uint8; tight but for runs that wrap from a column
    into the next, which take the full height) and its top-left ``(x0, y0)``."""
    if mask.height == 0 or mask.width == 0:
        return None
    span = _foreground_span(mask)
    if span is None:
        return None
    cols, x0, y0 = _crop_columns(mask, span)
    return np.ascontiguousarray(cols.T), x0, y0


def mask_to_rle(array: np.ndarray, compressed: bool = True) -> Mask:
    """Encode a 2-D array (non-zero = foreground) as a `Mask`, compressed or as a list of runs.

    Example:
        >>> mask_to_rle(np.array([[0, 1], [1, 1]]), compressed=False)
        Mask(height=2, width=2, counts=[1, 3])
    """
    array = np.asarray(array)
    if array.ndim != 2:
        raise OptionError(f"a mask array must be 2-D, got shape {array.shape}")
    h, w = array.shape
    if not compressed:
        flat = (array.T.reshape(-1) != 0).view(np.int8)
        if flat.size == 0:
            return Mask(h, w, [0])
        change = np.flatnonzero(np.diff(flat)) + 1
        bounds = np.concatenate(([0], change, [flat.size]))
        runs = np.diff(bounds).tolist()
        if flat[0]:
            runs.insert(0, 0)
        return Mask(h, w, runs)
    if h == 0 or w == 0:
        return Mask(h, w, "0")
    rle = _coco_mask.encode(np.asfortranarray(array != 0, dtype=np.uint8))
    return Mask(h, w, rle["counts"].decode("ascii"))


# ---------------------------------------------------------------------------------- polygons -> RLE


def _usable_parts(parts: Sequence[Sequence[float]]) -> list[list[float]]:
    """Parts pycocotools can rasterise as polygons: at least 3 points (6 values), even length.

    (pycocotools reads a first part of 4 values as a *box*, so shorter parts, which have no area,
    are left out rather than handed to it.)
    """
    return [[float(v) for v in p] for p in parts if len(p) >= 6 and len(p) % 2 == 0]


def polygon_to_rle(parts: Sequence[Sequence[float]], height: int, width: int) -> Mask:
    """Rasterise a (multi-part) polygon to compressed RLE exactly as pycocotools does
    (``frPyObjects`` then ``merge``: the union of the parts, each filled by the even-odd rule).

    Parts with fewer than 3 points have no area and are left out; no usable part gives an empty mask.

    Example:
        >>> polygon_to_rle([[0, 0, 2, 0, 2, 2, 0, 2]], 3, 3)
        Mask(height=3, width=3, counts='02103')
    """
    usable = _usable_parts(parts)
    if not usable or height == 0 or width == 0:
        return Mask(height, width, counts_to_string([height * width]))
    rles = _coco_mask.frPyObjects(usable, height, width)
    rle = _coco_mask.merge(rles) if len(rles) > 1 else rles[0]
    return Mask(height, width, rle["counts"].decode("ascii"))


def polygon_to_mask(parts: Sequence[Sequence[float]], height: int, width: int) -> np.ndarray:
    """Rasterise a (multi-part) polygon to a binary ``uint8`` array, pixel for pixel as pycocotools."""
    return rle_to_mask(polygon_to_rle(parts, height, width))


def polygons_to_rles(polygons: Sequence[Sequence[Sequence[float]]], height: int, width: int) -> list[Mask]:
    """`polygon_to_rle` for many objects of one image in one pycocotools call (faster in bulk)."""
    flat: list[list[float]] = []
    owners: list[int] = []
    for i, parts in enumerate(polygons):
        for p in _usable_parts(parts):
            flat.append(p)
            owners.append(i)
    empty = counts_to_string([height * width])
    out = [Mask(height, width, empty) for _ in polygons]
    if not flat or height == 0 or width == 0:
        return out
    rles = _coco_mask.frPyObjects(flat, height, width)
    start = 0
    while start < len(owners):
        end = start
        while end < len(owners) and owners[end] == owners[start]:
            end += 1
        group = rles[start:end]
        rle = _coco_mask.merge(group) if len(group) > 1 else group[0]
        out[owners[start]] = Mask(height, width, rle["counts"].decode("ascii"))
        start = end
    return out


def box_to_rle(box: Box, height: int, width: int) -> Mask:
    """Rasterise a box ``(x, y, w, h)`` as pycocotools' ``frBbox`` does."""
    x, y, w, h = box
    return polygon_to_rle([[x, y, x, y + h, x + w, y + h, x + w, y]], height, width)


# ------------------------------------------------------------------------------------ area and box


def rle_area(mask: Mask) -> int:
    """Number of foreground pixels."""
    if not isinstance(mask.counts, str):
        return int(sum(mask.counts[1::2]))
    if mask.height == 0 or mask.width == 0:
        return 0
    return int(_coco_mask.area(to_compressed(mask)))


def rle_bbox(mask: Mask) -> Box:
    """Tight box ``(x, y, w, h)`` of the foreground, as pycocotools' ``toBbox``."""
    if mask.height == 0 or mask.width == 0:
        return (0.0, 0.0, 0.0, 0.0)
    x, y, w, h = _coco_mask.toBbox(to_compressed(mask)).tolist()
    return (x, y, w, h)


def mask_area(mask: Mask | np.ndarray) -> int:
    """Foreground pixels of a `Mask` or of a binary array."""
    if isinstance(mask, Mask):
        return rle_area(mask)
    return int(np.count_nonzero(mask))


def mask_bbox(mask: Mask | np.ndarray) -> Box:
    """Tight box ``(x, y, w, h)`` of the foreground of a `Mask` or a binary array (zeros when empty)."""
    if isinstance(mask, Mask):
        return rle_bbox(mask)
    array = np.asarray(mask)
    rows = np.flatnonzero(array.any(axis=1))
    if rows.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    cols = np.flatnonzero(array.any(axis=0))
    return (float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1))


def iou(a: Mask, b: Mask) -> float:
    """Intersection over union of two masks of the same size (1.0 when both are empty)."""
    ra, rb = to_compressed(a), to_compressed(b)
    union = _coco_mask.area(_coco_mask.merge([ra, rb], intersect=False))
    if union == 0:
        return 1.0
    inter = _coco_mask.area(_coco_mask.merge([ra, rb], intersect=True))
    return float(inter) / float(union)


# ---------------------------------------------------------------------------------- mask -> polygons


def _as_array(mask: Mask | np.ndarray) -> np.ndarray:
    if isinstance(mask, Mask):
        return rle_to_mask(mask)
    array = np.asarray(mask)
    if array.ndim != 2:
        raise OptionError(f"a mask array must be 2-D, got shape {array.shape}")
    return array


def mask_to_rings(mask: Mask | np.ndarray, tolerance: float = 0.0
                  ) -> list[tuple[list[float], list[list[float]]]]:
    """Trace a mask into ``(outer ring, [hole rings])`` pairs along the pixel edges.

    Each ring is a flat ``[x0, y0, x1, y1, ...]`` in the model's coordinates (pixel ``(i, j)``
    covers ``[i, i+1) x [j, j+1)``), without repeating its first point. Pixels touching at a
    corner belong to one piece (8-connected foreground, as OpenCV traces it). `tolerance` > 0
    simplifies every ring with Douglas-Peucker (OpenCV ``approxPolyDP``), in pixels; rings that
    collapse below 3 points go.
    Islands inside holes are pieces of their own. Order: pieces by their top-left point.

    Example:
        >>> ring = np.ones((3, 3), np.uint8); ring[1, 1] = 0
        >>> mask_to_rings(ring)
        [([0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 0.0], [[1.0, 1.0, 2.0, 1.0, 2.0, 2.0, 1.0, 2.0]])]
    """
    import cv2

    if isinstance(mask, Mask):
        found = rle_crop(mask)
        if found is None:
            return []
        crop, x0, y0 = found
        y1, x1 = y0 + crop.shape[0], x0 + crop.shape[1]
    else:
        array = _as_array(mask)
        rows = np.flatnonzero(array.any(axis=1))
        if rows.size == 0:
            return []
        cols = np.flatnonzero(array.any(axis=0))
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        crop = array[y0:y1, x0:x1]
    crop = np.ascontiguousarray(crop != 0, dtype=np.uint8)
    # Doubling every pixel makes OpenCV's boundary-pixel contour land, after (v + 1) // 2, exactly
    # on the pixel edges of the original mask (outer rings and holes alike).
    up = cv2.resize(crop, (2 * (x1 - x0), 2 * (y1 - y0)), interpolation=cv2.INTER_NEAREST)
    up = cv2.copyMakeBorder(up, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    # OpenCV links pixels touching at a corner (8-connected foreground): such a piece stays one
    # ring that touches itself at that corner, which rasterises the same.
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hier = hierarchy[0]
    offset = np.array([x0, y0], dtype=np.int64)

    def ring_of(contour: np.ndarray) -> list[float] | None:
        pts = contour[:, 0, :] // 2 + offset  # ((v - 1) + 1) // 2 for the 1-px pad
        ring = _drop_degenerate(pts.ravel().tolist())
        if ring is not None and tolerance > 0:
            simple = cv2.approxPolyDP(np.asarray(ring, np.float32).reshape(-1, 1, 2), float(tolerance), True)
            ring = _drop_degenerate(simple.ravel().astype(np.int64).tolist())
        return None if ring is None else [float(v) for v in ring]

    pieces: list[tuple[tuple[int, int], list[float], list[list[float]]]] = []
    for i, contour in enumerate(contours):
        if hier[i][3] >= 0:
            continue
        outer = ring_of(contour)
        if outer is None:
            continue
        holes: list[list[float]] = []
        child = hier[i][2]
        while child >= 0:
            hole = ring_of(contours[child])
            if hole is not None:
                holes.append(hole)
            child = hier[child][0]
        holes.sort(key=lambda r: (r[1], r[0]))
        pieces.append(((int(outer[1]), int(outer[0])), outer, holes))
    pieces.sort(key=lambda p: p[0])
    return [(outer, holes) for _, outer, holes in pieces]


def _drop_degenerate(flat: list[int]) -> list[int] | None:
    """A closed integer ring without repeated points, collinear middle points and zero-width spikes
    (none of which changes what pycocotools fills); None when fewer than 3 points remain."""
    if len(flat) > 64:  # long rings: vectorised, dropping every zero-turn point at once until none is left
        pts = np.asarray(flat, dtype=np.int64).reshape(-1, 2)
        while True:
            pts = pts[np.any(pts != np.roll(pts, 1, axis=0), axis=1)]
            if len(pts) < 3:
                return None
            d_in = pts - np.roll(pts, 1, axis=0)
            d_out = np.roll(d_in, -1, axis=0)
            turn = d_in[:, 0] * d_out[:, 1] - d_in[:, 1] * d_out[:, 0]
            flat_turn = turn == 0
            if not flat_turn.any():
                return pts.ravel().tolist()
            pts = pts[~flat_turn]
    xs: list[int] = []
    ys: list[int] = []
    for i in range(0, len(flat), 2):
        x, y = flat[i], flat[i + 1]
        while len(xs) >= 2 and (xs[-1] - xs[-2]) * (y - ys[-1]) == (ys[-1] - ys[-2]) * (x - xs[-1]):
            xs.pop()
            ys.pop()
        if xs and xs[-1] == x and ys[-1] == y:
            continue
        xs.append(x)
        ys.append(y)
    while len(xs) >= 3:  # the seam between the last and the first point
        if xs[-1] == xs[0] and ys[-1] == ys[0]:
            xs.pop()
            ys.pop()
        elif (xs[-1] - xs[-2]) * (ys[0] - ys[-1]) == (ys[-1] - ys[-2]) * (xs[0] - xs[-1]):
            xs.pop()
            ys.pop()
        elif (xs[0] - xs[-1]) * (ys[1] - ys[0]) == (ys[0] - ys[-1]) * (xs[1] - xs[0]):
            del xs[0], ys[0]
        else:
            break
    if len(xs) < 3:
        return None
    return [v for xy in zip(xs, ys) for v in xy]


def mask_to_polygons(mask: Mask | np.ndarray, tolerance: float = 0.0, holes: str = "bridge"
                     ) -> list[list[float]]:
    """Trace a mask (a `Mask` or a 2-D array) into COCO polygon parts.

    One part per 8-connected piece. With ``tolerance=0`` (the default) the parts follow the pixel
    edges, and pycocotools rasterises them back to exactly the same pixels; ``tolerance`` > 0
    simplifies (Douglas-Peucker, in pixels) for fewer vertices at a small cost in IoU.
    `holes`: ``bridge`` (default) keeps each hole inside its piece's part through a zero-width cut,
    exact under pycocotools; ``separate`` appends the hole rings as extra parts (for consumers that
    read parts with the even-odd rule over all parts — *not* COCO, which unites the parts);
    ``fill`` drops the holes. An empty mask gives ``[]``.

    Example:
        >>> ring = np.ones((3, 3), np.uint8); ring[1, 1] = 0
        >>> mask_to_polygons(ring)
        [[0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 0.0, 1.0, 0.0, 1.0, 1.0, 2.0, 1.0, 2.0, 2.0, 1.0, 2.0, 1.0, 1.0, 1.0, 0.0]]
    """
    if holes not in HOLES:
        raise OptionError(f"holes must be one of {', '.join(HOLES)}, got {holes!r}")
    out: list[list[float]] = []
    extra: list[list[float]] = []
    for outer, hole_rings in mask_to_rings(mask, tolerance):
        if holes == "bridge" and hole_rings:
            out.append(bridge_holes(outer, hole_rings))
        else:
            out.append(outer)
            if holes == "separate":
                extra.extend(hole_rings)
    return out + extra


def voc_colormap(n: int = 256) -> list[int]:
    """The PASCAL VOC devkit's colour map (``VOClabelcolormap.m``) as a flat ``[r, g, b, ...]`` Pillow palette.

    Example:
        >>> voc_colormap(3)
        [0, 0, 0, 128, 0, 0, 0, 128, 0]
    """
    out: list[int] = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out += (r, g, b)
    return out
