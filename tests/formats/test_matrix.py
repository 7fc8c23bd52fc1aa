"""The conversion matrix: every bundled fixture through every format and back, and one dataset with
every kind of annotation through every writer.

Per format pair it checks that what the target can hold survives, and that the report lists exactly
what it cannot (with counts): the table pinned in EXPECTED_REPORTS is the one in the README.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.errors import FormatError
from picsellia_formats.model import QA, Annotation, Asset, Dataset, Label, Mask
from picsellia_formats.shapes import annotation_bbox
from tests.conftest import FIXTURES

TARGETS = ("coco", "voc", "yolo", "picsellia", "cvat", "labelstudio", "labelme", "createml")
#: targets written to one file (the others are folders)
FILE_TARGETS = ("coco", "picsellia", "cvat", "labelstudio", "createml")
ALL_KINDS = frozenset({"box", "polygon", "mask", "keypoints", "line", "point", "classification"})
#: the kinds of object each target holds (the others it reports dropped); a mask may come back as polygons
KEPT = {
    "coco": {"box", "polygon", "mask", "keypoints"},
    "voc": {"box", "polygon", "mask", "keypoints"},
    "yolo": {"box", "polygon", "mask"},
    "picsellia": set(ALL_KINDS),
    "cvat": set(ALL_KINDS),
    "labelstudio": set(ALL_KINDS - {"line"}),
    "labelme": set(ALL_KINDS),
    "createml": {"box", "polygon", "mask", "keypoints"},
}
#: kinds each target drops (with a report line)
LOST_KINDS: dict[str, tuple[str, ...]] = {t: tuple(sorted(ALL_KINDS - kept)) for t, kept in KEPT.items()}

SOURCES = {
    "coco terrain (polygons)": ("coco", FIXTURES / "sahi_coco/coco_utils/terrain_all_coco.json", None),
    "coco combined (polygons)": ("coco", FIXTURES / "sahi_coco/coco_utils/combined_coco.json", None),
    "coco visdrone (boxes, empty images)": (
        "coco", FIXTURES / "sahi_coco/coco_utils/visdrone2019-det-train-first50image.json", None),
    "coco picsellia export": ("coco", FIXTURES / "picsellia_coco_det/annotations.json", None),
    "coco toy cats": ("coco", FIXTURES / "voc_toy_cats/gts_coco_format/toy_example_coco.JSON", None),
    "coco results (RLE masks)": ("coco", FIXTURES / "cocoapi_results/instances_val2014_fakesegm100_results.json",
                                 None),
    "voc toy cats": ("voc", FIXTURES / "voc_toy_cats/gts_vocpascal_format", FIXTURES / "voc_toy_cats/images"),
    "voc raccoon": ("voc", FIXTURES / "raccoon_voc/annotations", None),
    "yolo label studio": ("yolo", FIXTURES / "labelstudio_yolo/test_import_yolo_data", None),
    "yolo label studio (same sizes)": ("yolo", FIXTURES / "labelstudio_yolo/test_import_yolo_data_unif_dims", None),
    "cvat docs example": ("cvat", FIXTURES / "cvat/docs_example/annotations.xml", None),
    "cvat project export": ("cvat", FIXTURES / "cvat/exporter_project/annotations.xml", None),
    "label studio rotated rectangles": ("labelstudio", FIXTURES / "labelstudio/export_obb/data_obb.json", None),
    "label studio polygon": ("labelstudio", FIXTURES / "labelstudio/export_polygons/data_polygons.json", None),
    "labelme examples (every shape, flags, groups)": ("labelme", FIXTURES / "labelme", None),
    "labelme sahi terrain": ("labelme", FIXTURES / "sahi_coco/coco_utils/terrain2.json", None),
    "createml roboflow": ("createml", FIXTURES / "createml_roboflow/_annotations.createml.json", None),
}


def _boxes(ds: Dataset, kinds: set[str] = set(ALL_KINDS)) -> dict[str, Counter]:  # noqa: B006
    """Per image stem, the multiset of (label, rounded corners) of the objects of `kinds`."""
    out: dict[str, Counter] = {}
    for asset in ds.assets:
        c: Counter = Counter()
        for ann in asset.annotations:
            box = annotation_bbox(ann) if ann.kind in kinds else None
            if box is not None:  # corners rounded half up: what an integer format (VOC) keeps
                x, y, w, h = map(float, box)
                c[(ann.label, *(math.floor(v + 0.5) for v in (x, y, x + w, y + h)))] += 1
        out[Path(asset.file_name).stem] = c
    return out


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_fixture_through_every_format_and_back(source: str, target: str, tmp_path: Path) -> None:
    fmt, path, images = SOURCES[source]
    report = pf.Report()
    ds = pf.read(path, fmt, images=images, report=report)
    if fmt == "yolo":
        images = path / "images"
    out = tmp_path / ("out.json" if target in FILE_TARGETS else "out")
    unsized_shapes = sum(1 for a in ds.assets if a.width is None for ann in a.annotations
                         if ann.kind != "classification")
    if target == "yolo" and unsized_shapes:  # YOLO rows are fractions of the size: refused, never unreadable
        with pytest.raises(FormatError, match="no known size"):
            pf.write(ds, out, target, images=images, report=report)
        assert not out.exists()
        return
    pf.write(ds, out, target, images=images, report=report)
    kept = KEPT[target]
    if target == "yolo" and any(a.width is None for a in ds.assets):
        return  # YOLO's reader needs each image's size, and these sources ship no image
    if target == "labelstudio" and unsized_shapes:  # percentages need the image size
        assert report.count("dropped", "objects on images of unknown size") == unsized_shapes
        return
    back = pf.read(out, target, images=images if target == "voc" else None)

    assert len(back) == len(ds)
    assert sorted(Path(a.file_name).stem for a in back.assets) == sorted(Path(a.file_name).stem for a in ds.assets)
    lost = ALL_KINDS - kept
    for kind, plural in (("line", "lines"), ("point", "points"), ("classification", "image-level classifications"),
                         ("keypoints", "keypoint objects")):
        n = sum(1 for _, ann in ds.annotations() if ann.kind == kind)
        if kind not in kept:  # what the target cannot hold is reported, with its count
            assert report.count("dropped", plural) == n
    used = {ann.label for _, ann in ds.annotations() if ann.kind in kept}
    assert {ann.label for _, ann in back.annotations()} == used
    split = sum(report.count("approximated", what) for what in (
        "multi-part polygons written as one ring joined by zero-width bridges",
        "multi-part polygons written as one row per part", "multi-part polygons written as one polygon per part",
        "multi-part polygons written as one region per part", "masks written as polygons",
        "keypoint objects written as separate keypoint regions"))
    if not split:
        outside = report.count("dropped", "boxes outside their image") + report.count(
            "dropped", "polygons outside their image")  # YOLO drops them (issue 15), VOC keeps them
        assert back.num_annotations == sum(1 for _, ann in ds.annotations() if ann.kind in kept) - outside
        # every box survives to the pixel (VOC rounds to integers, YOLO clips values to [0, 1]: both say so)
        clipped = sum(report.count(kind, "objects clipped to the image") for kind in ("changed", "approximated"))
        clipped += report.count("rounded", "objects' coordinates")  # CVAT's two decimals may cross a .5 px
        before, after = _boxes(ds, kept), _boxes(back)
        moved = sum(((before[k] - after[k]) + (after[k] - before[k])).total() for k in before) // 2
        assert moved <= clipped
    else:
        # YOLO writes one row per part/piece: every object's box is covered by its pieces' boxes
        for stem, boxes in _boxes(back).items():
            assert sum(boxes.values()) >= sum(_boxes(ds, kept)[stem].values())
    kinds_before = Counter(ann.kind for _, ann in ds.annotations() if ann.kind in kept)
    if target in ("coco", "picsellia"):
        assert Counter(ann.kind for _, ann in back.annotations()) == Counter(
            {k: n for k, n in kinds_before.items() if k not in lost})
    if kinds_before["polygon"] + kinds_before["mask"] and target == "voc":
        shapes = kinds_before["polygon"] + kinds_before["mask"] + kinds_before["keypoints"]
        assert report.count("approximated") == shapes


def _rich(folder: Path) -> tuple[Dataset, Path]:
    images = folder / "images"
    images.mkdir(parents=True)
    for name in ("a.jpg", "b.png"):
        Image.new("RGB", (64, 48), (200, 10, 10)).save(images / name)
    ds = Dataset([Label("car"), Label("person"), Label("day")], [
        Asset("a.jpg", 64, 48, [
            Annotation("car", box=(1.0, 2.0, 10.0, 12.0), score=0.9, attributes={"occluded": True},
                       qa=[QA("text", "color?", "red")]),
            Annotation("person", polygon=[[10, 10, 20, 10, 20, 20, 10, 20], [30, 30, 40, 30, 35, 40]]),
            Annotation("car", mask=Mask(48, 64, [100, 5, 43, 5, 2919])),
            Annotation("person", keypoints=[5, 5, 2, 6, 6, 1], box=(5, 5, 1, 1)),
            Annotation("car", line=[1, 1, 10, 10, 20, 5]),
            Annotation("person", point=(3.5, 4.5)),
            Annotation("day"),
        ], status="ACCEPTED", tags=["train"], qa=[QA("select", "rain?", "no", choices=["yes", "no"])]),
        Asset("b.png", 64, 48, [], tags=["val"]),
    ])
    return ds, images


#: what each writer must say it could not carry of `_rich()`, exactly: (kind, what) -> count
EXPECTED_REPORTS: dict[str, dict[tuple[str, str], int]] = {
    "coco": {
        ("dropped", "asset tags"): 2,
        ("dropped", "asset statuses"): 1,
        ("dropped", "image Q&A answers"): 1,
        ("dropped", "object Q&A answers"): 1,
        ("dropped", "image-level classifications"): 1,
        ("dropped", "lines"): 1,
        ("dropped", "points"): 1,
    },
    "voc": {
        ("dropped", "asset tags"): 2,
        ("dropped", "asset statuses"): 1,
        ("dropped", "detection scores"): 1,
        ("dropped", "image Q&A answers"): 1,
        ("dropped", "object Q&A answers"): 1,
        ("dropped", "image-level classifications"): 1,
        ("dropped", "labels without objects"): 1,
        ("dropped", "lines"): 1,
        ("dropped", "points"): 1,
        ("approximated", "keypoint objects written as boxes"): 1,
        ("approximated", "masks written as boxes"): 1,
        ("approximated", "polygons written as boxes"): 1,
    },
    "yolo": {
        ("dropped", "asset statuses"): 1,
        ("dropped", "image Q&A answers"): 1,
        ("dropped", "object Q&A answers"): 1,
        ("dropped", "image-level classifications"): 1,
        ("dropped", "keypoint objects"): 1,
        ("dropped", "lines"): 1,
        ("dropped", "points"): 1,
        ("dropped", "object attributes"): 1,
        ("dropped", "detection scores"): 1,
        ("approximated", "masks written as polygons"): 1,
        ("approximated", "multi-part polygons written as one ring joined by zero-width bridges"): 1,
        ("changed", "boxes written as 4-point polygons"): 2,
    },
    # the rich dataset has no time spent: the legacy uploaders need a number (docs/picsellia-json.md)
    "picsellia": {("changed", "time_spent written as 0 (not known)"): 1},
    "cvat": {
        ("dropped", "asset statuses"): 1,
        ("dropped", "detection scores"): 1,
        ("dropped", "image Q&A answers"): 1,
        ("dropped", "object Q&A answers"): 1,
        ("approximated", "multi-part polygons written as one polygon per part"): 1,
        ("approximated", "occluded keypoints written as plain points"): 1,
        # no "image ids renumbered": the rich dataset's assets have no ids, so none is changed
    },
    "labelstudio": {
        ("dropped", "asset statuses"): 1,
        ("dropped", "asset tags"): 2,
        ("dropped", "lines"): 1,
        ("dropped", "object attributes"): 1,
        ("approximated", "keypoint objects written as separate keypoint regions"): 1,
        ("approximated", "multi-part polygons written as one region per part"): 1,
        ("changed", "image select/multiple-choice Q&A written as choices"): 1,
    },
    "labelme": {  # holds lines, points, scores, attributes (flags) and image classifications (image flags)
        ("dropped", "asset tags"): 2,
        ("dropped", "asset statuses"): 1,
        ("dropped", "image Q&A answers"): 1,
        ("dropped", "object Q&A answers"): 1,
        ("dropped", "keypoint visibility flags (1 = occluded)"): 1,
        ("dropped", "boxes stated beside keypoints"): 1,
        ("approximated", "masks written as polygons"): 1,
        ("changed", "group_ids given to multi-part polygons"): 1,
    },
    "createml": {
        ("dropped", "asset tags"): 2,
        ("dropped", "asset statuses"): 1,
        ("dropped", "detection scores"): 1,
        ("dropped", "image Q&A answers"): 1,
        ("dropped", "object Q&A answers"): 1,
        ("dropped", "object attributes"): 1,
        ("dropped", "image-level classifications"): 1,
        ("dropped", "labels without objects"): 1,  # its only objects are lines: lost with them
        ("dropped", "lines"): 1,
        ("dropped", "points"): 1,
        ("approximated", "keypoint objects written as boxes"): 1,
        ("approximated", "masks written as boxes"): 1,
        ("approximated", "polygons written as boxes"): 1,
    },
}


@pytest.mark.parametrize("target", TARGETS)
def test_every_kind_through_every_writer_reports_exactly_what_it_cannot_hold(target: str, tmp_path: Path) -> None:
    ds, images = _rich(tmp_path)
    out = tmp_path / ("out.json" if target in FILE_TARGETS else "out")
    report = pf.write(ds, out, target, images=images)
    got = {(e.kind, e.what): e.count for e in report.entries if e.kind != "info"}
    assert got == EXPECTED_REPORTS[target]
    back = pf.read(out, target, images=images if target == "voc" else None)
    kinds = Counter(ann.kind for _, ann in back.annotations())
    lost = {what for (kind, what) in got if kind == "dropped"}
    if target == "picsellia":  # holds every kind, Q&A on both levels, statuses and tags
        assert back.assets[0].annotations == ds.assets[0].annotations
        assert back.assets[0].qa == ds.assets[0].qa and back.assets[0].status == "ACCEPTED"
        assert [a.tags for a in back.assets] == [["train"], ["val"]]
    if target == "coco":
        assert kinds == Counter({"box": 1, "polygon": 1, "mask": 1, "keypoints": 1})
        assert back.assets[0].annotations[0].attributes == {"occluded": True}
        assert back.assets[0].annotations[0].score == 0.9
    if target == "voc":
        assert kinds == Counter({"box": 4})
    if target == "yolo":
        assert [a.tags for a in back.assets] == [["train"], ["val"]]
        assert "asset tags" not in lost
    if target == "cvat":  # every kind but Q&A; the 2-part polygon as 2 polygons; keypoints as points
        assert kinds == Counter({"polygon": 2, "box": 1, "mask": 1, "keypoints": 1, "line": 1, "point": 1,
                                 "classification": 1})
        assert [a.tags for a in back.assets] == [["train"], ["val"]]
        assert back.assets[0].annotations[0].attributes == {"occluded": True}
    if target == "labelstudio":  # keypoints as single points; the select Q&A as a choice (classification)
        assert kinds == Counter({"point": 3, "polygon": 2, "classification": 2, "box": 1, "mask": 1})
        assert back.assets[0].annotations[0].score == 0.9
        assert back.assets[0].qa == ()
    if target == "labelme":
        assert kinds == Counter({"box": 1, "polygon": 2, "keypoints": 1, "line": 1, "point": 1, "classification": 1})
        car = back.assets[0].annotations[1]
        assert (car.box, car.score, car.attributes) == ((1.0, 2.0, 10.0, 12.0), 0.9, {"occluded": True})
    if target == "createml":
        assert kinds == Counter({"box": 4})
