"""YOLO detection: real layouts recognised without hints; never yes on an empty sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from picsellia_formats import formats
from picsellia_formats.formats.yolo import detect
from tests.conftest import FIXTURES

FX = FIXTURES / "real_exports"


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8)).save(path)


@pytest.mark.parametrize(("path", "at_least"), [
    (FX / "cvat_yolo11", 0.9),
    (FX / "cvat_yolo11" / "obj.data", 0.9),
    (FX / "yolo_annotations_images", 0.9),
    (FX / "ultralytics_classify", 0.7),
    (FX / "ultralytics_pose_kpt3", 0.9),
    (FX / "ultralytics_detect_stray_readme" / "labels", 0.9),
])
def test_real_layouts_are_detected(path: Path, at_least: float) -> None:
    confidence, reason = detect(path)
    assert confidence >= at_least, reason
    assert formats.detect(path) == "yolo"


def test_pose_rows_of_14_values_look_like_labels(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "a.jpg")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.1 0.2 2 0.3 0.4 2 0.5 0.6 2\n")
    assert detect(tmp_path)[0] >= 0.6


@pytest.mark.parametrize("layout", ["empty", "only_images", "class_folders_without_splits", "text_notes"])
def test_never_yes_on_an_empty_or_foreign_sample(layout: str, tmp_path: Path) -> None:
    if layout == "only_images":
        _image(tmp_path / "Images" / "a.jpg")
        (tmp_path / "Annotations").mkdir()
    elif layout == "class_folders_without_splits":
        _image(tmp_path / "cats" / "a.jpg")
        _image(tmp_path / "dogs" / "b.jpg")
    elif layout == "text_notes":
        _image(tmp_path / "a.jpg")
        (tmp_path / "a.txt").write_text("a photo of a cat\n")
    assert detect(tmp_path)[0] == 0.0
    assert formats.get("voc").detect(tmp_path)[0] == 0.0
