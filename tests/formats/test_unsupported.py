"""Formats recognised but not read are refused by name, never mis-read as another format.

The raccoon CSV is a real file (TensorFlow object detection tutorial); the others are rows written here
from each format's published layout (DOTA devkit's labelTxt, KITTI's object devkit readme, Open Images'
boxes CSV header, Datumaro's JSON, VIA, Supervisely, Cityscapes).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.formats.unsupported import refused
from tests.conftest import FIXTURES, run_cli

SAMPLES: dict[str, tuple[str, str]] = {
    "OpenImages CSV": ("oi/train-annotations-bbox.csv",
                       "ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,IsGroupOf,"
                       "IsDepiction,IsInside\n000002b66c9c498e,xclick,/m/01g317,1,0.0125,0.195312,0.148438,0.5875,"
                       "0,1,1,0,0\n"),
    "DOTA": ("dota/labelTxt/P0001.txt", "imagesource:GoogleEarth\ngsd:0.146343590398\n2753 2408 2861 2385 2888 2468 "
             "2805 2502 plane 0\n3445 3391 3484 3409 3478 3422 3437 3402 large-vehicle 1\n"),
    "KITTI": ("kitti/label_2/000000.txt", "Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 "
              "46.70 -1.59\nDontCare -1 -1 -10 0.00 190.64 68.44 225.96 -1 -1 -1 -1000 -1000 -1000 -10\n"),
    "Datumaro JSON": ("datumaro/default.json", json.dumps({
        "info": {}, "categories": {"label": {"labels": [{"name": "cat"}]}},
        "items": [{"id": "a", "annotations": [{"type": "bbox", "label_id": 0, "bbox": [1, 2, 3, 4]}]}]})),
    "VGG Image Annotator (VIA) JSON": ("via/via_region_data.json", json.dumps({"a.jpg123": {
        "filename": "a.jpg", "size": 123, "regions": [{"shape_attributes": {"name": "rect", "x": 1, "y": 2,
                                                                             "width": 3, "height": 4}}]}})),
    "Supervisely JSON": ("sly/ann/a.jpg.json", json.dumps({"size": {"height": 4, "width": 4}, "objects": [
        {"classTitle": "cat", "geometryType": "rectangle", "points": {"exterior": [[1, 2], [3, 4]]}}]})),
    "Cityscapes polygons JSON": ("cs/a_gtFine_polygons.json", json.dumps({"imgHeight": 4, "imgWidth": 4, "objects": [
        {"label": "car", "polygon": [[1, 1], [2, 1], [2, 2]]}]})),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_recognised_by_name_file_and_folder(name: str, tmp_path: Path) -> None:
    rel, text = SAMPLES[name]
    path = tmp_path / rel
    path.parent.mkdir(parents=True)
    path.write_text(text)
    for target in (path, path.parent):
        with pytest.raises(pf.DetectionError, match=re.escape(f"{name} is not supported")) as err:
            pf.formats.detect(target)
        assert str(target) in str(err.value)
    with pytest.raises(pf.DetectionError, match="is not supported"):
        pf.read(path)


def test_a_real_tensorflow_csv_is_refused_but_its_folder_with_a_tfrecord_is_read() -> None:
    csv = FIXTURES / "raccoon_voc/data/test_labels.csv"
    assert refused(csv).format == "TensorFlow object detection CSV"
    with pytest.raises(pf.DetectionError, match="TensorFlow object detection CSV is not supported"):
        pf.formats.detect(csv)
    assert pf.formats.detect(FIXTURES / "raccoon_voc/data") == "tfrecord"


@pytest.mark.parametrize("path", [
    FIXTURES / "labelstudio_yolo/test_import_yolo_data",
    FIXTURES / "raccoon_voc/annotations",
    FIXTURES / "sahi_coco/coco_utils/terrain1_coco.json",
    FIXTURES / "labelme",
    FIXTURES / "createml_roboflow",
    FIXTURES / "voc_toy_cats/dets_classname_abs_xyx2y2",
], ids=lambda p: p.name)
def test_readable_inputs_are_not_refused(path: Path) -> None:
    assert refused(path) is None


def test_cli_exits_2_with_one_line(tmp_path: Path) -> None:
    rel, text = SAMPLES["OpenImages CSV"]
    path = tmp_path / rel
    path.parent.mkdir(parents=True)
    path.write_text(text)
    result = run_cli("convert", path, tmp_path / "out.json", "--to", "coco")
    assert result.code == 2
    assert "OpenImages CSV is not supported" in result.err and "Traceback" not in result.err
