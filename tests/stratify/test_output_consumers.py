"""The real consumers load what ``split --to F`` writes: Ultralytics, pycocotools, TensorFlow.

ultralytics is the ``ultralytics`` extra, TensorFlow the ``test`` extra: each test is skipped when
its consumer is missing, except under ``CI=true`` where it must be there (the import fails).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest

from picsellia_formats.cli import main
from tests.conftest import require
from tests.stratify.conftest import N_IMAGES, make_dataset

os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-cfg-"))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
CI = os.environ.get("CI") == "true"


def _consumer(name: str):  # type: ignore[no-untyped-def]
    return require(name, "ultralytics" if name.startswith("ultralytics") else "test", f"{name} as a consumer")


def _split(tmp_path: Path, to: str, task: str = "detect", *args: str) -> tuple[Path, dict]:
    src, images, _ = make_dataset(tmp_path / "src", task)
    dst = tmp_path / "out"
    assert main(["split", str(src), str(dst), "--ratios", "0.6,0.2,0.2", "--method", "fast", "-q", "--to", to,
                 "--images", str(images), *args]) == 0
    return dst, json.loads((dst / "split.json").read_text())


@pytest.mark.parametrize("task", ["detect", "segment"])
def test_ultralytics_check_det_dataset_accepts_split_to_yolo(tmp_path: Path, task: str) -> None:
    _consumer("ultralytics")
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    dst, info = _split(tmp_path, "yolo", task)
    data = check_det_dataset(str(dst / "data.yaml"), autodownload=False)
    assert data["nc"] == 3 and list(data["names"].values()) == ["cat", "dog", "bird"]
    total = 0
    for entry in info["splits"]:
        split = entry["name"]
        assert Path(data[split]) == dst / "images" / split
        labels = YOLODataset(img_path=data[split], data=data, task=task, augment=False, imgsz=64).labels
        assert len(labels) == entry["images"]
        assert {Path(lb["im_file"]).name for lb in labels} == {
            f for f, s in info["assignment"].items() if s == split}
        assert sum(len(lb["cls"]) for lb in labels) == entry["objects"]
        if task == "segment":
            assert all(len(lb["segments"]) == len(lb["cls"]) for lb in labels)
        total += len(labels)
    assert total == N_IMAGES


def test_ultralytics_accepts_two_splits_without_test(tmp_path: Path) -> None:
    _consumer("ultralytics")
    from ultralytics.data.utils import check_det_dataset

    src, images, _ = make_dataset(tmp_path / "src")
    dst = tmp_path / "out"
    assert main(["split", str(src), str(dst), "--ratios", "0.8,0.2", "-q", "--to", "yolo",
                 "--images", str(images)]) == 0
    data = check_det_dataset(str(dst / "data.yaml"), autodownload=False)
    assert Path(data["train"]).name == "train" and Path(data["val"]).name == "val" and not data.get("test")


def test_pycocotools_loads_every_split_file(tmp_path: Path) -> None:
    _consumer("pycocotools")
    from pycocotools.coco import COCO

    dst, info = _split(tmp_path, "coco")
    for entry in info["splits"]:
        split = entry["name"]
        coco = COCO(str(dst / "annotations" / f"instances_{split}.json"))
        images = coco.loadImgs(coco.getImgIds())
        assert len(images) == entry["images"]
        assert len(coco.getAnnIds()) == entry["objects"]
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["cat", "dog", "bird"]
        for image in images:  # every file name resolves under images/<split>/, the loader's image root
            assert (dst / "images" / split / image["file_name"]).is_file()


def _blocks(text: str) -> list[tuple[str, str]]:
    """(reader, input_path) of every ``*_input_reader`` block of a pipeline fragment."""
    return re.findall(r'^(\w+_input_reader) \{.*?input_path: "([^"]+)"', text, flags=re.S | re.M)


def test_tensorflow_parses_every_shard_and_the_fragment_names_them(tmp_path: Path) -> None:
    tf = _consumer("tensorflow")
    try:
        from tests.formats.tfrecord.conftest import parse_records  # where the TFRecord package keeps it
    except ImportError:
        from tests.tfod.conftest import parse_records

    dst, info = _split(tmp_path, "tfrecord", "detect", "--tfrecord-shards", "2")
    assert (dst / "label_map.pbtxt").is_file()
    for entry in info["splits"]:
        shards = sorted(dst.glob(f"{entry['name']}.record-*"))
        assert [p.name for p in shards] == [f"{entry['name']}.record-0000{i}-of-00002" for i in range(2)]
        records = parse_records(tf, shards)
        names = {r["image/filename"].decode() for r in records}
        assert names == {f for f, s in info["assignment"].items() if s == entry["name"]}
        assert sum(len(r["image/object/class/label"]) for r in records) == entry["objects"]
    fragment = next(dst.glob("*.config")).read_text()
    readers = _blocks(fragment)
    assert [r for r, _ in readers] == ["train_input_reader", "eval_input_reader", "eval_input_reader"]
    for (_, pattern), split in zip(readers, ("train", "val", "test")):
        assert Path(pattern).is_absolute() and Path(pattern).parent == dst.resolve()  # not the staging folder
        assert sorted(tf.io.gfile.glob(pattern)) == sorted(str(p.resolve()) for p in dst.glob(f"{split}.record-*"))
    assert "label_map_path: \"" + str((dst / "label_map.pbtxt").resolve()) in fragment
