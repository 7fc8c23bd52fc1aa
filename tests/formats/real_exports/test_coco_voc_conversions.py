"""Every real COCO/VOC layout converted into every other format: what the target can hold arrives (counts,
labels, boxes to 0.01 px, or to the pixel for VOC's integers with a "rounded" line), and the report names
exactly the kinds the target cannot hold, with their counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.model import Dataset
from picsellia_formats.report import Report
from picsellia_formats.shapes import annotation_bbox
from picsellia_formats.splits import is_split_name
from tests.conftest import FIXTURES
from tests.formats.test_matrix import ALL_KINDS, KEPT

LOST_KINDS = {target: ALL_KINDS - kept for target, kept in KEPT.items()}  # main's test_matrix: KEPT per target

FX = FIXTURES / "real_exports"
#: layout -> (source, images folder)
SOURCES: dict[str, tuple[Path, Path | None]] = {
    "roboflow_coco": (FX / "roboflow_coco", None),
    "coco_per_split": (FX / "coco_per_split", FX / "coco_per_split" / "images"),
    "coco_image_labels": (FX / "coco_image_labels", FX / "coco_image_labels" / "images"),
    "coco_captions": (FX / "coco_captions", FX / "coco_captions" / "images"),
    "coco_image_info": (FX / "coco_image_info", FX / "coco_image_info" / "images"),
    "ultralytics_convert_coco": (FX / "ultralytics_convert_coco" / "coco", None),
    "coco_panoptic": (FX / "coco_panoptic", FX / "coco_panoptic" / "images"),
    "roboflow_voc": (FX / "roboflow_voc", FX / "roboflow_voc"),
    "cvat_voc": (FX / "cvat_voc", FX / "cvat_voc" / "JPEGImages"),
    "voc_segmentation_only": (FX / "voc_segmentation_only", FX / "voc_segmentation_only" / "JPEGImages"),
}
#: what the reader itself drops (and reports), per layout: captions (as the README says)
READ_DROPS = {"coco_captions": {"captions": 3}}
TARGETS = ("coco", "voc", "yolo", "picsellia", "cvat", "labelstudio")
FILE_TARGETS = ("picsellia", "cvat", "labelstudio")


def _kinds(ds: Dataset) -> Counter:
    return Counter(ann.kind for _, ann in ds.annotations())


def _boxes(ds: Dataset, ndigits: int) -> Counter:
    return Counter((ann.label, tuple(round(v, ndigits) for v in ann.box))
                   for _, ann in ds.annotations() if ann.kind == "box")


#: targets with no free object attributes (what each one's report calls it)
NO_ATTRIBUTES = {"yolo": "object attributes", "labelstudio": "object attributes"}
#: targets whose output has no label list (labels without objects are lost)
NO_LABEL_LIST = ("voc", "labelstudio")
#: targets with no crowd flag
NO_CROWD = ("voc", "yolo", "labelstudio", "cvat")
#: targets that keep asset tags (COCO only as split files: see test_coco_voc_layouts; YOLO: split tags as folders)
KEEP_TAGS = ("picsellia", "cvat", "yolo")
#: targets that write each part of a multi-part polygon as its own object (reported)
SPLITS_PARTS = ("cvat", "labelstudio")
#: targets with no label group (COCO supercategory)
NO_GROUP = ("cvat", "voc", "yolo", "labelstudio")


def _expected_drops(src: Dataset, target: str, lost: dict[str, int]) -> dict[str, int]:
    """What the report must say the target dropped (report wording -> count), from the source alone."""
    out = {("image-level classifications" if k == "classification" else k): n for k, n in lost.items() if n}
    anns = [a for _, a in src.annotations()]
    if target in NO_ATTRIBUTES:
        n = sum(1 for a in anns if a.attributes and a.kind not in lost)
        if n:
            out[NO_ATTRIBUTES[target]] = n
    if target in NO_LABEL_LIST:
        used = {a.label for a in anns if a.kind not in lost}
        n = sum(1 for label in src.labels if label.name not in used)
        if n:
            out["labels without objects"] = n
    if target in NO_CROWD:
        n = sum(1 for a in anns if a.iscrowd)
        if n:
            out["crowd"] = n
    if target in NO_GROUP:
        n = sum(1 for label in src.labels if label.group is not None)
        if n:
            out["label groups"] = n
    if target == "yolo":  # split tags become split folders; other tags are dropped
        n = sum(1 for a in src.assets if any(not is_split_name(t) for t in a.tags))
        if n:
            out["asset tags other than the split"] = n
    elif target not in KEEP_TAGS:
        n = sum(1 for a in src.assets if a.tags)
        if target == "coco" and src.metadata.get("coco", {}).get("split_files"):
            n = 0  # split tags: the per-split layout (or the file's own name) carries them
        if target == "voc" and src.metadata.get("voc", {}).get("layout") == "devkit":
            n = 0  # ImageSets/Main
        if target == "voc" and src.metadata.get("voc", {}).get("layout") == "folder":
            n = 0  # the split folders
        if n:
            out["asset tags"] = n
    return out


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("layout", sorted(SOURCES))
def test_conversion_carries_what_the_target_holds(layout: str, target: str, tmp_path: Path) -> None:
    src_path, images = SOURCES[layout]
    report = Report()
    src = pf.read(src_path, images=images, report=report)
    out = tmp_path / ("out.json" if target in FILE_TARGETS else "out")
    pf.write(src, out, target, images=images, report=report)
    back = pf.read(out, target, images=images)
    if target == "coco":  # pycocotools loads every COCO file we write
        from pycocotools.coco import COCO

        files = [out] if out.is_file() else sorted(out.rglob("*.json"))
        assert sum(len(COCO(str(f)).imgs) for f in files) == len(src)
    kinds = _kinds(src)
    lost = {k: n for k, n in kinds.items() if k in LOST_KINDS[target]}
    if target == "coco" and src.metadata.get("coco", {}).get("image_labels"):
        lost.pop("classification", None)  # COCO -> COCO keeps image-level labels
    assert len(back) == len(src)
    split_parts = 0
    if target in SPLITS_PARTS:  # each part becomes its own object, and the report says how many objects
        multi = [a for _, a in src.annotations() if a.kind == "polygon" and len(a.polygon) > 1]
        split_parts = sum(len(a.polygon) - 1 for a in multi)
        if multi:
            assert [e for e in report.entries if "multi-part" in e.what and e.count == len(multi)], str(report)
    assert back.num_annotations == src.num_annotations - sum(lost.values()) + split_parts
    expected = {**_expected_drops(src, target, lost), **READ_DROPS.get(layout, {})}
    for e in report.entries:
        if e.kind != "dropped":
            continue
        if e.what.endswith("-only fields"):  # format metadata (headers, info): named, not counted here
            assert not e.what.startswith("objects'"), f"object data lost: {e}"  # corner texts, CVAT names...
            continue
        key = next((k for k in expected if k in e.what), None)
        assert key is not None, f"unexpected loss {e} in:\n{report}"
        assert e.count == expected.pop(key), f"{e} in:\n{report}"
    assert not expected, f"losses not reported: {expected}\n{report}"
    kept = Counter(ann.label for _, ann in src.annotations() if ann.kind not in lost
                   for _ in range(len(ann.polygon) if target in SPLITS_PARTS and ann.kind == "polygon" else 1))
    assert Counter(ann.label for _, ann in back.annotations()) == kept
    if target == "voc":  # integer corners: to the pixel, and said so when something moved
        want = sorted((a.label, annotation_bbox(a)) for _, a in src.annotations() if a.kind not in lost)
        got = sorted((a.label, annotation_bbox(a)) for _, a in back.annotations())
        for (label, box), (label2, box2) in zip(want, got, strict=True):
            assert label == label2 and all(abs(u - v) <= 1.0 for u, v in zip(box, box2)), (box, box2)
        if "voc" not in src.metadata:  # VOC -> VOC writes the source's own corner texts
            moved = any(not float(v).is_integer() for _, a in src.annotations() if a.kind not in lost
                        for v in annotation_bbox(a))
            assert bool(report.count("rounded")) == moved, str(report)
    elif target != "yolo":  # YOLO stores 6 decimals of a fraction of the image
        if all(a.kind == "box" for _, a in src.annotations()):
            assert _boxes(back, 2) == _boxes(src, 2)
    else:
        for (label, box), (label2, box2) in zip(sorted(_boxes(src, 2)), sorted(_boxes(back, 2))):
            assert label == label2 and all(abs(a - b) <= 0.01 * max(1, abs(a)) + 0.01 for a, b in zip(box, box2))
