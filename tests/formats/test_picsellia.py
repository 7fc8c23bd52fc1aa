"""Picsellia JSON: exact round trips, statuses, Q&A, COCO <-> Picsellia, detection, bad input."""

from __future__ import annotations

import copy
import itertools
import json
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import picsellia_formats as pf
from picsellia_formats import masks as masks_module
from picsellia_formats.formats import coco, picsellia
from picsellia_formats.model import QA, Annotation, Asset, Dataset, Label, Mask

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
FULL = ROOT / "tests" / "data" / "picsellia" / "full.json"

COCO_FIXTURES = [
    "picsellia_coco_det/annotations.json",
    "voc_toy_cats/gts_coco_format/toy_example_coco.JSON",
    "sahi_coco/coco_evaluate/dataset.json",
    "sahi_coco/coco_utils/combined_coco.json",
    "sahi_coco/coco_utils/modified_terrain1_coco.json",
    "sahi_coco/coco_utils/modified_terrain2_coco.json",
    "sahi_coco/coco_utils/terrain1_coco.json",
    "sahi_coco/coco_utils/terrain2_coco.json",
    "sahi_coco/coco_utils/terrain3_coco.json",
    "sahi_coco/coco_utils/terrain_all_coco.json",
    "sahi_coco/coco_utils/visdrone2019-det-train-first50image.json",
]
ALL_JSON = sorted(p for p in FIXTURES.rglob("*") if p.suffix.lower() == ".json")


def write_read(ds: Dataset, tmp_path: Path, name: str = "out.json", **options: Any) -> tuple[Dataset, pf.Report]:
    out = tmp_path / name
    report = pf.write(ds, out, "picsellia", overwrite=True, **options)
    return pf.read(out, "picsellia"), without_time_default(report)


TIME_DEFAULT = "time_spent written as 0 (not known)"


def without_time_default(report: pf.Report) -> pf.Report:
    """`report` without the `time_spent` default line (tested on its own: test_time_spent_*)."""
    report._entries = {k: e for k, e in report._entries.items() if e.what != TIME_DEFAULT}
    return report


def uploadable(data: Any) -> Any:
    """`data` as the writer gives it back: every record has the number the SDK uploaders read
    (``time_spent``; 0 where the source had none or null)."""
    data = json.loads(json.dumps(data))
    images = data.get("images") if isinstance(data, dict) else None
    url_of = {im.get("internal_picture_id"): im.get("external_picture_url")
              for im in images if isinstance(im, dict)} if isinstance(images, list) else {}
    for rec in data.get("annotations", []) if isinstance(data, dict) else []:
        if isinstance(rec, dict) and "external_picture_url" not in rec and rec.get("internal_picture_id") in url_of:
            # every uploader looks the picture up by it: written always (see test_picsellia_uploaders.py)
            rec["external_picture_url"] = url_of[rec["internal_picture_id"]]
        if isinstance(rec, dict) and rec.get("time_spent") is None:
            rec["time_spent"] = rec.get("duration") if isinstance(rec.get("duration"), (int, float)) else 0
        if isinstance(rec, dict) and rec.get("nb_labels") is None and isinstance(rec.get("annotations"), list):
            rec["nb_labels"] = sum(1 for s in rec["annotations"] if not isinstance(s, dict) or "part" not in s
                                   or s["part"] == 0) if "nb_labels" not in rec else None
    return data


