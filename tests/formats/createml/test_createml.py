"""CreateML: a Roboflow CreateML export against a plain-Python reading (to 0.01 px), round trips
(CreateML -> CreateML JSON-equal; -> COCO -> CreateML with exactly the reported losses), every kind
through the writer, bad input named, and hypothesis round trips and fuzz."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.model import QA, Annotation, Asset, Dataset, Label, Mask
from tests.conftest import FIXTURES
from tests.formats.labelme.test_properties import _paths, json_values

ROBOFLOW = FIXTURES / "createml_roboflow/_annotations.createml.json"


def test_roboflow_export_equals_a_plain_reading() -> None:
    assert pf.formats.detect(ROBOFLOW) == "createml"
    assert pf.formats.detect(ROBOFLOW.parent) == "createml"
    ds = pf.read(ROBOFLOW)
    plain = json.loads(ROBOFLOW.read_text())
    assert [a.file_name for a in ds.assets] == [item["image"] for item in plain]
    assert ds.num_annotations == sum(len(item["annotations"]) for item in plain) == 78
    assert ds.assets[3].annotations == []  # null_test.jpeg: an image without objects survives
    for asset, item in zip(ds.assets, plain):
        assert len(asset.annotations) == len(item["annotations"])
        for ann, obj in zip(asset.annotations, item["annotations"]):
            c = obj["coordinates"]
            left, top = c["x"] - c["width"] / 2, c["y"] - c["height"] / 2
            assert ann.label == obj["label"]
            assert max(abs(a - b) for a, b in zip(ann.box, (left, top, c["width"], c["height"]))) < 0.01


def test_createml_to_createml_is_json_equal(tmp_path: Path) -> None:
    report = pf.convert(ROBOFLOW, tmp_path / "out.json", "createml")
    assert not report and json.loads((tmp_path / "out.json").read_text()) == json.loads(ROBOFLOW.read_text())


def test_createml_to_coco_to_createml_loses_nothing(tmp_path: Path) -> None:
    report = pf.convert(ROBOFLOW, tmp_path / "c.json", "coco")
    assert not report.lossy and not [e for e in report.entries if e.kind != "info"]
    back = pf.convert(tmp_path / "c.json", tmp_path / "back.json", "createml")
    assert not back.lossy
    ours, theirs = json.loads((tmp_path / "back.json").read_text()), json.loads(ROBOFLOW.read_text())
    assert [i["image"] for i in ours] == [i["image"] for i in theirs]
    for a, b in zip(ours, theirs):
        assert [o["label"] for o in a["annotations"]] == [o["label"] for o in b["annotations"]]
        for oa, ob in zip(a["annotations"], b["annotations"]):
            assert all(abs(oa["coordinates"][k] - ob["coordinates"][k]) < 1e-9 for k in ("x", "y", "width", "height"))


def test_sizes_come_from_the_images_folder(tmp_path: Path) -> None:
    Image.new("RGB", (30, 20)).save(tmp_path / "a.jpg")
    (tmp_path / "ann.json").write_text(json.dumps([{"image": "a.jpg", "annotations": []},
                                                   {"image": "b.jpg", "annotations": []}]))
    report = pf.Report()
    ds = pf.read(tmp_path / "ann.json", "createml", images=tmp_path, report=report)
    assert [(a.width, a.height) for a in ds.assets] == [(30, 20), (None, None)]
    assert report.count("info", "images without a size") == 1


def test_every_kind_through_the_writer(tmp_path: Path) -> None:
    ds = Dataset([Label("car", group="v"), Label("person"), Label("unused")], [
        Asset("a.jpg", 64, 48, [
            Annotation("car", box=(1.0, 2.0, 10.0, 12.0), score=0.9, attributes={"occluded": True},
                       qa=[QA("text", "c?", "red")]),
            Annotation("person", polygon=[[10, 10, 20, 10, 20, 20]]),
            Annotation("car", mask=Mask(48, 64, [100, 5, 43, 5, 2919])),
            Annotation("person", keypoints=[5, 5, 2, 9, 7, 2]),
            Annotation("car", line=[1, 1, 10, 10]),
            Annotation("person", point=(3.5, 4.5)),
            Annotation("day"),
        ], status="ACCEPTED", tags=["train"]),
    ])
    report = pf.write(ds, tmp_path / "o.json", "createml")
    assert {(e.kind, e.what): e.count for e in report.entries if e.kind != "info"} == {
        ("approximated", "polygons written as boxes"): 1,
        ("approximated", "masks written as boxes"): 1,
        ("approximated", "keypoint objects written as boxes"): 1,
        ("dropped", "lines"): 1,
        ("dropped", "points"): 1,
        ("dropped", "image-level classifications"): 1,
        ("dropped", "object Q&A answers"): 1,
        ("dropped", "detection scores"): 1,
        ("dropped", "object attributes"): 1,
        ("dropped", "asset tags"): 1,
        ("dropped", "asset statuses"): 1,
        ("dropped", "labels without objects"): 1,
        ("dropped", "label groups"): 1,
    }
    (item,) = json.loads((tmp_path / "o.json").read_text())
    assert item["annotations"][0] == {"label": "car", "coordinates": {"x": 6.0, "y": 8.0, "width": 10.0,
                                                                       "height": 12.0}}
    assert item["annotations"][1]["coordinates"] == {"x": 15.0, "y": 15.0, "width": 10, "height": 10}


@pytest.mark.parametrize(("data", "message"), [
    ({"image": "a.jpg"}, "the top level is a JSON dict, expected a list"),
    ([{"annotations": []}], "[0]: image must be a non-empty string"),
    ([{"image": "a.jpg", "annotations": {}}], "annotations must be a list"),
    ([{"image": "a.jpg", "annotations": [{"label": "x"}]}], "[0].annotations[0]: coordinates must be an object"),
    ([{"image": "a.jpg", "annotations": [{"label": "x", "coordinates": {"x": 1, "y": 1, "width": "2",
                                                                        "height": 1}}]}], "coordinates.width"),
    ([{"image": "a.jpg", "annotations": [{"label": "x", "coordinates": {"x": 1, "y": 1, "width": -2,
                                                                        "height": 1}}]}], "negative width"),
])
def test_bad_input_names_file_record_and_problem(tmp_path: Path, data: Any, message: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    with pytest.raises(pf.FormatError) as err:
        pf.read(p, "createml")
    assert str(p) in str(err.value) and message in str(err.value)


coord = st.one_of(st.integers(0, 4000), st.floats(0, 4000, allow_nan=False))
#: names a file can hold: NUL and lone surrogates are refused by every reader (issue 19 item 14)
NAME_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
objects = st.fixed_dictionaries({"label": st.text(NAME_CHARS, min_size=1, max_size=5),
                                 "coordinates": st.fixed_dictionaries(
    {"x": coord, "y": coord, "width": coord, "height": coord})})
items = st.fixed_dictionaries({"image": st.text(NAME_CHARS, min_size=1, max_size=8),
                               "annotations": st.lists(objects, max_size=4)},
                              optional={"verified": st.booleans()})


@settings(max_examples=200, deadline=None)
@given(doc=st.lists(items, max_size=5))
def test_generated_files_come_back_json_equal(doc: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "a.json", Path(tmp) / "b.json"
        src.write_text(json.dumps(doc))
        report = pf.convert(src, out, "createml", from_="createml")
        assert not report.lossy
        assert json.loads(out.read_text()) == doc


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_byte_mutations_read_or_raise_a_named_error(data: st.DataObject) -> None:
    raw = bytearray(ROBOFLOW.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del raw[pos:pos + data.draw(st.integers(1, 20))]
        else:
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
    _read_or_named_error(bytes(raw) or b" ")


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_structural_mutations_read_or_raise_a_named_error(data: st.DataObject) -> None:
    doc = json.loads(ROBOFLOW.read_text())[3:]  # the empty image and the last one
    where = data.draw(st.sampled_from(list(_paths(doc))))
    value = data.draw(json_values)
    if not where:
        doc = value
    else:
        node = doc
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
    _read_or_named_error(json.dumps(doc).encode())


def _read_or_named_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "m.json"
        src.write_bytes(raw)
        try:
            ds = pf.read(src, "createml")
        except pf.FormatError as exc:
            assert str(src) in str(exc)
            return
        pf.write(ds, Path(tmp) / "o.json", "createml")
