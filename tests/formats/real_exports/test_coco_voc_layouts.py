"""Real COCO and VOC exports (Roboflow, CVAT, Datumaro, labelme2voc, COCO panoptic...) read without hints,
compared with the independent readings of ``expected.py`` (plain Python, never our code) to 0.01 px,
and written back to the same layout (pycocotools loads every COCO file we write)."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import picsellia_formats as pf
from picsellia_formats.masks import rle_to_mask
from picsellia_formats.report import Report
from picsellia_formats.splits import is_split_name, split_of

_spec = importlib.util.spec_from_file_location("real_exports_expected", Path(__file__).with_name("expected.py"))
expected = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(expected)  # type: ignore[union-attr]
FX: Path = expected.FX

#: layout -> (path given to pf.read, detected format)
LAYOUTS: dict[str, tuple[Path, str]] = {
    "roboflow_coco": (FX / "roboflow_coco", "coco"),
    "coco_per_split": (FX / "coco_per_split", "coco"),
    "coco_captions": (FX / "coco_captions", "coco"),
    "coco_image_labels": (FX / "coco_image_labels", "coco"),
    "coco_image_info": (FX / "coco_image_info", "coco"),
    "coco_panoptic": (FX / "coco_panoptic", "coco"),
    "roboflow_voc": (FX / "roboflow_voc", "voc"),
    "cvat_voc": (FX / "cvat_voc", "voc"),
    "voc_segmentation_only": (FX / "voc_segmentation_only", "voc"),
    "truncated_jpeg": (FX / "truncated_jpeg", "coco"),
}


def close(a: Any, b: Any, tol: float = 0.01) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) <= tol for x, y in zip(a, b))


def _pixels(mask: Any) -> set[tuple[int, int]]:
    ys, xs = np.nonzero(rle_to_mask(mask))
    return set(zip(xs.tolist(), ys.tolist()))


def _match_object(ours: Any, exp: dict[str, Any]) -> None:
    assert ours.label == exp["label"]
    kind = exp["kind"]
    if kind == "box":
        assert ours.kind == "box" and close(ours.box, exp["box"]), (ours.box, exp["box"])
        for key, value in (exp.get("attributes") or {}).items():
            assert str(ours.attributes[key]).lower() == str(value).lower()
        if exp.get("occluded") is not None:
            assert str(ours.attributes["occluded"]) == exp["occluded"]
    elif kind == "polygon":
        assert ours.kind == "polygon"
        assert len(ours.polygon) == len(exp["parts"])
        for part, pts in zip(ours.polygon, exp["parts"]):
            assert close(part, [v for p in pts for v in p])
    elif kind == "rle":
        assert ours.kind == "mask" and ours.mask.to_coco() == exp["rle"] and close(ours.box, exp["box"])
        assert ours.iscrowd == exp["iscrowd"]
    elif kind == "mask":
        assert ours.kind == "mask" and _pixels(ours.mask) == set(map(tuple, exp["pixels"]))
        if "iscrowd" in exp:
            assert ours.iscrowd == exp["iscrowd"]
    elif kind == "classification":
        assert ours.kind == "classification"
    else:  # pragma: no cover - a kind the reading adds later
        raise AssertionError(kind)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_reads_like_the_independent_reading(layout: str) -> None:
    path, fmt = LAYOUTS[layout]
    assert pf.detect(path) == fmt  # no hint
    report = Report()
    ds = pf.read(path, report=report)
    images = expected.READINGS[layout]()
    captions = sum(o["kind"] == "caption" for im in images for o in im["objects"])
    assert len(ds) == len(images)
    by_key = {}
    for asset in ds.assets:
        key = (split_of(asset.tags), Path(asset.file_name).name)
        assert key not in by_key
        by_key[key] = asset
    for im in images:
        split = im["split"] if im["split"] and is_split_name(im["split"]) else None  # "default" is none
        asset = by_key[(split, im["file"])]
        if im["size"] != (0, 0):  # 0 x 0 is CVAT's "unknown"
            assert (asset.width, asset.height) == im["size"]
        objects = [o for o in im["objects"] if o["kind"] != "caption"]
        assert len(asset.annotations) == len(objects)
        for ours, exp in zip(asset.annotations, objects):
            _match_object(ours, exp)
    if captions:
        assert report.count("dropped", "captions") == captions


def _pycocotools_loads(path: Path) -> Any:
    from pycocotools.coco import COCO

    return COCO(str(path))


@pytest.mark.parametrize("layout", ["roboflow_coco", "coco_per_split"])
def test_split_folder_in_split_folder_out(layout: str, tmp_path: Path) -> None:
    src = pf.read(LAYOUTS[layout][0])
    report = pf.write(src, tmp_path / "out", "coco")
    assert not report.lossy, str(report)
    files = sorted((tmp_path / "out" / "annotations").iterdir())
    splits = sorted({split_of(a.tags) for a in src.assets})
    assert [f.name for f in files] == sorted(f"instances_{s}.json" for s in splits)
    for f in files:
        split = f.stem.removeprefix("instances_")
        coco = _pycocotools_loads(f)
        mine = [a for a in src.assets if split_of(a.tags) == split]
        assert len(coco.imgs) == len(mine)
        assert len(coco.anns) == sum(len(a.annotations) for a in mine)
        assert sorted(c["name"] for c in coco.cats.values()) == sorted(src.label_names)
    back = pf.read(tmp_path / "out")
    assert pf.detect(tmp_path / "out") == "coco"
    key = lambda ds: sorted((split_of(a.tags), a.file_name, a.width, a.height,  # noqa: E731
                             tuple((o.label, o.box, str(o.polygon), o.mask) for o in a.annotations))
                            for a in ds.assets)
    assert key(back) == key(src)


def test_roboflow_superclass_and_ids_kept_per_split(tmp_path: Path) -> None:
    src = pf.read(FX / "roboflow_coco")
    assert [(lb.name, lb.id, lb.group) for lb in src.labels] == [("objects", 0, "none"), ("pen", 1, "objects")]
    pf.write(src, tmp_path / "out", "coco")
    for split in ("train", "valid", "test"):
        ours = json.loads((tmp_path / "out" / "annotations" / f"instances_{split}.json").read_text())
        theirs = json.loads((FX / "roboflow_coco" / split / "_annotations.coco.json").read_text())
        assert ours["categories"] == theirs["categories"]
        assert [i["id"] for i in ours["images"]] == [i["id"] for i in theirs["images"]]
        assert [(a["id"], a["bbox"]) for a in ours["annotations"]] == [(a["id"], a["bbox"])
                                                                      for a in theirs["annotations"]]
        assert ours["info"] == theirs["info"]


def test_split_files_is_a_library_call(tmp_path: Path) -> None:
    ds = pf.read(FX / "cvat_voc")
    for i, asset in enumerate(ds.assets):
        asset.tags = ["train" if i == 0 else "val"]
    report = pf.write(ds, tmp_path / "out", "coco", split_files=True)
    assert sorted(p.name for p in (tmp_path / "out" / "annotations").iterdir()) == [
        "instances_train.json", "instances_val.json"]
    assert report.count("dropped", "asset tags") == 0  # the split tag is the file name
    for f in (tmp_path / "out" / "annotations").iterdir():
        assert len(_pycocotools_loads(f).imgs) == 1
    # an explicit .json target is one file, the split tags reported as dropped
    one = pf.write(ds, tmp_path / "one.json", "coco")
    assert one.count("dropped", "asset tags") == 2


def test_split_files_refuse_untagged_assets(tmp_path: Path) -> None:
    ds = pf.read(FX / "cvat_voc")
    ds.assets[0].tags = ["train"]
    ds.assets[1].tags = []
    with pytest.raises(pf.FormatError, match="1 assets have no split tag"):
        pf.write(ds, tmp_path / "out", "coco", split_files=True)
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_single_file_in_single_file_out(tmp_path: Path) -> None:
    ds = pf.read(FX / "truncated_jpeg" / "annotations.json")
    (tmp_path / "out").mkdir()
    pf.write(ds, tmp_path / "out", "coco")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["annotations.json"]


def test_split_named_file_tagged_and_written_back_by_name(tmp_path: Path) -> None:
    src = FX / "coco_per_split" / "annotations" / "instances_val.json"
    ds = pf.read(src)
    assert {tuple(a.tags) for a in ds.assets} == {("val",)}
    assert not pf.write(ds, tmp_path / "out", "coco").lossy
    out = tmp_path / "out" / "annotations" / "instances_val.json"
    assert json.loads(out.read_text())["annotations"] == json.loads(src.read_text())["annotations"]
    one = pf.write(ds, tmp_path / "one.json", "coco")  # the tag came from the file name: not data
    assert not one.lossy, str(one)
    assert json.loads((tmp_path / "one.json").read_text())["annotations"] == json.loads(src.read_text())["annotations"]


def test_image_labels_coco_to_coco_lossless(tmp_path: Path) -> None:
    # regression: annotations without bbox or segmentation were dropped as classifications
    src = FX / "coco_image_labels" / "annotations" / "labels_train.json"
    report = pf.convert(src, tmp_path / "out.json", "coco")
    assert not report.lossy, str(report)
    ours, theirs = json.loads((tmp_path / "out.json").read_text()), json.loads(src.read_text())
    strip = lambda anns: [(a["id"], a["image_id"], a["category_id"]) for a in anns]  # noqa: E731
    assert strip(ours["annotations"]) == strip(theirs["annotations"])
    assert len(_pycocotools_loads(tmp_path / "out.json").anns) == 2


def test_captions_dropped_and_reported() -> None:
    # regression: "category_id 0 is not among the categories"
    report = Report()
    ds = pf.read(FX / "coco_captions", report=report)
    assert (len(ds), ds.num_annotations) == (2, 0)
    assert report.count("dropped", "captions") == 3


def test_panoptic_read_as_masks_and_written_as_instances(tmp_path: Path) -> None:
    report = pf.convert(FX / "coco_panoptic", tmp_path / "out.json", "coco")
    assert report.count("changed", "COCO panoptic segments read as instance masks") == 2
    coco = _pycocotools_loads(tmp_path / "out.json")
    assert sorted(coco.cats[a["category_id"]]["name"] for a in coco.anns.values()) == ["b", "d"]
    assert all(coco.annToMask(a).sum() == a["area"] for a in coco.anns.values())


def test_panoptic_without_its_png_names_the_file(tmp_path: Path) -> None:
    data = json.loads((FX / "coco_panoptic" / "annotations" / "panoptic_val.json").read_text())
    (tmp_path / "panoptic_val.json").write_text(json.dumps(data))
    with pytest.raises(pf.FormatError, match=r"panoptic PNG '000000000001\.png' not found") as info:
        pf.read(tmp_path / "panoptic_val.json")
    assert "lacks" not in str(info.value)


def test_empty_annotations_folder_is_not_voc() -> None:
    # regression: a YOLO dataset with an Annotations/ folder of .txt was VOC with "0 of 0 sampled"
    verdict = {d.format: d for d in pf.formats.detect_all(FX / "yolo_annotations_images")}
    assert verdict["voc"].confidence == 0


def test_cvat_voc_to_coco_is_strict_clean(tmp_path: Path) -> None:
    # regression: decimal corners were "bndbox dropped" and attribute names "cvat dropped"
    report = pf.convert(FX / "cvat_voc", tmp_path / "out.json", "coco")
    text = str(report)
    assert "bndbox" not in text and "cvat" not in text
    boxes = Counter()
    for ann in json.loads((tmp_path / "out.json").read_text())["annotations"]:
        boxes[tuple(round(v, 2) for v in ann["bbox"])] += 1
    want = Counter(tuple(round(v, 2) for v in o["box"]) for im in expected.read_cvat_voc() for o in im["objects"])
    assert boxes == want


def test_voc_segmentation_pngs_kept_on_voc_to_voc(tmp_path: Path) -> None:
    # regression: SegmentationClass/SegmentationObject were dropped without --voc-segmentation
    src = FX / "voc_segmentation_only"
    pf.convert(src, tmp_path / "out", "voc")
    from PIL import Image

    for folder in ("SegmentationClass", "SegmentationObject"):
        a = np.asarray(Image.open(src / folder / "2011_000003.png"))
        b = np.asarray(Image.open(tmp_path / "out" / folder / "2011_000003.png"))
        assert (a == b).all()
    assert pf.read(tmp_path / "out") == pf.read(tmp_path / "out")
    assert pf.read(tmp_path / "out").num_annotations == 2


def test_roboflow_voc_keeps_split_folders(tmp_path: Path) -> None:
    report = pf.convert(FX / "roboflow_voc", tmp_path / "out", "voc")
    assert not report.lossy, str(report)
    for xml in (FX / "roboflow_voc").glob("*/*.xml"):
        assert (tmp_path / "out" / xml.parent.name / xml.name).read_bytes() == xml.read_bytes()


def test_roboflow_voc_images_found_beside_their_xml(tmp_path: Path) -> None:
    root = tmp_path / "rf"
    import shutil

    shutil.copytree(FX / "roboflow_voc", root)
    xml = root / "val" / "val_001.xml"
    xml.write_text(xml.read_text().replace("<width>10</width>", "<width>0</width>"))
    report = Report()
    ds = pf.read(root, report=report)
    asset = next(a for a in ds.assets if a.file_name == "val_001.jpg")
    assert asset.width == 10 and asset.tags == ["val"]
    assert report.count("info", "image sizes taken from the image headers (missing or zero in the XML)") == 1
