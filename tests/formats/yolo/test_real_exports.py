"""The YOLO layouts other tools write (fixtures/real_exports) read equal to an independent reading.

The independent readings live in ``tests/formats/real_exports/expected.py`` (plain Python, never our code);
counts, labels, splits and geometry must agree to 0.01 px. Each silent-loss case of issue 14 has its
regression test here.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats import formats
from picsellia_formats.errors import OptionError
from picsellia_formats.model import Annotation, Asset, Dataset
from tests.conftest import FIXTURES, run_cli

FX = FIXTURES / "real_exports"


def _expected():
    path = Path(__file__).resolve().parents[1] / "real_exports" / "expected.py"
    spec = importlib.util.spec_from_file_location("real_exports_expected", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXPECTED = _expected()
LAYOUTS = ["cvat_yolo11", "ultralytics_detect_stray_readme", "yolo_same_name_two_splits", "ultralytics_segment",
           "ultralytics_obb", "ultralytics_pose_kpt3", "ultralytics_pose_kpt2", "ultralytics_classify",
           "yolo_annotations_images", "yolo_train_txt_prefix"]


def _close(a, b) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= 0.01 for x, y in zip(a, b))


def _base(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _compare(ds: Dataset, want: list[dict]) -> None:
    assert len(ds.assets) == len(want)
    got = sorted(ds.assets, key=lambda a: (a.tags[:1], _base(a.file_name)))
    want = sorted(want, key=lambda w: ([w["split"]] if w["split"] else [], w["file"]))
    for asset, w in zip(got, want):
        assert _base(asset.file_name) == w["file"]
        assert asset.tags == ([w["split"]] if w["split"] else [])
        assert (asset.width, asset.height) == tuple(w["size"])
        assert len(asset.annotations) == len(w["objects"]), asset.file_name
        for ann, o in zip(asset.annotations, w["objects"]):
            assert ann.label == o["label"]
            if o["kind"] == "box":
                assert _close(ann.box, o["box"]), (ann.box, o["box"])
            elif o["kind"] == "polygon":
                assert len(ann.polygon) == 1
                assert _close(ann.polygon[0], [v for xy in o["points"] for v in xy])
            elif o["kind"] == "classification":
                assert ann.box is None and ann.polygon is None and ann.keypoints is None
            if "keypoints" in o:
                kps = ann.keypoints
                assert len(kps) == 3 * len(o["keypoints"])
                for k, (x, y, v) in enumerate(o["keypoints"]):
                    assert _close(kps[3 * k:3 * k + 2], [x, y])
                    assert kps[3 * k + 2] == (v if v is not None else 2)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_is_detected_and_reads_like_the_independent_reading(layout: str) -> None:
    assert formats.detect(FX / layout) == "yolo"
    _compare(pf.read(FX / layout), EXPECTED.READINGS[layout]())


def test_cvat_yolo11_through_obj_data_and_with_images(tmp_path: Path) -> None:
    want = EXPECTED.read_cvat_yolo11()
    _compare(pf.read(FX / "cvat_yolo11" / "obj.data"), want)  # pointing at obj.data works
    # --images: the images elsewhere (flat), the labels beside the list in the export
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for p in (FX / "cvat_yolo11" / "obj_train_data").glob("*.jpg"):
        shutil.copy(p, imgs / p.name)
    labels_only = tmp_path / "export"
    shutil.copytree(FX / "cvat_yolo11", labels_only, ignore=shutil.ignore_patterns("*.jpg"))
    _compare(pf.read(labels_only, "yolo", images=imgs), want)
    _compare(pf.read(FX / "cvat_yolo11", "yolo", images=FX / "cvat_yolo11"), want)


def test_cvat_yolo11_written_back_as_yolo_keeps_boxes_and_split(tmp_path: Path) -> None:
    ds = pf.read(FX / "cvat_yolo11")
    pf.write(ds, tmp_path / "y", "yolo", images=FX / "cvat_yolo11")
    _compare(pf.read(tmp_path / "y"), EXPECTED.read_cvat_yolo11())


def test_stray_readme_is_ignored_and_named() -> None:
    report = pf.Report()
    ds = pf.read(FX / "ultralytics_detect_stray_readme", report=report)
    assert len(ds) == 2
    # without data.yaml (a plain images/ + labels/ tree) the README is not taken for a label file either
    report = pf.Report()
    ds = pf.read(FX / "ultralytics_detect_stray_readme" / "labels", "yolo", report=report)
    assert len(ds) == 2


def test_same_name_in_two_splits_stays_two_assets_and_round_trips(tmp_path: Path) -> None:
    """Regression (issue 14): images/train/1.jpg and images/val/1.jpg collapsed into one name and the
    Picsellia JSON written from them could not be read back."""
    report = pf.Report()
    ds = pf.read(FX / "yolo_same_name_two_splits", report=report)
    assert [(a.file_name, a.tags, len(a.annotations)) for a in ds.assets] == [
        ("train/1.jpg", ["train"], 1), ("val/1.jpg", ["val"], 2)]
    assert "file names prefixed with their split folder" in str(report)
    assert [a.file_name for a in pf.read(FX / "yolo_same_name_two_splits").assets] == ["train/1.jpg", "val/1.jpg"]
    pf.write(ds, tmp_path / "p.json", "picsellia")
    back = pf.read(tmp_path / "p.json", "picsellia")
    assert [(a.file_name, a.tags, len(a.annotations)) for a in back.assets] == [
        ("train/1.jpg", ["train"], 1), ("val/1.jpg", ["val"], 2)]
    pf.write(ds, tmp_path / "y", "yolo", images=FX / "yolo_same_name_two_splits")
    again = pf.read(tmp_path / "y")
    assert [(a.file_name, a.tags, len(a.annotations)) for a in again.assets] == [
        (a.file_name, a.tags, len(a.annotations)) for a in ds.assets]


def test_annotations_and_images_folders_are_yolo_not_an_empty_voc() -> None:
    """Regression (issue 14): detected as VOC with 0 of 0 sampled XML files, read as an empty dataset."""
    path = FX / "yolo_annotations_images"
    assert formats.get("voc").detect(path)[0] == 0.0
    assert formats.detect(path) == "yolo"
    ds = pf.read(path)
    assert (len(ds), ds.num_annotations) == (2, 3)


def test_voc_detect_never_says_yes_on_an_empty_sample(tmp_path: Path) -> None:
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    assert formats.get("voc").detect(tmp_path)[0] == 0.0


def test_annotations_and_images_via_the_cli(tmp_path: Path) -> None:
    res = run_cli("convert", FX / "yolo_annotations_images", tmp_path / "o.json", "--to", "coco")
    assert res.code == 0, res.err
    back = pf.read(tmp_path / "o.json")
    assert (len(back), back.num_annotations) == (2, 3)


def test_train_txt_prefix_that_is_not_a_folder_here() -> None:
    ds = pf.read(FX / "yolo_train_txt_prefix" / "data.yaml")
    assert [(a.file_name, a.tags, len(a.annotations)) for a in ds.assets] == [("1.jpg", ["train"], 2)]


def test_classify_round_trips_through_class_folders(tmp_path: Path) -> None:
    ds = pf.read(FX / "ultralytics_classify")
    pf.write(ds, tmp_path / "c", "yolo", images=FX / "ultralytics_classify")
    assert sorted(p.relative_to(tmp_path / "c").as_posix() for p in (tmp_path / "c").rglob("*.JPEG")) == [
        "train/n01440764/a.JPEG", "train/n01443537/b.JPEG", "val/n01440764/c.JPEG", "val/n01443537/d.JPEG"]
    _compare(pf.read(tmp_path / "c"), EXPECTED.read_ultralytics_classify())
    with pytest.raises(OptionError, match="--images"):
        pf.write(ds, tmp_path / "c2", "yolo")
    # from another format: image classes become class folders, one class per image
    other = tmp_path / "c.json"
    pf.write(ds, other, "picsellia")
    report = pf.write(pf.read(other), tmp_path / "c3", "yolo", task="classify", images=FX / "ultralytics_classify")
    assert sorted(p.relative_to(tmp_path / "c3").as_posix() for p in (tmp_path / "c3").rglob("*.JPEG")) == [
        "train/n01440764/a.JPEG", "train/n01443537/b.JPEG", "val/n01440764/c.JPEG", "val/n01443537/d.JPEG"]
    # the Picsellia JSON records carry time_spent (written 0 when unknown), which YOLO has no place for
    assert [e.what for e in report.entries if e.kind != "info"] in ([], ["assets' Picsellia JSON-only fields"]), \
        str(report)


def test_obb_corners_past_the_edge_are_read_and_written_back_exactly(tmp_path: Path) -> None:
    src = FX / "ultralytics_obb"
    ds = pf.read(src)
    assert ds.metadata["yolo"]["task"] == "obb"
    pf.write(ds, tmp_path / "o", "yolo", images=src)
    rows = (tmp_path / "o" / "labels" / "train" / "1.txt").read_text().splitlines()
    assert rows == (src / "labels" / "train" / "1.txt").read_text().splitlines()


def test_obb_from_boxes_and_polygons(tmp_path: Path) -> None:
    ds = Dataset(assets=[Asset("x.jpg", 100, 100, [
        Annotation("a", box=(10, 10, 20, 30)),
        Annotation("a", polygon=[[0, 0, 50, 0, 60, 40, 10, 40, 5, 20]]),
    ])])
    report = pf.write(ds, tmp_path / "o", "yolo", task="obb")
    rows = [r.split() for r in (tmp_path / "o" / "labels" / "x.txt").read_text().splitlines()]
    assert [len(r) for r in rows] == [9, 9]
    assert [float(v) for v in rows[0][1:]] == pytest.approx([0.1, 0.1, 0.3, 0.1, 0.3, 0.4, 0.1, 0.4])
    assert "1 object written as its minimum rotated rectangle" in str(report)


@pytest.mark.parametrize("dims", [2, 3])
def test_pose_keypoints_round_trip_with_kpt_shape(dims: int, tmp_path: Path) -> None:
    src = FX / f"ultralytics_pose_kpt{dims}"
    ds = pf.read(src)
    assert ds.metadata["yolo"]["kpt_shape"] == [3, dims]
    pf.write(ds, tmp_path / "p", "yolo", images=src)
    text = (tmp_path / "p" / "data.yaml").read_text()
    assert f"kpt_shape: [3, {dims}]" in text
    back = pf.read(tmp_path / "p")
    _compare(back, EXPECTED.read_ultralytics_pose(dims))
    row = (tmp_path / "p" / "labels" / "train" / "1.txt").read_text().split()
    assert len(row) == 5 + 3 * dims


def test_pose_rows_without_kpt_shape_are_an_error_not_polygons(tmp_path: Path) -> None:
    """Regression (issue 14): kpt_shape [3, 3] rows (14 values) were refused, [3, 2] rows read as polygons."""
    root = tmp_path / "p"
    shutil.copytree(FX / "ultralytics_pose_kpt2", root)
    assert pf.read(root).assets[0].annotations[0].keypoints is not None
    (root / "data.yaml").write_text((root / "data.yaml").read_text().replace("kpt_shape: [3, 2]", ""))
    ds = pf.read(root)  # 11 values: a legal 5-point polygon when nothing says pose
    assert ds.assets[0].annotations[0].polygon is not None
    with pytest.raises(pf.FormatError, match=r"1\.txt: line 1: 11 values; expected 5 .*YOLO task 'detect'"
                       r".*--yolo-skip-bad-rows"):
        pf.read(root, task="detect")


def test_a_row_the_declared_task_does_not_allow_names_task_file_line_and_flag(tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(FX / "ultralytics_pose_kpt3", root)
    (root / "labels" / "train" / "1.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(pf.FormatError) as err:
        pf.read(root)
    line = err.value.lines()[0]
    assert "labels/train/1.txt: line 1: 5 values; expected 14" in line
    assert "YOLO task 'pose'" in line and "--yolo-skip-bad-rows" in line
    res = run_cli("convert", root, tmp_path / "o.json", "--to", "coco")
    assert res.code == 2 and "YOLO task 'pose'" in res.err + res.out
    res = run_cli("convert", root, tmp_path / "o.json", "--to", "coco", "--yolo-skip-bad-rows")
    assert res.code == 0 and "1 bad row skipped" in res.out


def test_ultralytics_segment_rows_with_exponents_are_read(tmp_path: Path) -> None:
    root = tmp_path / "s"
    shutil.copytree(FX / "ultralytics_segment", root)
    (root / "labels" / "train" / "1.txt").write_text("2 1e-05 0.1 0.4 1E-1 4.0e-1 0.5\n")
    poly = pf.read(root).assets[0].annotations[0].polygon[0]
    w, h = pf.read(root).assets[0].width, pf.read(root).assets[0].height
    assert _close(poly, [1e-05 * w, 0.1 * h, 0.4 * w, 0.1 * h, 0.4 * w, 0.5 * h])
