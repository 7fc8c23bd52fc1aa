"""Ultralytics itself accepts the YOLO we write, and our reader reads what Ultralytics writes.

* ``ultralytics.data.utils.check_det_dataset`` accepts our detect, segment and pose outputs, and
  ``YOLODataset(...).labels`` (its row verifier) finds the right images and rows per split;
* our reader reads Ultralytics' own COCO -> YOLO conversion (``fixtures/real_exports/ultralytics_convert_coco``)
  the same as the COCO source, within its 6 significant digits; our writer's ring for a multi-part object
  is Ultralytics' ``merge_multi_segment``.

ultralytics is the ``ultralytics`` extra: skipped when missing, except under ``CI=true`` where it must be there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.formats.yolo.merge import join_parts
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from tests.conftest import FIXTURES, require

os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-cfg-"))
os.environ.setdefault("YOLO_OFFLINE", "1")
_PIL_OPEN = Image.open  # ultralytics replaces PIL.Image.open on import (its HEIC plugin): restored below
require("ultralytics", "ultralytics", "Ultralytics' own dataset check")

from ultralytics.data.converter import merge_multi_segment  # noqa: E402
from ultralytics.data.dataset import YOLODataset  # noqa: E402
from ultralytics.data.utils import check_det_dataset  # noqa: E402

Image.open = _PIL_OPEN  # the other tests of this process expect Pillow's own errors

CONVERTED = FIXTURES / "real_exports" / "ultralytics_convert_coco"
SPLITS = {"train": 3, "val": 2, "test": 1}


def _dataset(images: Path, task: str) -> Dataset:
    assets = []
    for split, n in SPLITS.items():
        for i in range(n):
            name = f"{split}{i}.jpg"
            (images / split).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (64, 48), (i * 40, 80, 120)).save(images / split / name)
            if task == "segment":
                anns = [Annotation("cat", polygon=[[4, 4, 30, 4, 30, 20], [40, 30, 60, 30, 60, 44, 40, 44]]),
                        Annotation("dog", box=(10, 10, 20, 20))]
            elif task == "pose":
                anns = [Annotation("person", box=(8, 6, 30, 36), keypoints=[10, 10, 2, 20, 20, 1, 0, 0, 0])]
            else:
                anns = [Annotation("cat", box=(4, 4, 20, 10)), Annotation("dog", box=(30, 20, 30, 25))]
            if i == 0 and split == "train":
                anns = []  # an empty image stays an image (a background image for Ultralytics)
            assets.append(Asset(name, 64, 48, anns, tags=[split]))
    labels = [Label("person")] if task == "pose" else [Label("cat"), Label("dog")]
    return Dataset(labels, assets)


@pytest.mark.parametrize("task", ["detect", "segment", "pose"])
def test_check_det_dataset_accepts_our_output_with_the_right_images_per_split(task: str, tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "src", task)
    out = tmp_path / "yolo"
    pf.write(ds, out, "yolo", images=tmp_path / "src", task=task)
    data = check_det_dataset(str(out / "data.yaml"), autodownload=False)
    assert data["nc"] == len(ds.labels)
    for split, n in SPLITS.items():
        assert Path(data[split]) == out / "images" / split
        found = YOLODataset(img_path=data[split], data=data, task=task, augment=False, imgsz=64)
        labels = found.labels
        assert len(labels) == n
        rows = sum(len(lb["cls"]) for lb in labels)
        assert rows == sum(len(a.annotations) for a in ds.assets if a.tags == [split])
        if task == "segment":
            assert all(len(lb["segments"]) == len(lb["cls"]) for lb in labels)  # one ring per object
        if task == "pose":
            kps = [lb["keypoints"] for lb in labels if len(lb["cls"])]
            assert all(k.shape == (1, 3, 3) for k in kps)
            assert kps[0][0, 1, 2] == 1.0 and kps[0][0, 2].tolist() == [0.0, 0.0, 0.0]


def test_a_single_split_gives_train_and_val_and_ultralytics_accepts_it(tmp_path: Path) -> None:
    """Regression (issue 15): a data.yaml with no val key, which Ultralytics refuses."""
    ds = _dataset(tmp_path / "src", "detect")
    for a in ds.assets:
        a.tags = ["trainval"]
    report = pf.write(ds, tmp_path / "y", "yolo", images=tmp_path / "src")
    assert "val points to the train images (the only split)" in str(report)
    data = check_det_dataset(str(tmp_path / "y" / "data.yaml"), autodownload=False)
    assert data["train"] == data["val"] and Path(data["train"]) == tmp_path / "y" / "images" / "trainval"
    assert [a.tags for a in pf.read(tmp_path / "y").assets] == [["trainval"]] * len(ds.assets)


def test_train_and_test_without_val_is_accepted(tmp_path: Path) -> None:
    ds = _dataset(tmp_path / "src", "detect")
    ds = Dataset(ds.labels, [a for a in ds.assets if a.tags != ["val"]])
    report = pf.write(ds, tmp_path / "y", "yolo", images=tmp_path / "src")
    assert "val points to the train images (no val split)" in str(report)
    data = check_det_dataset(str(tmp_path / "y" / "data.yaml"), autodownload=False)
    assert Path(data["test"]) == tmp_path / "y" / "images" / "test"


def test_our_reader_reads_ultralytics_convert_coco_like_the_coco_source(tmp_path: Path) -> None:
    coco = pf.read(CONVERTED / "coco" / "annotations" / "instances_val.json")
    # Ultralytics wrote labels only (its converter copies no image): give the folder images of the same size
    root = tmp_path / "y"
    shutil.copytree(CONVERTED / "yolo_written_by_ultralytics" / "labels", root / "labels")
    for a in coco.assets:
        (root / "images" / "val").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (a.width, a.height)).save(root / "images" / "val" / a.file_name)
    (root / "classes.txt").write_text("".join(label.name + "\n" for label in coco.labels))
    ours = pf.read(root, "yolo", task="segment")
    by_name = {a.file_name: a for a in ours.assets}
    assert sorted(by_name) == sorted(a.file_name for a in coco.assets)  # e.jpg: no objects, no label file
    for src in coco.assets:
        got = by_name[src.file_name]
        assert len(got.annotations) == len(src.annotations)  # a multi-part object stays one object
        for want, have in zip(src.annotations, got.annotations):
            assert have.label == want.label
            W, H = src.width, src.height
            if want.polygon:
                ring = join_parts(want.polygon)
            else:  # no usable polygon: Ultralytics writes the box as a 4-point polygon
                x, y, w, h = want.box
                ring = [x, y, x + w, y, x + w, y + h, x, y + h]
            tol = [W * 5e-6 + 1e-9, H * 5e-6 + 1e-9] * (len(ring) // 2)  # 6 significant digits
            assert all(abs(a - b) <= t for a, b, t in zip(have.polygon[0], ring, tol))
    # and our writer writes the same rows Ultralytics did (to its 6 significant digits)
    pf.write(coco, tmp_path / "w", "yolo", task="segment")
    ours_rows = next((tmp_path / "w" / "labels").rglob("m.txt")).read_text().splitlines()  # labels/val/: the split
    theirs = (CONVERTED / "yolo_written_by_ultralytics" / "labels" / "val" / "m.txt").read_text().splitlines()
    assert len(ours_rows) == len(theirs)
    for a, b in zip(ours_rows, theirs):
        assert [float(f"{float(v):g}") for v in a.split()] == [float(v) for v in b.split()]


_points = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=3, max_size=7)


@settings(max_examples=200, deadline=None)
@given(st.lists(_points, min_size=1, max_size=5))
def test_join_parts_is_ultralytics_merge_multi_segment(parts: list[list[tuple[int, int]]]) -> None:
    flat = [[float(v) for xy in p for v in xy] for p in parts]
    ours = join_parts(flat)
    if len(flat) == 1:
        assert ours == flat[0]
        return
    import numpy as np

    theirs = np.concatenate(merge_multi_segment([list(p) for p in flat]), axis=0).reshape(-1).tolist()
    assert ours == theirs
