"""Masks benchmark: rasterise polygons and vectorise masks, against pycocotools and OpenCV.

    python benchmarks/bench_masks.py                       # 100k polygons, 10k masks
    python benchmarks/bench_masks.py --polygons 20000 --masks 2000

Data: the polygons of the seeded synthetic COCO generator (`synth_coco.py`: 640x480, 1280x720
and 1920x1080 images, 8-24 vertices, some multi-part); the masks are those polygons rasterised,
one in five with a hole cut in it. Times are CPU seconds in this process (steadier than wall time
on a shared machine).

Rasterise (polygon -> pixels):
* ``masks.polygons_to_rles`` / ``polygon_to_rle`` (ours: pycocotools underneath, parts filtered)
  against ``pycocotools.frPyObjects + merge`` (what COCO consumers run);
* to a full array: ours (``polygon_to_mask``) against OpenCV ``fillPoly`` into a reused buffer
  (a different pixel rule: the table gives its IoU with pycocotools' pixels).

Vectorise (mask -> polygons), each result rasterised back by pycocotools and compared (IoU):
* ours (``mask_to_polygons``: pixel-edge tracing with OpenCV, keyhole holes), exact and simplified;
* OpenCV ``findContours`` on the decoded mask, pixel-centre contours as most tools write them;
* scikit-image ``find_contours`` (marching squares), if installed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import table
from pycocotools import mask as coco_mask
from synth_coco import generate

from picsellia_formats.masks import (
    iou,
    mask_to_polygons,
    mask_to_rle,
    polygon_to_mask,
    polygon_to_rle,
    polygons_to_rles,
    rle_area,
    rle_to_mask,
)
from picsellia_formats.model import Mask


def _polygons(n: int) -> list[tuple[int, int, list[list[float]]]]:
    """(height, width, parts) of the first `n` polygon objects of the synthetic dataset."""
    out: list[tuple[int, int, list[list[float]]]] = []
    images = 2000
    while True:
        data = generate(images, seed=0)
        sizes = {im["id"]: (im["height"], im["width"]) for im in data["images"]}
        out = [(*sizes[a["image_id"]], a["segmentation"]) for a in data["annotations"]
               if isinstance(a["segmentation"], list) and a["segmentation"]]
        if len(out) >= n:
            return out[:n]
        images = int(images * n / max(1, len(out)) * 1.1) + 100


def _cpu(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.process_time()
    value = fn()
    return time.process_time() - t0, value


# ------------------------------------------------------------------------------------------- rasterise


def bench_rasterise(polys: list[tuple[int, int, list[list[float]]]]) -> list[list[str]]:
    import cv2

    def pycoco() -> list[bytes]:
        out = []
        for h, w, parts in polys:
            rles = coco_mask.frPyObjects(parts, h, w)
            out.append(coco_mask.merge(rles)["counts"])
        return out

    def ours_one() -> list[str]:
        return [polygon_to_rle(parts, h, w).counts for h, w, parts in polys]

    def ours_batch() -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(polys):  # consecutive objects of one image share a size: one call per run
            h, w, _ = polys[i]
            j = i
            while j < len(polys) and polys[j][:2] == (h, w) and j - i < 64:
                j += 1
            out += [m.counts for m in polygons_to_rles([p for _, _, p in polys[i:j]], h, w)]
            i = j
        return out

    buffers: dict[tuple[int, int], np.ndarray] = {}

    def cv2_fill() -> int:
        total = 0
        for h, w, parts in polys:
            buf = buffers.get((h, w))
            if buf is None:
                buf = buffers[(h, w)] = np.zeros((h, w), np.uint8)
            buf.fill(0)
            pts = [np.round(np.asarray(p, np.float64).reshape(-1, 2) * 16).astype(np.int32) for p in parts]
            cv2.fillPoly(buf, pts, 1, lineType=cv2.LINE_8, shift=4)
            total += 1
        return total

    def ours_array() -> int:
        for h, w, parts in polys:
            polygon_to_mask(parts, h, w)
        return len(polys)

    t_coco, ref = _cpu(pycoco)
    t_one, one = _cpu(ours_one)
    t_batch, batch = _cpu(ours_batch)
    assert [r.decode() for r in ref] == one == batch, "ours differs from pycocotools"
    t_cv, _ = _cpu(cv2_fill)
    t_arr, _ = _cpu(ours_array)
    # pixel agreement of OpenCV's rule with pycocotools' on a sample
    sample = polys[:: max(1, len(polys) // 2000)]
    ious = []
    for h, w, parts in sample:
        buf = np.zeros((h, w), np.uint8)
        pts = [np.round(np.asarray(p, np.float64).reshape(-1, 2) * 16).astype(np.int32) for p in parts]
        cv2.fillPoly(buf, pts, 1, lineType=cv2.LINE_8, shift=4)
        ious.append(iou(mask_to_rle(buf), polygon_to_rle(parts, h, w)))
    n = len(polys)
    rows = [
        ["pycocotools frPyObjects+merge -> RLE", f"{t_coco:.2f}", f"{1e6 * t_coco / n:.1f}", "1.00", "1.0000"],
        ["ours polygon_to_rle -> RLE", f"{t_one:.2f}", f"{1e6 * t_one / n:.1f}", f"{t_one / t_coco:.2f}", "1.0000"],
        ["ours polygons_to_rles (per image) -> RLE", f"{t_batch:.2f}", f"{1e6 * t_batch / n:.1f}",
         f"{t_batch / t_coco:.2f}", "1.0000"],
        ["ours polygon_to_mask -> array", f"{t_arr:.2f}", f"{1e6 * t_arr / n:.1f}", f"{t_arr / t_coco:.2f}",
         "1.0000"],
        ["OpenCV fillPoly -> array (reused buffer)", f"{t_cv:.2f}", f"{1e6 * t_cv / n:.1f}", f"{t_cv / t_coco:.2f}",
         f"{np.mean(ious):.4f}"],
    ]
    return rows


# ------------------------------------------------------------------------------------------- vectorise


def _masks(polys: list[tuple[int, int, list[list[float]]]], n: int) -> list[Mask]:
    out = []
    for k, (h, w, parts) in enumerate(polys[:n]):
        m = polygon_to_rle(parts, h, w)
        if k % 5 == 0 and rle_area(m) > 400:  # cut a hole in one mask in five
            arr = rle_to_mask(m)
            ys, xs = np.nonzero(arr)
            cy, cx = int(ys.mean()), int(xs.mean())
            r = max(2, int(np.sqrt(rle_area(m)) / 8))
            arr[max(0, cy - r):cy + r, max(0, cx - r):cx + r] = 0
            m = mask_to_rle(arr)
        out.append(m)
    return out


def _cv2_centre_polygons(m: Mask) -> list[list[float]]:
    import cv2

    arr = rle_to_mask(m)
    contours, _ = cv2.findContours(np.ascontiguousarray(arr), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [(c.reshape(-1, 2) + 0.5).ravel().tolist() for c in contours if len(c) >= 3]


def _skimage_polygons(m: Mask) -> list[list[float]]:
    from skimage import measure

    arr = np.pad(rle_to_mask(m), 1)
    out = []
    for c in measure.find_contours(arr, 0.5):
        # (row, col) of a padded image, pixel centres at integers: model coordinates are col - 0.5
        out.append(np.column_stack([c[:, 1] - 0.5, c[:, 0] - 0.5]).ravel().tolist())
    return [p for p in out if len(p) >= 6]


def bench_vectorise(masks: list[Mask]) -> list[list[str]]:
    methods: list[tuple[str, Callable[[Mask], list[list[float]]]]] = [
        ("ours mask_to_polygons (tolerance 0, exact)", mask_to_polygons),
        ("ours mask_to_polygons (tolerance 0.5)", lambda m: mask_to_polygons(m, tolerance=0.5)),
        ("ours mask_to_polygons (tolerance 1.0)", lambda m: mask_to_polygons(m, tolerance=1.0)),
        ("OpenCV findContours, pixel centres", _cv2_centre_polygons),
    ]
    try:
        import skimage  # noqa: F401

        methods.append(("scikit-image find_contours (marching squares)", _skimage_polygons))
    except ImportError:
        pass
    rows = []
    base = None
    for name, fn in methods:
        t, results = _cpu(lambda fn=fn: [fn(m) for m in masks])
        ious, exact, vertices = [], 0, 0
        for m, parts in zip(masks, results):
            back = polygon_to_rle(parts, m.height, m.width)
            exact += back.counts == m.counts
            vertices += sum(len(p) // 2 for p in parts)
            if rle_area(m) > 100:
                ious.append(iou(m, back))
        if base is None:
            base = t
        rows.append([name, f"{t:.2f}", f"{1e6 * t / len(masks):.0f}", f"{t / base:.2f}",
                     f"{100 * exact / len(masks):.1f} %", f"{np.mean(ious):.4f}", f"{np.min(ious):.4f}",
                     f"{vertices / len(masks):.0f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polygons", type=int, default=100_000)
    parser.add_argument("--masks", type=int, default=10_000)
    args = parser.parse_args()
    polys = _polygons(max(args.polygons, args.masks))
    print(f"rasterise {args.polygons:,} polygons (COCO sizes 640x480 .. 1920x1080), CPU seconds")
    print(table(bench_rasterise(polys[:args.polygons]),
                ["method", "s", "us/polygon", "x pycocotools", "IoU vs pycocotools"]))
    print()
    masks = _masks(polys, args.masks)
    print(f"vectorise {len(masks):,} masks (one in five with a hole), traced back by pycocotools, CPU seconds")
    print(table(bench_vectorise(masks), ["method", "s", "us/mask", "x ours", "exact", "mean IoU",
                                         "min IoU >100px", "vertices"]))


if __name__ == "__main__":
    main()
