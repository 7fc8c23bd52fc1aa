"""COCO reader and writer: lossless round trips checked with pycocotools, results lists, bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import orjson
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

import picsellia_formats as pf
from picsellia_formats.formats import coco
from picsellia_formats.model import QA, Annotation, Asset, Dataset, Label, Mask
from tests.conftest import COCO_INSTANCE_FILES, COCO_RESULT_FILES, FIXTURES


def _load(path: Path):
    return json.loads(path.read_bytes())


def _roundtrip(src: Path, tmp_path: Path, **write_options) -> tuple[dict, dict, pf.Report]:
    report = pf.Report()
    ds = pf.read(src, "coco", report=report)
    out = tmp_path / "out.json"
    pf.write(ds, out, "coco", report=report, overwrite=True, **write_options)
    return _load(src), _load(out), report


def _quiet_coco(path: Path) -> COCO:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


@pytest.mark.parametrize("src", COCO_INSTANCE_FILES, ids=lambda p: p.name)
def test_roundtrip_keeps_every_image_annotation_category_and_segmentation(src: Path, tmp_path: Path) -> None:
    before, after, _ = _roundtrip(src, tmp_path)
    assert [im for im in after["images"]] == before["images"]  # ids, names, sizes and extra keys
    assert after["categories"] == before["categories"]  # ids (0 too), names, supercategory (null too)
    by_id = {a["id"]: a for a in after["annotations"]}
    assert sorted(by_id) == sorted(a["id"] for a in before["annotations"])
    for a in before["annotations"]:
        b = by_id[a["id"]]
        for key, value in a.items():
            if key != "area":
                assert b[key] == value, (src.name, a["id"], key)
    for key in ("info", "licenses"):
        assert after.get(key) == before.get(key)


@pytest.mark.parametrize("src", COCO_INSTANCE_FILES, ids=lambda p: p.name)
def test_pycocotools_loads_our_output_and_masks_are_identical(src: Path, tmp_path: Path) -> None:
    _, _, _ = _roundtrip(src, tmp_path)
    ours = _quiet_coco(tmp_path / "out.json")
    theirs = _quiet_coco(src)
    assert sorted(ours.getImgIds()) == sorted(theirs.getImgIds())
    assert sorted(ours.getCatIds()) == sorted(theirs.getCatIds())
    assert sorted(ours.getAnnIds()) == sorted(theirs.getAnnIds())
    compared = 0
    for ann_id in theirs.getAnnIds():
        a, b = theirs.anns[ann_id], ours.anns[ann_id]
        assert b["bbox"] == a["bbox"]
        if a.get("segmentation"):
            assert np.array_equal(ours.annToMask(b), theirs.annToMask(a)), ann_id
            compared += 1
    if any(a.get("segmentation") for a in theirs.anns.values()):
        assert compared


def test_area_is_recomputed_when_the_source_is_wrong_and_kept_when_consistent(tmp_path: Path) -> None:
    # sahi's terrain files state the whole image area for every object
    before, after, report = _roundtrip(FIXTURES / "sahi_coco/coco_utils/terrain_all_coco.json", tmp_path)
    assert report.count("changed", "annotation areas recomputed") == len(before["annotations"])
    for a in after["annotations"]:
        _, _, w, h = a["bbox"]
        assert a["area"] == pytest.approx(w * h, rel=1e-6)  # 4-point rectangle polygons
    # the Picsellia export's areas are right: kept as they were (floats stay floats)
    before, after, report = _roundtrip(FIXTURES / "picsellia_coco_det/annotations.json", tmp_path)
    area_of = {a["id"]: a["area"] for a in after["annotations"]}
    assert {a["id"]: a["area"] for a in before["annotations"]} == area_of
    assert not report


@pytest.mark.parametrize("src", COCO_RESULT_FILES, ids=lambda p: p.name)
def test_results_lists_round_trip_exactly(src: Path, tmp_path: Path) -> None:
    before, after, report = _roundtrip(src, tmp_path)
    key = lambda r: (r["image_id"], r["category_id"], r["score"])  # noqa: E731
    assert sorted(after, key=key) == sorted(before, key=key)
    assert report.count("info") > 0  # says that images and categories were made from ids


def test_compressed_rle_comes_back_byte_identical_and_decodes_like_pycocotools(tmp_path: Path) -> None:
    src = FIXTURES / "cocoapi_results/instances_val2014_fakesegm100_results.json"
    before, after, _ = _roundtrip(src, tmp_path)
    assert len(before) == len(after) == 734
    for a, b in zip(before, after):
        assert b["segmentation"]["counts"] == a["segmentation"]["counts"]
        ra = {"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"].encode()}
        rb = {"size": b["segmentation"]["size"], "counts": b["segmentation"]["counts"].encode()}
        assert np.array_equal(mask_utils.decode(ra), mask_utils.decode(rb))


def test_results_with_ground_truth_take_names_and_sizes(tmp_path: Path) -> None:
    gt = FIXTURES / "sahi_coco/coco_evaluate/dataset.json"
    dets = FIXTURES / "sahi_coco/coco_evaluate/result.json"
    ds = pf.read(dets, "coco", ground_truth=gt)
    gt_ds = pf.read(gt)
    assert [a.file_name for a in ds.assets] == [a.file_name for a in gt_ds.assets]
    assert ds.num_annotations == len(_load(dets))
    assert all(ann.score is not None for _, ann in ds.annotations())
    out = tmp_path / "dets.json"
    pf.write(ds, out, "coco")
    key = lambda r: (r["image_id"], r["category_id"], r["score"])  # noqa: E731
    assert sorted(_load(out), key=key) == sorted(_load(dets), key=key)
    # and pycocotools' loadRes accepts what we wrote
    assert len(_quiet_coco(gt).loadRes(str(out)).anns) == len(_load(dets))


def test_results_whose_category_is_unknown_to_the_ground_truth_are_refused() -> None:
    gt = FIXTURES / "voc_toy_cats/gts_coco_format/toy_example_coco.JSON"
    results = FIXTURES / "cocoapi_results/instances_val2014_fakebbox100_results.json"
    with pytest.raises(pf.FormatError) as err:
        pf.read(results, "coco", ground_truth=gt)
    assert "is not among the images" in str(err.value)


def _minimal() -> dict:
    return {
        "info": {"year": 2026},
        "images": [
            {"id": 7, "file_name": "été/ä.jpg", "width": 40, "height": 30, "flickr_url": None},
            {"id": 8, "file_name": "empty.jpg", "width": 10, "height": 10},
        ],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 0, "bbox": [1.5, 2, 10, 10], "area": 100.0, "iscrowd": 0,
             "segmentation": [[1.5, 2, 11.5, 2, 11.5, 12, 1.5, 12], [20, 20, 25, 20, 25, 25]],
             "attributes": {"occluded": True}, "ignore": 0},
            {"id": 2, "image_id": 7, "category_id": 3, "bbox": [0, 0, 2, 1], "area": 2, "iscrowd": 1,
             "segmentation": {"size": [30, 40], "counts": [0, 1, 29, 1, 1169]}},
            {"id": 5, "image_id": 7, "category_id": 3, "bbox": [5, 5, 4, 4], "area": 16, "iscrowd": 0,
             "segmentation": [], "keypoints": [6, 6, 2, 0, 0, 0, 8, 8, 1], "num_keypoints": 2},
        ],
        "categories": [
            {"id": 0, "name": "cat", "supercategory": "animal"},
            {"id": 3, "name": "person", "supercategory": "human", "keypoints": ["nose", "eye", "ear"],
             "skeleton": [[1, 2], [2, 3]], "color": "#ff0000"},
        ],
        "licenses": [],
        "my_tool": {"version": 3},
    }


def test_hand_made_file_with_every_feature_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    src.write_bytes(orjson.dumps(_minimal()))
    ds = pf.read(src)
    assert len(ds) == 2 and ds.assets[1].annotations == []  # empty image kept
    first, crowd, person = ds.assets[0].annotations
    assert first.kind == "polygon" and len(first.polygon) == 2  # two parts, one object
    assert first.attributes == {"occluded": True} and first.extra == {"coco": {"ignore": 0}}
    assert crowd.kind == "mask" and crowd.iscrowd == 1 and crowd.mask == Mask(30, 40, [0, 1, 29, 1, 1169])
    assert person.kind == "keypoints" and ds.labels[1].skeleton == [[1, 2], [2, 3]]
    out = tmp_path / "out.json"
    report = pf.write(ds, out, "coco")
    data = _load(out)
    expected = _minimal()
    assert data["images"] == expected["images"]
    assert data["categories"] == expected["categories"]
    assert data["my_tool"] == {"version": 3} and data["info"] == {"year": 2026}
    assert [a["segmentation"] for a in data["annotations"]] == [a["segmentation"] for a in expected["annotations"]]
    assert data["annotations"][0]["ignore"] == 0
    assert data["annotations"][2]["num_keypoints"] == 2
    assert not report.lossy


def test_uncompressed_rle_area_is_exact(tmp_path: Path) -> None:
    src = tmp_path / "in.json"
    doc = _minimal()
    doc["annotations"][1]["area"] = 999  # wrong: the mask has 2 pixels
    src.write_bytes(orjson.dumps(doc))
    out = tmp_path / "out.json"
    pf.write(pf.read(src), out, "coco")
    assert _load(out)["annotations"][1]["area"] == 2.0


def test_captions_are_reported_as_dropped(tmp_path: Path) -> None:
    src = tmp_path / "captions.json"
    src.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
        "annotations": [{"id": 1, "image_id": 1, "caption": "a cat on a mat"},
                        {"id": 2, "image_id": 1, "caption": "a mat"}],
    }))
    report = pf.Report()
    ds = pf.read(src, report=report)
    assert ds.num_annotations == 0
    assert report.count("dropped", "captions") == 2 and report.lossy


def test_model_only_shapes_are_reported_when_writing_coco(tmp_path: Path) -> None:
    ds = Dataset([Label("car")], [Asset("a.jpg", 100, 100, [
        Annotation("car", box=(1.0, 2.0, 3.0, 4.0), qa=[QA("text", "colour?", "red")]),
        Annotation("car"),  # image-level classification
        Annotation("car", line=[0.0, 0.0, 5.0, 5.0]),
        Annotation("car", point=(3.0, 3.0)),
    ], qa=[QA("select", "rain?", "no", choices=["yes", "no"])], status="ACCEPTED", tags=["train"])])
    out = tmp_path / "x.json"
    report = pf.write(ds, out, "coco")
    assert len(_load(out)["annotations"]) == 1
    text = str(report)
    for expected in ("1 image-level classification dropped", "1 line dropped", "1 point dropped",
                     "1 object Q&A answer dropped", "1 image Q&A answer dropped", "1 asset status dropped",
                     "1 asset tag dropped"):
        assert expected in text


def test_new_ids_start_at_one_and_existing_ids_are_kept(tmp_path: Path) -> None:
    ds = Dataset([Label("b"), Label("a")], [Asset("x.jpg", 10, 10, [Annotation("a", box=(0.0, 0.0, 1.0, 1.0))])])
    out = tmp_path / "x.json"
    pf.write(ds, out, "coco")
    data = _load(out)
    assert [(c["id"], c["name"]) for c in data["categories"]] == [(1, "b"), (2, "a")]
    assert data["images"][0]["id"] == 1 and data["annotations"][0]["id"] == 1
    pf.write(ds, out, "coco", category_id_start=0, overwrite=True)
    assert [c["id"] for c in _load(out)["categories"]] == [0, 1]


def test_duplicate_annotation_ids_are_renumbered_and_reported(tmp_path: Path) -> None:
    doc = _minimal()
    doc["annotations"][1]["id"] = 1
    src = tmp_path / "dup.json"
    src.write_bytes(orjson.dumps(doc))
    out = tmp_path / "out.json"
    report = pf.write(pf.read(src), out, "coco")
    assert [a["id"] for a in _load(out)["annotations"]] == [1, 2, 3]
    assert report.count("changed", "annotation ids renumbered") == 3


def test_segmentation_rle_mode_matches_pycocotools(tmp_path: Path) -> None:
    src = FIXTURES / "sahi_coco/coco_utils/terrain2_coco.json"
    out = tmp_path / "rle.json"
    pf.write(pf.read(src), out, "coco", segmentation="rle")
    theirs, ours = _quiet_coco(src), _quiet_coco(out)
    for ann_id, a in theirs.anns.items():
        assert isinstance(ours.anns[ann_id]["segmentation"], dict)
        assert np.array_equal(ours.annToMask(ours.anns[ann_id]), theirs.annToMask(a))


def test_output_is_deterministic(tmp_path: Path) -> None:
    src = FIXTURES / "sahi_coco/coco_utils/visdrone2019-det-train-first50image.json"
    pf.write(pf.read(src), tmp_path / "a.json", "coco")
    pf.write(pf.read(src), tmp_path / "b.json", "coco")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


# ------------------------------------------------------------------------------------------ bad input

BAD_CASES = {
    "truncated": (lambda d: orjson.dumps(d)[:-40], "not valid JSON"),
    "not_json": (lambda d: b"\x00\x01garbage", "not valid"),
    "empty": (lambda d: b"", "empty file"),
    "wrong_top_type": (lambda d: b'"hello"', "expected a JSON object"),
    "no_images": (lambda d: orjson.dumps({"annotations": []}), "no 'images' list"),
    "missing_image": (lambda d: _mutate(d, lambda x: x["annotations"][0].update(image_id=99)),
                      "annotation[0] (id=1): image_id 99 is not among the images"),
    "missing_category": (lambda d: _mutate(d, lambda x: x["annotations"][1].update(category_id=42)),
                         "annotation[1] (id=2): category_id 42 is not among the categories"),
    "nan_bbox": (lambda d: json.dumps(_mutate_obj(d, lambda x: x["annotations"][0].update(
        bbox=[float("nan"), 1, 2, 3]))).encode(), "annotation[0] (id=1): bbox: non-finite coordinate nan"),
    "nan_polygon": (lambda d: json.dumps(_mutate_obj(d, lambda x: x["annotations"][0]["segmentation"][0].__setitem__(
        3, float("inf")))).encode(), "segmentation part 0: non-finite coordinate inf"),
    "odd_polygon": (lambda d: _mutate(d, lambda x: x["annotations"][0]["segmentation"][1].append(3)),
                    "segmentation part 1: odd number of coordinates (7)"),
    "string_coordinate": (lambda d: _mutate(d, lambda x: x["annotations"][0]["bbox"].__setitem__(0, "1")),
                          "bbox: expected numbers, got '1'"),
    "short_bbox": (lambda d: _mutate(d, lambda x: x["annotations"][2].update(bbox=[1, 2])),
                   "bbox must be [x, y, width, height]"),
    "bad_rle": (lambda d: _mutate(d, lambda x: x["annotations"][1]["segmentation"].update(counts=[1, 2])),
                "uncompressed RLE counts sum to 3"),
    "bad_compressed_rle": (lambda d: _mutate(d, lambda x: x["annotations"][1].update(
        segmentation={"size": [30, 40], "counts": "zzzz"})), "compressed RLE counts are not valid for size 30 x 40"),
    "short_compressed_rle": (lambda d: _mutate(d, lambda x: x["annotations"][1].update(
        segmentation={"size": [30, 40], "counts": "0"})), "(they cover 0 pixels)"),
    "duplicate_image_id": (lambda d: _mutate(d, lambda x: x["images"][1].update(id=7)), "duplicate image id 7"),
    "bad_iscrowd": (lambda d: _mutate(d, lambda x: x["annotations"][0].update(iscrowd=2)), "iscrowd must be 0 or 1"),
    "images_not_list": (lambda d: _mutate(d, lambda x: x.update(images={"a": 1})), "images: must be a list"),
}


def _mutate_obj(d: dict, change) -> dict:
    d = copy.deepcopy(d)
    change(d)
    return d


def _mutate(d: dict, change) -> bytes:
    return orjson.dumps(_mutate_obj(d, change))


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_raises_format_error_naming_file_and_record(case: str, tmp_path: Path) -> None:
    make, expected = BAD_CASES[case]
    src = tmp_path / f"{case}.json"
    src.write_bytes(make(_minimal()))
    with pytest.raises(pf.FormatError) as err:
        pf.read(src, "coco")
    assert str(src) in str(err.value)
    assert expected in str(err.value)


def test_every_bad_record_is_listed_not_just_the_first(tmp_path: Path) -> None:
    doc = _minimal()
    doc["annotations"][0]["image_id"] = 99
    doc["annotations"][1]["category_id"] = 42
    doc["annotations"][2]["bbox"] = [1, 2]
    src = tmp_path / "many.json"
    src.write_bytes(orjson.dumps(doc))
    with pytest.raises(pf.FormatError) as err:
        pf.read(src)
    assert len(err.value.problems) == 3
    assert [p.record for p in err.value.problems] == ["annotation[0] (id=1)", "annotation[1] (id=2)",
                                                      "annotation[2] (id=5)"]


def test_detection_does_not_depend_on_file_names(tmp_path: Path) -> None:
    for src in [*COCO_INSTANCE_FILES, *COCO_RESULT_FILES]:
        copy_path = tmp_path / "whatever.json"
        copy_path.write_bytes(src.read_bytes())
        assert pf.detect(copy_path) == "coco", src
    folder = tmp_path / "ds"
    (folder / "annotations").mkdir(parents=True)
    (folder / "annotations" / "x.json").write_bytes((FIXTURES / "picsellia_coco_det/annotations.json").read_bytes())
    assert pf.detect(folder) == "coco"
    assert pf.read(folder).num_annotations == 330


def test_coco_module_write_is_usable_directly(tmp_path: Path) -> None:
    ds = coco.read(FIXTURES / "picsellia_coco_det/annotations.json")
    coco.write(ds, tmp_path / "x.json")
    assert coco.read(tmp_path / "x.json") == ds
