"""VOC layouts: the images a dataset holds are the ones its XMLs (and ImageSets lists) declare; split
folders become split tags; a devkit without Annotations/ is read from its segmentation PNGs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.formats.voc.detect import detect
from picsellia_formats.report import Report
from picsellia_formats.splits import split_of
from tests.conftest import FIXTURES, run_cli

CATS = FIXTURES / "voc_toy_cats"
FX = FIXTURES / "real_exports"


@pytest.mark.parametrize("layout", ["flat", "devkit"])
def test_no_leak_between_split_outputs_read_with_the_shared_images_folder(layout: str, tmp_path: Path) -> None:
    # issue 15: reading S/val with the shared images folder gave every train image as an empty asset
    images = CATS / "images"
    res = run_cli("split", CATS / "gts_vocpascal_format", tmp_path / "S", "--ratios", "0.6,0.4",
                  "--images", images, "--to", "voc", "--voc-layout", layout, "--quiet", "--per-split-folders")
    assert res.code == 0, res.stderr
    assignment = json.loads((tmp_path / "S" / "split.json").read_text())
    seen: dict[str, set[str]] = {}
    for split in ("train", "val"):
        report = Report()
        ds = pf.read(tmp_path / "S" / split, images=images, report=report)
        seen[split] = {a.file_name for a in ds.assets}
        assert all(a.extra.get("voc") for a in ds.assets)  # every asset from an XML of that split
    assert not seen["train"] & seen["val"]
    source = {a.file_name for a in pf.read(CATS / "gts_vocpascal_format").assets}
    assert seen["train"] | seen["val"] == source
    by_split: dict[str, set[str]] = {}
    for name, split in assignment["assignment"].items():  # split.json: image -> split
        by_split.setdefault(split, set()).add(name)
    assert by_split == seen


def test_include_unlabelled_adds_them_and_says_how_many() -> None:
    report = Report()
    ds = pf.read(CATS / "gts_vocpascal_format", images=CATS / "images", report=report, include_unlabelled=True)
    assert len(ds) == 12
    assert report.count("info", "images without an XML read as assets with no objects") == 2


def test_include_unlabelled_flag_on_the_cli(tmp_path: Path) -> None:
    res = run_cli("convert", CATS / "gts_vocpascal_format", tmp_path / "o.json", "--to", "coco", "--images",
                  CATS / "images", "--include-unlabelled")
    assert res.code == 0, res.stderr
    assert len(json.loads((tmp_path / "o.json").read_text())["images"]) == 12


def test_roboflow_split_folders_become_split_tags() -> None:
    ds = pf.read(FX / "roboflow_voc")
    assert {a.file_name: split_of(a.tags) for a in ds.assets} == {
        "train_001.jpg": "train", "train_002.jpg": "train", "val_001.jpg": "val"}


def test_images_beside_xmls_are_not_assets_unless_asked(tmp_path: Path) -> None:
    root = tmp_path / "rf"
    shutil.copytree(FX / "roboflow_voc", root)
    shutil.copy(root / "val" / "val_001.jpg", root / "val" / "extra.jpg")
    report = Report()
    assert len(pf.read(root, report=report)) == 3
    assert report.count("info", "images without an XML not read") == 1
    assert len(pf.read(root, include_unlabelled=True)) == 4


def test_segmentation_only_devkit_detected_and_read() -> None:
    confidence, reason = detect(FX / "voc_segmentation_only")
    assert confidence > 0.5 and "labelme2voc" in reason
    ds = pf.read(FX / "voc_segmentation_only")
    assert ds.label_names == ["person", "bottle"]  # class_names.txt, _background_ skipped
    assert ds.metadata["voc"]["segmentation"] is True


def test_detection_never_yes_on_an_empty_sample(tmp_path: Path) -> None:
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    confidence, reason = detect(tmp_path)
    assert confidence == 0 and "no .xml" in reason
