"""LabelMe reader: files written by labelme itself (its examples, sahi's test data) against an independent
reading in plain Python, to 0.01 px; and how each field of the format lands in the model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.formats.labelme.read import circle_polygon
from picsellia_formats.shapes import annotation_bbox
from tests.conftest import FIXTURES

LABELME_FILES = [
    FIXTURES / "labelme/primitives/primitives.json",
    FIXTURES / "labelme/classification/0001.json",
    FIXTURES / "labelme/instance_segmentation/2011_000003.json",
    *sorted((FIXTURES / "sahi_coco/coco_utils").glob("terrain?.json")),
]


def _plain(path: Path) -> tuple[list[tuple[str, str, list[float]]], list[str], tuple[int | None, int | None]]:
    """(label, kind, flat geometry) per object, image classifications, size: read with json only.

    Polygons sharing a label and a group_id are one object (parts concatenated), as labelme2coco does.
    """
    data = json.loads(path.read_text())
    objects: list[tuple[str, str, list[float]]] = []
    groups: dict[tuple[str, int], int] = {}
    for s in data["shapes"]:
        flat = [float(v) for p in s["points"] for v in p]
        st = s.get("shape_type") or "polygon"
        if st == "rectangle":
            (x1, y1), (x2, y2) = s["points"]
            objects.append((s["label"], "box", [min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1)]))
        elif st == "circle":
            (cx, cy), (px, py) = s["points"]
            r = math.dist((cx, cy), (px, py))
            objects.append((s["label"], "polygon", [v for k in range(64) for v in (
                cx + r * math.cos(2 * math.pi * k / 64), cy + r * math.sin(2 * math.pi * k / 64))]))
        elif st == "polygon" and s.get("group_id") is not None and (s["label"], s["group_id"]) in groups:
            i = groups[(s["label"], s["group_id"])]
            objects[i] = (objects[i][0], "polygon", objects[i][2] + flat)
        elif st == "polygon":
            if s.get("group_id") is not None:
                groups[(s["label"], s["group_id"])] = len(objects)
            objects.append((s["label"], "polygon", flat))
        elif st in ("line", "linestrip"):
            objects.append((s["label"], "line", flat))
        elif st == "point":
            objects.append((s["label"], "point", flat))
        elif st == "points":
            objects.append((s["label"], "keypoints", flat))
    flags = [k for k, v in (data.get("flags") or {}).items() if v]
    return objects, flags, (data.get("imageWidth"), data.get("imageHeight"))


def _flat(ann: pf.Annotation) -> list[float]:
    if ann.kind == "box":
        return list(ann.box)
    if ann.kind == "polygon":
        return [v for part in ann.polygon for v in part]
    if ann.kind == "line":
        return list(ann.line)
    if ann.kind == "point":
        return list(ann.point)
    return [v for i, v in enumerate(ann.keypoints) if i % 3 != 2]


@pytest.mark.parametrize("path", LABELME_FILES, ids=lambda p: p.name)
def test_read_equals_a_plain_reading(path: Path) -> None:
    assert pf.formats.detect(path) == "labelme"
    ds = pf.read(path)
    objects, flags, (w, h) = _plain(path)
    (asset,) = ds.assets
    assert (asset.width, asset.height) == (w, h)
    got = [(a.label, a.kind, _flat(a)) for a in asset.annotations if a.kind != "classification"]
    assert [a.label for a in asset.annotations if a.kind == "classification"] == flags
    assert len(got) == len(objects)
    for (label, kind, flat), (elabel, ekind, eflat) in zip(got, objects):
        assert (label, kind, len(flat)) == (elabel, ekind, len(eflat))
        assert max(abs(a - b) for a, b in zip(flat, eflat)) < 0.01


@pytest.mark.parametrize("n", [1, 2, 3])
def test_sahi_labelme_files_agree_with_sahis_own_coco_conversion(n: int) -> None:
    """sahi converted terrain{n}.json to COCO itself: same image, same counts, boxes within a pixel."""
    ds = pf.read(FIXTURES / f"sahi_coco/coco_utils/terrain{n}.json")
    coco = json.loads((FIXTURES / f"sahi_coco/coco_utils/terrain{n}_coco.json").read_text())
    (asset,) = ds.assets
    assert (asset.width, asset.height) == (coco["images"][0]["width"], coco["images"][0]["height"])
    assert len(asset.annotations) == len(coco["annotations"])
    names = {c["id"]: c["name"] for c in coco["categories"]}
    for ann, theirs in zip(asset.annotations, coco["annotations"]):
        assert ann.label == names[theirs["category_id"]]
        assert all(abs(a - b) <= 1.0 for a, b in zip(annotation_bbox(ann), theirs["bbox"]))


def test_sahi_folder_reads_the_labelme_files_and_skips_the_coco_ones() -> None:
    report = pf.Report()
    ds = pf.read(FIXTURES / "sahi_coco/coco_utils", "labelme", report=report)
    assert [a.file_name for a in ds.assets] == ["terrain1.png", "terrain2.png", "terrain3.png"]
    assert ds.num_annotations == 7 + 5 + 10
    assert report.count("info", ".json files that are not LabelMe files skipped") == 8


def test_primitives_kinds_circle_and_report() -> None:
    report = pf.Report()
    ds = pf.read(FIXTURES / "labelme/primitives/primitives.json", report=report)
    kinds = [(a.label, a.kind) for a in ds.assets[0].annotations]
    assert kinds == [("rectangle", "box"), ("circle", "polygon"), ("rectangle", "box"), ("polygon", "polygon"),
                     ("line", "line"), ("point", "point"), ("line_strip", "line")]
    circle = ds.assets[0].annotations[1]
    assert circle.extra["labelme"]["circle"] == [[195.0, 84.0], [225.0, 125.0]]
    assert circle.polygon == [circle_polygon(195.0, 84.0, 225.0, 125.0)]
    assert report.count("info", "circles read as 64-vertex polygons") == 1
    assert ds.assets[0].extra["labelme"]["lineColor"] == [0, 255, 0, 128]


def test_group_id_parts_join_into_one_object() -> None:
    report = pf.Report()
    ds = pf.read(FIXTURES / "labelme/instance_segmentation/2011_000003.json", report=report)
    person = ds.assets[0].annotations[1]
    assert len(person.polygon) == 2 and person.attributes == {"group_id": 0}
    assert person.extra["labelme"]["_index"] == [1, 2]
    assert len(ds.assets[0].annotations) == 4


def test_flags_are_classifications_and_false_flags_are_kept() -> None:
    ds = pf.read(FIXTURES / "labelme/classification/0001.json")
    (asset,) = ds.assets
    assert [(a.label, a.kind) for a in asset.annotations] == [("cat", "classification")]
    assert asset.extra["labelme"]["flags"] == {"__ignore__": False, "dog": False}
    assert (asset.width, asset.height) == (None, None)


def _write(tmp: Path, name: str, data: object) -> Path:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data))
    return p


def test_image_path_is_relative_to_the_json_file(tmp_path: Path) -> None:
    _write(tmp_path, "labels/a.json", {"shapes": [], "imagePath": "..\\images\\a.jpg", "imageData": None})
    _write(tmp_path, "b.json", {"shapes": [], "imagePath": "sub/b.png", "imageData": None})
    ds = pf.read(tmp_path, "labelme")
    assert sorted(a.file_name for a in ds.assets) == ["images/a.jpg", "sub/b.png"]


def test_shape_fields_description_flags_score_and_unknown_keys(tmp_path: Path) -> None:
    shape = {"label": "car", "points": [[1, 2], [3, 4]], "group_id": 7, "description": "red one",
             "shape_type": "rectangle", "flags": {"occluded": True}, "score": 0.5, "kie_linking": []}
    p = _write(tmp_path, "a.json", {"shapes": [shape], "imagePath": "a.jpg", "imageData": None,
                                    "imageHeight": 10, "imageWidth": 20})
    ann = pf.read(p).assets[0].annotations[0]
    assert ann.box == (1, 2, 2, 2) and ann.score == 0.5
    assert ann.attributes == {"occluded": True, "group_id": 7, "description": "red one"}
    assert ann.extra["labelme"]["kie_linking"] == []


def test_embedded_image_gives_the_size_and_can_be_extracted(tmp_path: Path) -> None:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (33, 21)).save(buf, "PNG")
    b64 = base64.b64encode(buf.getvalue()).decode()
    p = _write(tmp_path, "in/a.json", {"shapes": [], "imagePath": "a.png", "imageData": b64})
    report = pf.Report()
    ds = pf.read(p, report=report, extract_images=tmp_path / "out")
    assert (ds.assets[0].width, ds.assets[0].height) == (33, 21)
    assert (tmp_path / "out/a.png").read_bytes() == buf.getvalue()
    assert report.count("info", "image sizes read from the embedded imageData") == 1


@pytest.mark.parametrize(("shape", "message"), [
    ({"label": "a", "points": [[1, 2]], "shape_type": "rectangle"}, "a rectangle needs 2 points, got 1"),
    ({"label": "a", "points": [[1, "x"]], "shape_type": "polygon"}, "points[0] must be [x, y]"),
    ({"label": "a", "points": [], "shape_type": "polygon"}, "points must be a non-empty list"),
    ({"label": 3, "points": [[1, 2]]}, "label must be a string"),
    ({"label": "a", "points": [[1, 2]], "shape_type": "ellipse"}, "unknown shape_type 'ellipse'"),
    ({"label": "a", "points": [[1, 2], [3, 4]], "shape_type": "line", "group_id": "x"}, "group_id must be an integer"),
    ({"label": "a", "points": [[1, 2]], "shape_type": "point", "flags": {"f": 1}}, "flags['f'] must be true or false"),
    ({"label": "a", "points": [[1, 2], [3, 4]], "shape_type": "mask"}, "shape_type 'mask'"),
])
def test_bad_shapes_name_the_file_the_record_and_the_problem(tmp_path: Path, shape: dict, message: str) -> None:
    p = _write(tmp_path, "bad.json", {"shapes": [{"label": "ok", "points": [[0, 0]], "shape_type": "point"}, shape],
                                      "imagePath": "a.jpg"})
    with pytest.raises(pf.FormatError) as err:
        pf.read(p, "labelme")
    text = str(err.value)
    assert str(p) in text and "shapes[1]" in text and message in text


@pytest.mark.parametrize(("data", "message"), [
    ([], "the top level is a JSON list"),
    ({"imagePath": "a.jpg"}, "'shapes' is missing"),
    ({"shapes": [], "imageHeight": -3}, "imageHeight: must be a positive integer"),
    ({"shapes": [], "imagePath": 5}, "imagePath must be a string"),
    ({"shapes": [], "imageData": "@@notbase64@@", "imagePath": "a.jpg"}, "imageData is not valid base64"),
])
def test_bad_files(tmp_path: Path, data: object, message: str) -> None:
    p = _write(tmp_path, "bad.json", data)
    with pytest.raises(pf.FormatError, match=r"bad\.json") as err:
        pf.read(p, "labelme")
    assert message in str(err.value)