def load(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def dump(tmp_path: Path, data: Any, name: str = "in.json") -> Path:
    path = tmp_path / name
    path.write_bytes(json.dumps(data, ensure_ascii=False).encode())
    return path


# ---------------------------------------------------------------------------------- exact round trip


def test_full_file_round_trips_exactly(tmp_path: Path) -> None:
    report = pf.Report()
    ds = pf.read(FULL, report=report)
    out = tmp_path / "out.json"
    write_report = pf.write(ds, out, "picsellia")
    expected = load(FULL)
    unknown = [rec for rec in expected["annotations"] if rec.get("time_spent") is None]
    for rec in unknown:  # the SDK uploaders need a number (see test_time_spent_...)
        rec["time_spent"] = 0
    assert load(out) == expected
    assert [(e.kind, e.what, e.count) for e in write_report.entries] == [
        ("changed", "time_spent written as 0 (not known)", len(unknown))]
    again = tmp_path / "again.json"
    pf.write(pf.read(out), again, "picsellia")
    assert again.read_bytes() == out.read_bytes()
    # same input, same bytes
    pf.write(pf.read(FULL), tmp_path / "third.json", "picsellia")
    assert (tmp_path / "third.json").read_bytes() == out.read_bytes()


def test_full_file_content() -> None:
    ds = pf.read(FULL)
    assert [a.file_name for a in ds.assets][2] == "sub/dir/ñandú 3.png"
    assert [a.status for a in ds.assets] == ["ACCEPTED", "REFUSED", "SKIPPED", "PENDING", "ACCEPTED", None]
    kinds = {ann.kind for _, ann in ds.annotations()}
    assert kinds == {"box", "polygon", "classification", "line", "point", "mask", "keypoints"}
    first = ds.assets[0]
    assert first.tags == ["train", "night"] and (first.width, first.height) == (640, 480)
    assert [q.kind for q in first.qa] == ["text", "mc", "select", "range"]
    object_qa = first.annotations[2].qa
    assert [q.kind for q in object_qa] == ["text", "mc", "select", "range"]
    assert object_qa[1].answer == ["red"] and object_qa[3].extra == {"unit": "cm"}
    multi = first.annotations[3]
    assert multi.id == 7 and len(multi.polygon) == 2 and multi.attributes == {"pose": "walking"}
    assert first.annotations[1].box == (0.5, 10.25, 99.75, 0) and first.annotations[1].score == 0.87
    assert first.annotations[4].box == (1, 1, 8, 8)  # a stated box beside a polygon
    mask = ds.assets[1].annotations[0]
    assert mask.mask == Mask(20, 30, "l35?000000000000000X9") and mask.iscrowd == 1 and mask.area == 45
    assert ds.assets[1].annotations[2].keypoints == [10, 20, 2, 0, 0, 0, 15.5, 22, 1]
    assert ds.assets[0].extra["picsellia"]["time_spent"] == 12.5
    assert ds.label_names[-1] == "unused label" and ds.labels[4].group == "time of day"
    assert ds.metadata["picsellia"]["top"] == {"project": {"name": "streets", "export_version": 2}}


def test_modified_dataset_writes_the_model_not_stale_copies(tmp_path: Path) -> None:
    ds = pf.read(FULL)
    rect = ds.assets[0].annotations[1]  # its rectangle object had an unknown key, kept as read
    rect.box = (1.0, 2.0, 3.0, 4.0)
    ds.assets[4].status = "REFUSED"  # its flags were a non-standard combination
    back, _ = write_read(ds, tmp_path)
    assert back.assets[0].annotations[1].box == (1.0, 2.0, 3.0, 4.0)
    record = load(tmp_path / "out.json")["annotations"][4]
    assert {k: record[k] for k in picsellia.FLAG_KEYS} == picsellia.flags_of_status("REFUSED")
    assert back.assets[4].status == "REFUSED"


# ------------------------------------------------------------------------------------------ statuses


@pytest.mark.parametrize("status", ["PENDING", "SKIPPED", "ACCEPTED", "REFUSED", None])
def test_status_round_trip(tmp_path: Path, status: str | None) -> None:
    ds = Dataset(assets=[Asset("a.jpg", 10, 10, [Annotation("cat", box=(1, 2, 3, 4))], status=status)])
    back, report = write_read(ds, tmp_path)
    assert back.assets[0].status == status
    record = load(tmp_path / "out.json")["annotations"][0]
    flags = {k: record[k] for k in picsellia.FLAG_KEYS if k in record}
    assert flags == (picsellia.flags_of_status(status) if status else {})
    assert not report.lossy


_FLAG_VALUES = (True, False, None, "absent")


@pytest.mark.parametrize("values", list(itertools.product(_FLAG_VALUES, repeat=3)))
def test_every_flag_combination_round_trips_exactly(tmp_path: Path, values: tuple[Any, ...]) -> None:
    record: dict[str, Any] = {"external_picture_url": "a.jpg", "annotations": []}
    for key, value in zip(picsellia.FLAG_KEYS, values):
        if value != "absent":
            record[key] = value
    data = {"images": [{"external_picture_url": "a.jpg"}], "annotations": [record], "categories": []}
    ds = pf.read(dump(tmp_path, data))
    flags = {k: v for k, v in zip(picsellia.FLAG_KEYS, values) if v != "absent"}
    assert ds.assets[0].status == picsellia.status_from_flags(flags)
    pf.write(ds, tmp_path / "out.json", "picsellia")
    assert load(tmp_path / "out.json") == uploadable(data)


def test_status_mapping_is_a_bijection_on_the_four_statuses() -> None:
    seen = set()
    for status in ("PENDING", "SKIPPED", "ACCEPTED", "REFUSED"):
        flags = picsellia.flags_of_status(status)
        assert picsellia.status_from_flags(flags) == status
        seen.add(tuple(flags.values()))
    assert len(seen) == 4


# ----------------------------------------------------------------------------------------------- Q&A

QAS = [
    QA("text", "What color?", "red"),
    QA("text", "Comment", ""),
    QA("mc", "Colors", ["red", "blue"], choices=["red", "blue", "green"]),
    QA("mc", "Colors", [], choices=["red"]),
    QA("select", "Raining?", "no", choices=["yes", "no"]),
    QA("range", "Size", 68, min=0, max=100),
    QA("range", "Score", 0.25, min=-1.5, max=1.5),
    QA("range", "Unanswered", None, min=0, max=10, extra={"step": 1}),
]


@pytest.mark.parametrize("qa", QAS, ids=lambda q: f"{q.kind}-{q.question}")
@pytest.mark.parametrize("level", ["object", "image"])
def test_qa_round_trip(tmp_path: Path, qa: QA, level: str) -> None:
    ann = Annotation("cat", polygon=[[0, 0, 4, 0, 4, 4]])
    asset = Asset("a.jpg", 8, 8, [ann])
    if level == "object":
        ann.qa = [qa]
    else:
        asset.qa = [qa]
    back, report = write_read(Dataset(assets=[asset]), tmp_path)
    got = back.assets[0].annotations[0].qa if level == "object" else back.assets[0].qa
    assert list(got) == [qa]
    assert not report


# ------------------------------------------------------------------------------------- shape details


def test_multi_part_polygon_is_one_object(tmp_path: Path) -> None:
    parts = [[0, 0, 10, 0, 10, 10], [20, 20, 30, 20, 30, 30, 20, 30], [40.5, 40, 50, 40, 50, 50]]
    ann = Annotation("cat", polygon=parts, id=11, qa=[QA("text", "q", "a")])
    ds = Dataset([Label("cat")], [Asset("a.jpg", 64, 64, [ann])])
    back, report = write_read(ds, tmp_path)
    assert back.assets[0].annotations == [ann]
    shapes = load(tmp_path / "out.json")["annotations"][0]["annotations"]
    assert [s.get("part") for s in shapes] == [0, 1, 2]
    assert [s["id"] for s in shapes] == [11, 11, 11]
    assert load(tmp_path / "out.json")["annotations"][0]["nb_labels"] == 3
    assert not report.lossy


def test_platform_only_splits_parts_and_counts_extensions(tmp_path: Path) -> None:
    ann = Annotation("cat", box=(0, 0, 30, 30), polygon=[[0, 0, 10, 0, 10, 10], [20, 20, 30, 20, 30, 30]],
                     id=3, score=0.5, area=12.0)
    kp = Annotation("person", keypoints=[1, 2, 2])
    ds = Dataset(assets=[Asset("a.jpg", 64, 64, [ann, kp])])
    back, report = write_read(ds, tmp_path, platform_only=True)
    shapes = load(tmp_path / "out.json")["annotations"][0]["annotations"]
    assert [s["type"] for s in shapes] == ["polygon", "polygon"]
    assert all(set(s) <= {"type", "label", "polygon", "qa"} for s in shapes)
    assert [a.polygon for a in back.assets[0].annotations] == [[p] for p in ann.polygon]
    assert report.count("approximated", "multi-part polygons written as one polygon per part") == 1
    assert report.count("dropped", "keypoint objects") == 1
    assert report.count("dropped", "scores") == 1 and report.count("dropped", "object ids") == 1
    assert report.lossy


def test_masks_kept_as_rle_by_default(tmp_path: Path) -> None:
    ann = Annotation("road", box=(6, 4, 9, 5), mask=Mask(20, 30, "l35?000000000000000X9"))
    back, report = write_read(Dataset(assets=[Asset("a.jpg", 30, 20, [ann])]), tmp_path)
    assert back.assets[0].annotations == [ann] and not report


def test_masks_as_boxes(tmp_path: Path) -> None:
    ann = Annotation("road", mask=Mask(20, 30, "l35?000000000000000X9"))
    back, report = write_read(Dataset(assets=[Asset("a.jpg", 30, 20, [ann])]), tmp_path, masks="box")
    assert back.assets[0].annotations[0].box == (6.0, 4.0, 9.0, 5.0)
    assert report.count("approximated", "masks written as boxes") == 1


def test_masks_as_polygons_with_a_tracer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(masks_module, "mask_to_polygons", lambda m: [[6, 4, 15, 4, 15, 9, 6, 9]], raising=False)
    ann = Annotation("road", mask=Mask(20, 30, "l35?000000000000000X9"))
    back, report = write_read(Dataset(assets=[Asset("a.jpg", 30, 20, [ann])]), tmp_path, masks="polygon")
    assert back.assets[0].annotations[0].polygon == [[6, 4, 15, 4, 15, 9, 6, 9]]
    assert report.count("approximated", "masks written as polygons") == 1


def test_masks_as_polygons_without_a_tracer_fall_back_to_boxes(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(masks_module, "mask_to_polygons", raising=False)
    ann = Annotation("road", mask=Mask(20, 30, "l35?000000000000000X9"))
    back, report = write_read(Dataset(assets=[Asset("a.jpg", 30, 20, [ann])]), tmp_path, masks="polygon")
    assert back.assets[0].annotations[0].box == (6.0, 4.0, 9.0, 5.0)
    assert report.count("approximated", "masks written as boxes") == 1


@pytest.mark.parametrize(
    ("ann", "what"),
    [
        (Annotation("a", polygon=[[0, 0, 1, 1]]), "polygon parts with fewer than 3 points"),
        (Annotation("a", line=[5, 5]), "lines with fewer than 2 points"),
    ],
)
def test_degenerate_geometry_is_reported_and_output_stays_readable(tmp_path: Path, ann: Annotation,
                                                                   what: str) -> None:
    back, report = write_read(Dataset(assets=[Asset("a.jpg", 8, 8, [ann])]), tmp_path)
    assert report.count("dropped", what) == 1
    assert len(back.assets[0].annotations) == 1


def test_empty_dataset_and_empty_images(tmp_path: Path) -> None:
    back, report = write_read(Dataset(), tmp_path)
    assert len(back) == 0 and not report
    ds = Dataset([Label("cat")], [Asset("empty.jpg", 5, 5), Asset("b.jpg", 5, 5, [Annotation("cat")])])
    back, report = write_read(ds, tmp_path)
    assert [a.file_name for a in back.assets] == ["empty.jpg", "b.jpg"]
    assert back.assets[0].annotations == [] and back.assets[1].annotations[0].kind == "classification"
    assert not report


def test_file_without_images_or_categories_round_trips(tmp_path: Path) -> None:
    data = {"annotations": [
        {"external_picture_url": "a.jpg", "nb_labels": 1,
         "annotations": [{"type": "rectangle", "label": "car", "rectangle": {"top": 1, "left": 2, "width": 3,
                                                                             "height": 4}}]},
        {"internal_picture_id": "u2", "external_picture_url": "b.jpg", "nb_labels": 0, "annotations": []},
    ]}
    path = dump(tmp_path, data)
    assert pf.detect(path) == "picsellia"
    ds = pf.read(path)
    assert [a.file_name for a in ds.assets] == ["a.jpg", "b.jpg"] and ds.label_names == ["car"]
    pf.write(ds, tmp_path / "out.json", "picsellia")
    assert load(tmp_path / "out.json") == uploadable(data)


def test_sizes_from_the_images_folder(tmp_path: Path) -> None:
    data = {"images": [{"external_picture_url": "2007_000549.jpg"}, {"external_picture_url": "missing.jpg"}],
            "annotations": [], "categories": []}
    report = pf.Report()
    ds = pf.read(dump(tmp_path, data), images=FIXTURES / "voc_toy_cats" / "images", report=report)
    coco_ds = pf.read(FIXTURES / "voc_toy_cats/gts_coco_format/toy_example_coco.JSON")
    expected = next(a for a in coco_ds.assets if a.file_name == "2007_000549.jpg")
    assert (ds.assets[0].width, ds.assets[0].height) == (expected.width, expected.height)
    assert ds.assets[1].width is None and report.count("info", "pictures without a size") == 1


# ------------------------------------------------------------------------------------- COCO <-> Picsellia


def _geometry(ds: Dataset) -> list[tuple[str, list[tuple[Any, ...]]]]:
    return [(a.file_name, [(ann.label, ann.box, ann.polygon, ann.mask, ann.score, ann.iscrowd, ann.area, ann.id)
                           for ann in a.annotations]) for a in ds.assets]


@pytest.mark.parametrize("rel", COCO_FIXTURES)
def test_coco_to_picsellia_keeps_every_box_and_polygon(tmp_path: Path, rel: str) -> None:
    src = FIXTURES / rel
    ds = pf.read(src)
    back, report = write_read(ds, tmp_path)
    assert not report.lossy or all(e.what.endswith("-only fields") or "dataset fields" in e.what
                                   for e in report.entries if e.kind == "dropped")
    assert _geometry(back) == _geometry(ds)
    assert back.label_names == ds.label_names
    assert [(a.id, a.width, a.height) for a in back.assets] == [(a.id, a.width, a.height) for a in ds.assets]
    # and back to COCO: the same annotations as COCO -> COCO, category ids aside
    pf.write(back, tmp_path / "back.json", "coco")
    pf.write(ds, tmp_path / "direct.json", "coco")
    names_back = {c["id"]: c["name"] for c in load(tmp_path / "back.json")["categories"]}
    names_direct = {c["id"]: c["name"] for c in load(tmp_path / "direct.json")["categories"]}
    keys = ("id", "image_id", "bbox", "segmentation", "area", "iscrowd", "score")
    got = [({k: a.get(k) for k in keys}, names_back[a["category_id"]])
           for a in load(tmp_path / "back.json")["annotations"]]
    want = [({k: a.get(k) for k in keys}, names_direct[a["category_id"]])
            for a in load(tmp_path / "direct.json")["annotations"]]
    assert got == want
    assert pf.detect(tmp_path / "out.json") == "picsellia"


def test_coco_results_masks_survive(tmp_path: Path) -> None:
    ds = pf.read(FIXTURES / "cocoapi_results/instances_val2014_fakesegm100_results.json")
    back, _ = write_read(ds, tmp_path)
    assert [ann.mask for _, ann in back.annotations()] == [ann.mask for _, ann in ds.annotations()]


def test_picsellia_to_coco_reports_what_coco_cannot_hold(tmp_path: Path) -> None:
    report = pf.convert(FULL, tmp_path / "coco.json", "coco")
    assert report.count("dropped", "image Q&A answers") == 4
    assert report.count("dropped", "asset statuses") == 5
    assert report.count("dropped", "lines") == 1 and report.count("dropped", "points") == 2


# ------------------------------------------------------------------------------------------ detection


@pytest.mark.parametrize("path", ALL_JSON, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_bundled_json_fixtures_are_not_picsellia(path: Path) -> None:
    confidence, _ = picsellia.detect(path)
    assert confidence == 0
    if coco.detect(path)[0] > 0:
        assert pf.detect(path) == "coco"


def test_written_files_are_picsellia_and_not_coco(tmp_path: Path) -> None:
    pf.write(pf.read(FIXTURES / COCO_FIXTURES[0]), tmp_path / "p.json", "picsellia")
    for path in (FULL, tmp_path / "p.json"):
        assert pf.detect(path) == "picsellia"
        assert coco.detect(path)[0] == 0
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "export.json").write_bytes(FULL.read_bytes())
    assert pf.detect(folder) == "picsellia" and len(pf.read(folder)) == 6


# ------------------------------------------------------------------------------------------- bad input


def _full() -> dict[str, Any]:
    return load(FULL)


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def mutate(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return mutate


_DELETE = object()
A0 = ("annotations", 0, "annotations")

BAD = [
    ("images-not-list", _set(("images",), {}), "images: must be a list"),
    ("image-no-url", _set(("images", 1, "external_picture_url"), _DELETE), "image[1]"),
    ("image-width-str", _set(("images", 0, "width"), "640"), "width must be a non-negative number"),
    ("duplicate-id", _set(("images", 1, "internal_picture_id"), "0b7c8e1a-0001-4c1e-9a53-6f1d2f0c0001"),
     "duplicate internal_picture_id"),
    ("tags-not-list", _set(("images", 0, "tags"), "train"), "tags must be a list of strings"),
    ("rect-missing-key", _set((*A0, 0, "rectangle", "height"), _DELETE), "rectangle lacks 'height'"),
    ("rect-str", _set((*A0, 0, "rectangle", "width"), "50"), "rectangle.width must be a finite number"),
    ("rect-negative", _set((*A0, 0, "rectangle", "width"), -1), "negative size"),
    ("rect-object-missing", _set((*A0, 0, "rectangle"), _DELETE), "lacks its 'rectangle' object"),
    ("polygon-2-points", _set((*A0, 2, "polygon", "geometry"), [{"x": 1, "y": 1}, {"x": 2, "y": 2}]),
     "polygon needs at least 3 points"),
    ("polygon-x-str", _set((*A0, 2, "polygon", "geometry", 1, "x"), "178"), "geometry[1].x must be a finite"),
    ("polygon-y-bool", _set((*A0, 2, "polygon", "geometry", 2, "y"), True), "geometry[2].y must be a finite"),
    ("polygon-point-list", _set((*A0, 2, "polygon", "geometry", 0), [1, 2]), "geometry[0] must be an object"),
    ("qa-unknown-type", _set((*A0, 2, "qa", 0, "type"), "slider"), "Q&A type 'slider' is not one of"),
    ("qa-mc-str", _set((*A0, 2, "qa", 1, "answer"), "red"), "a mc answer must be a list"),
    ("qa-range-str", _set((*A0, 2, "qa", 3, "answer"), "68"), "a range answer must be a finite number"),
    ("qa-no-question", _set((*A0, 2, "qa", 0, "question"), _DELETE), "question must be a string"),
    ("image-qa-unknown-type", _set(("annotations", 0, "image_qa", 2, "type"), "radio"), "image_qa[2]"),
    ("unknown-image-id", _set(("annotations", 1, "internal_picture_id"), "nope"), "is not among the images"),
    ("unknown-image-url", _set(("annotations", 1), {"external_picture_url": "x.jpg", "annotations": []}),
     "external_picture_url 'x.jpg' is not among the images"),
    ("url-disagrees", _set(("annotations", 1, "external_picture_url"), "street_001.jpg"), "disagrees"),
    ("second-record", _set(("annotations", 1), {"internal_picture_id": "0b7c8e1a-0001-4c1e-9a53-6f1d2f0c0001",
                                                 "annotations": []}), "second annotation record"),
    ("unknown-shape-type", _set((*A0, 0, "type"), "circle"), "shape type 'circle' is not one of"),
    ("label-not-str", _set((*A0, 0, "label"), 3), "label must be a string"),
    ("flag-not-bool", _set(("annotations", 0, "is_accepted"), "yes"), "is_accepted must be true or false"),
    ("nb-labels-negative", _set(("annotations", 0, "nb_labels"), -1), "nb_labels must be a non-negative"),
    ("shapes-not-list", _set(("annotations", 0, "annotations"), None), "annotations must be a list of shapes"),
    ("orphan-part", _set((*A0, 2, "part"), 1), "part 1 does not follow part 0"),
    ("part-id-differs", _set((*A0, 4, "id"), 8), "part 1 has id 8, its object 7"),
    ("part-without-part-0", _set((*A0, 3, "part"), _DELETE), "part 1 does not follow part 0"),
    ("part-qa-differs", _set((*A0, 4, "qa"), _DELETE), "part 1 must carry qa exactly when part 0 does"),
    ("part-on-rectangle", _set((*A0, 0, "part"), 0), "part must be a non-negative integer on a polygon"),
    ("part-label-differs", _set((*A0, 4, "label"), "car"), "part 1 has label 'car'"),
    ("mask-bad-sum", _set(("annotations", 1, "annotations", 1, "mask", "counts"), [5, 10]),
     "mask: RLE counts cover 15 pixels"),
    ("keypoint-no-v", _set(("annotations", 1, "annotations", 2, "keypoints", "geometry", 0, "v"), _DELETE),
     "keypoints.geometry[0] must be an object with x, y and v"),
    ("category-no-name", _set(("categories", 0, "name"), None), "category[0]: name must be a string"),
    ("time-spent-str", _set(("annotations", 0, "time_spent"), "12s"), "time_spent must be a finite number"),
]


@pytest.mark.parametrize(("case", "mutate", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_and_record(tmp_path: Path, case: str, mutate: Any, message: str) -> None:
    data = _full()
    mutate(data)
    path = dump(tmp_path, data)
    with pytest.raises(pf.FormatError) as info:
        pf.read(path, "picsellia")
    text = str(info.value)
    assert message in text
    assert str(path) in text
    if case.startswith(("rect", "polygon", "qa-", "unknown-shape", "label")):
        assert "annotations[0] (street_001.jpg): annotations[" in text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty file"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"categories": []}', "no 'images' or 'annotations' list"),
        (b'{"images": [{"external_picture_url": "a.jpg"}], "annotations": [{"external_picture_url": "a.jpg", '
         b'"annotations": [{"type": "point", "label": "p", "point": {"x": NaN, "y": 1}}]}]}',
         "point.x must be a finite number, got nan"),
        (b'{"images": [{"external_picture_url": "a.jpg"}], "annotations": [{"external_picture_url": "a.jpg", '
         b'"annotations": [{"type": "rectangle", "label": "p", "rectangle": {"top": Infinity, "left": 0, '
         b'"width": 1, "height": 1}}]}]}', "rectangle.top must be a finite number"),
    ],
)
def test_bad_files(tmp_path: Path, raw: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(raw)
    with pytest.raises(pf.FormatError, match=r"bad\.json") as info:
        picsellia.read(path)
    assert message in str(info.value)


def test_problems_are_collected_not_one_per_run(tmp_path: Path) -> None:
    data = _full()
    data["annotations"][0]["annotations"][0]["rectangle"].pop("top")
    data["annotations"][1]["annotations"][0]["type"] = "blob"
    with pytest.raises(pf.FormatError) as info:
        pf.read(dump(tmp_path, data))
    assert len(info.value.problems) == 2


# ------------------------------------------------------------------------------- mutated files (fuzz)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


_BASE = load(FULL)
_PATHS = [p for p in _paths(_BASE) if p]
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5), st.sampled_from(["rectangle", "polygon", "mc", "range", "PENDING", "", "x"]),
    st.lists(st.integers(-2, 5), max_size=3), st.dictionaries(st.sampled_from(["x", "y", "top", "type"]),
                                                              st.integers(-2, 5), max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(_PATHS), st.one_of(st.just(_DELETE), _VALUES)),
                      min_size=1, max_size=4))
def test_mutated_files_read_or_raise_format_error(tmp_path: Path, edits: list[tuple[Any, Any]]) -> None:
    data = copy.deepcopy(_BASE)
    for path, value in edits:
        target = data
        try:
            for key in path[:-1]:
                target = target[key]
            if value is _DELETE:
                del target[path[-1]]
            else:
                target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    raw = json.dumps(data, allow_nan=True).encode()
    path = tmp_path / "fuzz.json"
    path.write_bytes(raw)
    try:
        ds = picsellia.read(path)
    except pf.FormatError:
        return
    # what reads, writes; and what it writes reads back to the same bytes
    first = tmp_path / "first.json"
    second = tmp_path / "second.json"
    picsellia.write(ds, first)
    picsellia.write(picsellia.read(first), second)
    assert first.read_bytes() == second.read_bytes()
    if not any(isinstance(v, float) and not math.isfinite(v) for _, v in edits):
        # records are written as the old uploaders require them (time_spent, nb_labels, external_picture_url
        # always present and consistent): a mutation of those keys is normalised on purpose
        normalised = any(p[0] == "annotations" and p[-1] in _RECORD_KEYS for p, _ in edits)
        assert load(first) == uploadable(orjson.loads(raw)) or _changed_on_purpose(data) or normalised


_RECORD_KEYS = frozenset({"time_spent", "duration", "nb_labels", "external_picture_url", "internal_picture_id"})


def _changed_on_purpose(data: dict[str, Any]) -> bool:
    """Inputs the reader normalises (and reports): undeclared labels, merged duplicate categories."""
    cats = data.get("categories")
    names = [c.get("name") for c in cats] if isinstance(cats, list) else []
    used = {s.get("label") for r in data.get("annotations", []) for s in r.get("annotations", [])}
    # every written annotation record names its picture (the old uploaders require external_picture_url)
    unnamed = any(isinstance(r, dict) and r.get("external_picture_url") is None for r in data.get("annotations", []))
    return len(set(names)) != len(names) or not used <= set(names) or "categories" not in data or unnamed


def test_reference_doc_example_round_trips(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "reference" / "picsellia-json.md").read_text(encoding="utf-8")
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.json"
    path.write_text(example, encoding="utf-8")
    assert pf.detect(path) == "picsellia"
    ds = pf.read(path)
    assert [a.status for a in ds.assets] == ["ACCEPTED", "REFUSED", "ACCEPTED", None]
    assert len(ds.assets[0].annotations) == 7 and len(ds.assets[0].annotations[3].polygon) == 2
    assert len(ds.assets[0].qa) == 4
    pf.write(ds, tmp_path / "out.json", "picsellia")
    assert load(tmp_path / "out.json") == uploadable(json.loads(example))


def test_integers_beyond_64_bits_are_refused_naming_file_and_record(tmp_path: Path) -> None:
    # issue 19 item 14: orjson read them as floats (10**20 -> 1e20), silently; now each is named
    data = {"images": [{"external_picture_url": "a.jpg", "width": 10**20, "height": 5}],
            "annotations": [{"external_picture_url": "a.jpg", "annotations": [
                {"type": "polygon", "label": "x", "polygon": {"geometry": [
                    {"x": 0, "y": 0}, {"x": 10**20, "y": 0}, {"x": 0, "y": -(10**20)}]}}]}],
            "categories": [{"name": "x"}]}
    path = dump(tmp_path, data)
    with pytest.raises(pf.FormatError) as err:
        pf.read(path)
    lines = err.value.lines()
    assert len(lines) == 3 and all(line.startswith(f"{path}: ") for line in lines)
    assert any("images[0].width: integer 100000000000... (21 digits) is outside 64 bits" in line
               for line in lines)
    assert any("annotations[0].annotations[0].polygon.geometry[2].y" in line for line in lines)


def test_masks_as_polygons_with_the_real_tracer_rasterise_back_exactly(tmp_path: Path) -> None:
    ds = pf.read(FIXTURES / "cocoapi_results/instances_val2014_fakesegm100_results.json")
    ds.assets = ds.assets[:5]
    n = ds.num_annotations
    back, report = write_read(ds, tmp_path, masks="polygon")
    assert report.count("approximated", "masks written as polygons") == n
    for (_, before), (_, after) in zip(ds.annotations(), back.annotations()):
        assert after.kind == "polygon" and after.box == before.box
        mask = before.mask
        redrawn = masks_module.polygon_to_rle(after.polygon, mask.height, mask.width)
        assert redrawn.counts == mask.counts  # the traced outline draws exactly the same pixels


def test_objects_added_to_a_read_file_follow_the_default_style(tmp_path: Path) -> None:
    data = {"images": [{"external_picture_url": "a.jpg"}], "annotations": [], "categories": []}
    ds = pf.read(dump(tmp_path, data))
    ds.assets[0].annotations.append(Annotation("cat", polygon=[[0, 0, 4, 0, 4, 4]]))
    pf.write(ds, tmp_path / "out.json", "picsellia")
    record = load(tmp_path / "out.json")["annotations"][0]
    assert record["nb_labels"] == 1 and record["annotations"][0]["qa"] == []
    assert pf.read(tmp_path / "out.json").assets[0].annotations == ds.assets[0].annotations


_RAW = FULL.read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(_RAW)), flips=st.lists(st.tuples(st.integers(0, len(_RAW) - 1),
                                                              st.integers(0, 255)), max_size=3))
