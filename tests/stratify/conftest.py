"""A small dataset with real image files in one shared folder, for the split-output tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.model import Annotation, Asset, Dataset, Label

N_IMAGES = 30


def make_dataset(root: Path, task: str = "detect", n: int = N_IMAGES) -> tuple[Path, Path, Dataset]:
    """(COCO source file, shared images folder, dataset): `n` 64x48 PNGs, classes cat/dog/bird, every
    fifth image empty, plus two images in the folder that no annotation names (never to be read)."""
    images = root / "shared_images"
    images.mkdir(parents=True)
    assets = []
    for i in range(n):
        name = f"img{i:03d}.png"
        Image.new("RGB", (64, 48), (i * 7 % 255, 80, 120)).save(images / name)
        anns = []
        if i % 5:
            for k in range(1 + i % 3):
                label = ("cat", "dog", "bird")[(i + k) % 3]
                x, y = 2 + 6 * k, 3 + 4 * k
                if task == "segment":
                    anns.append(Annotation(label, polygon=[[x, y, x + 20, y, x + 20, y + 15, x, y + 15]]))
                else:
                    anns.append(Annotation(label, box=(x, y, 20, 15)))
        assets.append(Asset(name, 64, 48, anns))
    for stray in ("stray_a.png", "stray_b.png"):
        Image.new("RGB", (64, 48)).save(images / stray)
    ds = Dataset(labels=[Label("cat"), Label("dog"), Label("bird")], assets=assets)
    src = root / "source.json"
    pf.write(ds, src, "coco")
    return src, images, ds


@pytest.fixture
def shared(tmp_path: Path) -> tuple[Path, Path, Dataset]:
    return make_dataset(tmp_path / "src")
