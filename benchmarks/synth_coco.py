"""Seeded synthetic COCO instances files for benchmarks.

Long-tailed 80 classes (Zipf-like), ~7 objects per image (Poisson), 90 % polygons (8-24 vertices,
some multi-part), 1 % crowd objects as uncompressed RLE, the rest boxes only, ~2 % empty images,
~1 % unicode file names, three image sizes. Same seed and size, same bytes.

    python benchmarks/synth_coco.py --images 10000 --out /tmp/synth10k.json
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import orjson

SIZES = ((640, 480), (1280, 720), (1920, 1080))
UNICODE_NAMES = ("été", "東京", "straße", "Ελλάδα", "café ☕")


def _rect_rle(x0: int, y0: int, x1: int, y1: int, w: int, h: int) -> list[int]:
    """Uncompressed column-major RLE of a filled rectangle."""
    fg = y1 - y0
    counts = [x0 * h + y0]
    for col in range(x0, x1):
        counts.append(fg)
        if col < x1 - 1:
            counts.append(h - fg)
    counts.append(h * w - sum(counts))
    return counts


def generate(n_images: int, seed: int = 0, n_classes: int = 80) -> dict:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_classes + 1) ** 1.1
    weights /= weights.sum()
    categories = [{"id": i + 1, "name": f"class_{i:02d}", "supercategory": f"group_{i // 10}"}
                  for i in range(n_classes)]
    images, annotations = [], []
    counts = rng.poisson(7.0, n_images)
    counts[rng.random(n_images) < 0.02] = 0
    size_idx = rng.integers(0, len(SIZES), n_images)
    ann_id = 1
    for i in range(n_images):
        w, h = SIZES[size_idx[i]]
        name = f"img_{i:07d}.jpg"
        if i % 97 == 13:
            name = f"{UNICODE_NAMES[i % len(UNICODE_NAMES)]}_{i:07d}.jpg"
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h,
                       "license": 1, "date_captured": "2026-01-01 00:00:00"})
        k = int(counts[i])
        if not k:
            continue
        labels = rng.choice(n_classes, size=k, p=weights) + 1
        kinds = rng.random(k)
        bw = rng.uniform(8, w / 3, k)
        bh = rng.uniform(8, h / 3, k)
        bx = rng.uniform(0, w - bw)
        by = rng.uniform(0, h - bh)
        for j in range(k):
            x, y, ow, oh = float(bx[j]), float(by[j]), float(bw[j]), float(bh[j])
            ann = {"id": ann_id, "image_id": i + 1, "category_id": int(labels[j]), "iscrowd": 0}
            if kinds[j] < 0.01:
                x0, y0 = int(x), int(y)
                x1, y1 = min(w, int(x + ow)), min(h, int(y + oh))
                ann["segmentation"] = {"size": [h, w], "counts": _rect_rle(x0, y0, x1, y1, w, h)}
                ann["iscrowd"] = 1
                ann["bbox"] = [x0, y0, x1 - x0, y1 - y0]
                ann["area"] = (x1 - x0) * (y1 - y0)
            elif kinds[j] < 0.91:
                parts = []
                n_parts = 2 if kinds[j] > 0.88 else 1
                for p in range(n_parts):
                    nv = int(rng.integers(8, 25))
                    ang = np.sort(rng.uniform(0, 2 * math.pi, nv))
                    rad = rng.uniform(0.6, 1.0, nv) / n_parts
                    cx = x + ow / 2 + (p - (n_parts - 1) / 2) * ow / 2
                    cy = y + oh / 2
                    xs = np.round(cx + np.cos(ang) * rad * ow / 2, 2)
                    ys = np.round(cy + np.sin(ang) * rad * oh / 2, 2)
                    parts.append(np.column_stack([xs, ys]).ravel().tolist())
                allx = [v for part in parts for v in part[0::2]]
                ally = [v for part in parts for v in part[1::2]]
                ann["segmentation"] = parts
                ann["bbox"] = [min(allx), min(ally), round(max(allx) - min(allx), 2),
                               round(max(ally) - min(ally), 2)]
                ann["area"] = round(ow * oh * 0.7, 2)
            else:
                ann["segmentation"] = []
                ann["bbox"] = [round(x, 2), round(y, 2), round(ow, 2), round(oh, 2)]
                ann["area"] = round(ow * oh, 2)
            annotations.append(ann)
            ann_id += 1
    return {
        "info": {"description": f"synthetic COCO, {n_images} images, seed {seed}", "version": "1.0"},
        "licenses": [{"id": 1, "name": "CC-BY-4.0", "url": "https://creativecommons.org/licenses/by/4.0/"}],
        "images": images,
        "annotations": annotations,
        "categories": categories,
    }


def ensure(n_images: int, folder: Path, seed: int = 0) -> Path:
    """Path of the synthetic file for `n_images`, generated once into `folder`."""
    path = folder / f"synth_coco_{n_images}_s{seed}.json"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(generate(n_images, seed)))
        tmp.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data = generate(args.images, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(data))
    print(f"{args.out}: {len(data['images'])} images, {len(data['annotations'])} annotations, "
          f"{args.out.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