def test_damaged_bytes_read_or_raise_format_error(tmp_path: Path, cut: int, flips: list[tuple[int, int]]) -> None:
    raw = bytearray(_RAW)
    for at, value in flips:
        raw[at] = value
    path = tmp_path / "damaged.json"
    path.write_bytes(bytes(raw[:cut] if cut < len(raw) // 2 else raw))
    try:
        ds = picsellia.read(path)
    except pf.FormatError:
        return
    picsellia.write(ds, tmp_path / "out.json")
    assert len(picsellia.read(tmp_path / "out.json")) == len(ds)


def test_a_picsellia_file_to_coco_reports_only_fields_that_are_really_lost(tmp_path: Path) -> None:
    voc = pf.read(FIXTURES / "voc_toy_cats/gts_vocpascal_format")
    pf.write(voc, tmp_path / "p.json", "picsellia")
    report = pf.write(pf.read(tmp_path / "p.json", "picsellia"), tmp_path / "c.json", "coco")
    assert "record" not in str(report) and "PICSELLIA" not in str(report)
    ds = pf.read(tmp_path / "p.json")
    ds.assets[0].extra = {"picsellia": {"record": {"reviewer": "ann"}}}
    report = pf.write(ds, tmp_path / "c2.json", "coco")
    # every record now states time_spent (written 0 when unknown): COCO has no place for it either
    assert "assets' Picsellia JSON-only fields dropped (COCO has no place for record, time_spent)" in str(report)
