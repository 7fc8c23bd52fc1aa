"""A small dataset holding every shape kind the platform has, with its images (shared by the contract and
SDK conformance tests): rectangles, multi-part polygons, classifications, keypoints on a label with a
skeleton, lines, points, masks (for a MASK version), JPEG / PNG / WebP / BMP images and, on demand, one
image over 25 MiB (multipart upload)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.model import Annotation, Asset, Dataset, Label, Mask

SIZE = (64, 48)


def _image(path: Path, fmt: str, size: tuple[int, int] = SIZE, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, fmt)


def multi_dataset(folder: Path, large: bool = False) -> Dataset:
    """Assets for a MULTI version (every kind but masks); `large` adds a 27 MB BMP."""
    folder.mkdir(parents=True, exist_ok=True)
    _image(folder / "a.jpg", "JPEG", seed=1)
    _image(folder / "b.png", "PNG", seed=2)
    _image(folder / "c.webp", "WEBP", seed=3)
    labels = [Label("car"), Label("cat", group="animals"), Label("day"),
              Label("person", keypoints=["head", "hand"], skeleton=[[1, 2]]), Label("road"), Label("spot")]
    assets = [
        Asset("a.jpg", 64, 48, [Annotation("car", box=(1, 2, 10, 12)),
                                Annotation("cat", polygon=[[5, 5, 20, 5, 20, 20], [30, 30, 40, 30, 40, 40]]),
                                Annotation("day")], tags=["t1"], status="ACCEPTED"),
        Asset("b.png", 64, 48, [Annotation("person", keypoints=[10, 10, 2, 20, 20, 1]),
                                Annotation("road", line=[0, 0, 10, 10, 20, 5]),
                                Annotation("spot", point=(7, 8))]),
        Asset("c.webp", 64, 48, [Annotation("car", box=(3, 4, 5, 6))]),
    ]
    if large:
        _image(folder / "big.bmp", "BMP", size=(3100, 3000), seed=4)
        assets.append(Asset("big.bmp", 3100, 3000, [Annotation("car", box=(100, 100, 200, 200))]))
    return Dataset(labels=labels, assets=assets)


def mask_dataset(folder: Path) -> Dataset:
    """Two images with COCO compressed-RLE masks, for a MASK version."""
    folder.mkdir(parents=True, exist_ok=True)
    assets = []
    for i, name in enumerate(("m1.png", "m2.jpg")):
        _image(folder / name, "PNG" if name.endswith("png") else "JPEG", seed=10 + i)
        grid = np.zeros((SIZE[1], SIZE[0]), dtype=np.uint8)
        grid[5 + i:20, 8:30 + i] = 1
        mask = Mask(SIZE[1], SIZE[0], _encode(grid))
        assets.append(Asset(name, SIZE[0], SIZE[1], [Annotation("blob", mask=mask)]))
    return Dataset(labels=[Label("blob")], assets=assets)


def _encode(grid: np.ndarray) -> str:
    from pycocotools import mask as coco_mask

    return coco_mask.encode(np.asfortranarray(grid))["counts"].decode()


__all__ = ["mask_dataset", "multi_dataset", "pf"]
