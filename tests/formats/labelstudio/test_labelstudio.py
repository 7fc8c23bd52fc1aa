"""Label Studio JSON: real exports read against a plain-Python reading, JSON-equal round trips, our
output through label-studio-converter's own reader (its COCO export), brush RLE against its codec,
annotator choice, predictions, bad-input fuzz."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import picsellia_formats as pf
from picsellia_formats.errors import FormatError, OptionError
from picsellia_formats.formats.labelstudio import brush
from picsellia_formats.masks import mask_to_rle, rle_to_mask
from picsellia_formats.model import QA, Annotation, Asset, Dataset
from tests.conftest import FIXTURES, require

OBB = FIXTURES / "labelstudio/export_obb/data_obb.json"
POLY = FIXTURES / "labelstudio/export_polygons/data_polygons.json"


def _independent(path: Path) -> list[list[tuple[str, list[tuple[float, float]]]]]:
    out = []
    for task in json.loads(path.read_text()):
        shapes = []
        for r in task["annotations"][0]["result"]:
            W, H, v = r["original_width"], r["original_height"], r["value"]
            if r["type"] == "rectanglelabels":
                x, y, w, h = v["x"] * W / 100, v["y"] * H / 100, v["width"] * W / 100, v["height"] * H / 100
                a = math.radians(v.get("rotation", 0))
                pts = [(x + dx * math.cos(a) - dy * math.sin(a), y + dx * math.sin(a) + dy * math.cos(a))
                       for dx, dy in ((0, 0), (w, 0), (w, h), (0, h))]
                shapes.append((v["rectanglelabels"][0], pts))
            elif r["type"] == "polygonlabels":
                shapes.append((v["polygonlabels"][0], [(px * W / 100, py * H / 100) for px, py in v["points"]]))
        out.append(shapes)
    return out


@pytest.mark.parametrize("path", [OBB, POLY], ids=["rotated rectangles", "polygon + region choice"])
def test_read_equals_an_independent_reading(path: Path) -> None:
    assert pf.formats.detect(path) == "labelstudio"
    ds = pf.read(path)
    expected = _independent(path)
    assert len(ds) == len(expected)
    for asset, shapes in zip(ds.assets, expected):
        anns = [a for a in asset.annotations if a.kind != "classification"]
        assert len(anns) == len(shapes)
        for ann, (label, pts) in zip(anns, shapes):
            assert ann.label == label
            got = list(zip(ann.polygon[0][::2], ann.polygon[0][1::2]))
            assert all(abs(a - c) <= 0.01 and abs(b - d) <= 0.01 for (a, b), (c, d) in zip(got, pts))


def test_region_choices_become_object_qa_and_sizes_come_from_original_size() -> None:
    ds = pf.read(POLY)
    ann = ds.assets[0].annotations[0]
    assert ann.qa == [QA("select", "choices", "uncertain")]
    assert (ds.assets[0].width, ds.assets[0].height) == (640, 426)


@pytest.mark.parametrize("path", [OBB, POLY])
def test_labelstudio_round_trip_is_json_equal(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    report = pf.write(pf.read(path), out, "labelstudio")
    assert json.loads(out.read_text()) == json.loads(path.read_text())
    assert not report.lossy


def test_through_coco_and_back_reports_exactly_the_losses(tmp_path: Path) -> None:
    report = pf.write(pf.read(POLY), tmp_path / "c.json", "coco")
    got = {(e.kind, e.what): e.count for e in report.entries if e.kind != "info"}
    assert got == {("dropped", "object Q&A answers"): 1, ("dropped", "assets' Label Studio-only fields"): 1}
    back = pf.read(tmp_path / "c.json")
    out = tmp_path / "ls.json"
    pf.write(back, out, "labelstudio")
    again = pf.read(out, "labelstudio")
    # pixels -> percent -> pixels: equal to the last bits of a double, no more
    assert again.assets[0].annotations[0].polygon[0] == pytest.approx(
        pf.read(POLY).assets[0].annotations[0].polygon[0], rel=1e-12)
    assert again.assets[0].annotations[0].qa == ()


def _rich() -> Dataset:
    m = np.zeros((40, 60), np.uint8)
    m[5:15, 10:30] = 1
    ds = Dataset(assets=[Asset("a.jpg", 60, 40, [
        Annotation("car", box=(6.0, 4.0, 12.0, 8.0)),
        Annotation("road", polygon=[[0.0, 30.0, 60.0, 30.0, 60.0, 40.0]]),
        Annotation("sign", point=(30.0, 20.0)),
        Annotation("car", mask=mask_to_rle(m)),
        Annotation("day"),
    ], qa=[QA("text", "caption", "a street"), QA("range", "quality", 4)])])
    ds.ensure_labels()
    return ds


LABEL_CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="car"/></RectangleLabels>
<PolygonLabels name="polygon" toName="image"><Label value="road"/></PolygonLabels>
<KeyPointLabels name="keypoint" toName="image"><Label value="sign"/></KeyPointLabels>
<BrushLabels name="brush" toName="image"><Label value="car"/></BrushLabels>
<Choices name="choice" toName="image"><Choice value="day"/></Choices>
<TextArea name="caption" toName="image"/><Number name="quality" toName="image"/></View>"""


def test_our_output_imports_through_label_studio_converter(tmp_path: Path) -> None:
    converter = require("label_studio_converter", "test", "Label Studio's own converter")
    from label_studio_converter.brush import decode_rle

    out = tmp_path / "tasks.json"
    pf.write(_rich(), out, "labelstudio")
    conv = converter.Converter(LABEL_CONFIG, str(tmp_path), download_resources=False)
    items = list(conv.iter_from_json_file(str(out)))
    assert len(items) == 1
    output = items[0]["output"]
    assert set(output) == {"label", "polygon", "keypoint", "brush", "choice", "caption", "quality"}
    rect = output["label"][0]
    assert [rect["x"] * 60 / 100, rect["y"] * 40 / 100, rect["width"] * 60 / 100, rect["height"] * 40 / 100] == \
        pytest.approx([6.0, 4.0, 12.0, 8.0])
    decoded = decode_rle(output["brush"][0]["rle"]).reshape(40, 60, 4)[:, :, 3] > 0
    assert (decoded == (rle_to_mask(_rich().assets[0].annotations[3].mask) > 0)).all()
    conv.convert_to_coco(str(out), str(tmp_path / "coco"), is_dir=False)
    coco = json.loads((tmp_path / "coco/result.json").read_text())
    boxes = sorted(a["bbox"] for a in coco["annotations"])
    assert [6.0, 4.0, 12.0, 8.0] in [[round(v, 6) for v in b] for b in boxes]


def test_every_kind_round_trips_through_labelstudio(tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    report = pf.write(_rich(), out, "labelstudio")
    assert not report.lossy
    back = pf.read(out)
    a, b = _rich().assets[0], back.assets[0]
    assert [(x.label, x.kind) for x in b.annotations] == [(x.label, x.kind) for x in a.annotations]
    assert b.annotations[0].box == pytest.approx(a.annotations[0].box)
    assert b.annotations[3].mask == a.annotations[3].mask
    assert b.qa == a.qa


def _task(results_by_annotator: list[tuple[str, list]]) -> dict:
    return {"id": 1, "data": {"image": "/data/upload/1/x.jpg"}, "annotations": [
        {"id": i + 1, "completed_by": who, "updated_at": f"2024-01-0{i + 1}T00:00:00Z", "result": res}
        for i, (who, res) in enumerate(results_by_annotator)],
        "predictions": [{"model_version": "v1", "score": 0.5, "result": [_rect("bus", 0.7)]}]}


def _rect(label: str, score: float | None = None) -> dict:
    r = {"original_width": 100, "original_height": 50, "value": {"x": 10, "y": 20, "width": 30, "height": 40,
         "rotation": 0, "rectanglelabels": [label]}, "id": label, "from_name": "label", "to_name": "image",
         "type": "rectanglelabels"}
    if score is not None:
        r["score"] = score
    return r


def test_several_annotators_latest_or_chosen_and_predictions(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([_task([("1", [_rect("car")]), ("2", [_rect("truck")])])]))
    report = pf.Report()
    ds = pf.read(path, report=report)
    assert [a.label for a in ds.assets[0].annotations] == ["truck"]
    assert ds.assets[0].file_name == "x.jpg"
    assert report.count("info", "tasks with several annotations: one read") == 1
    assert [a.label for a in pf.read(path, annotator="first").assets[0].annotations] == ["car"]
    assert [a.label for a in pf.read(path, annotator="1").assets[0].annotations] == ["car"]
    preds = pf.read(path, source="predictions").assets[0].annotations
    assert [(a.label, a.score) for a in preds] == [("bus", 0.7)]
    assert preds[0].box == (10.0, 10.0, 30.0, 20.0)
    out = tmp_path / "back.json"
    pf.write(ds, out, "labelstudio")
    assert json.loads(out.read_text()) == json.loads(path.read_text())
    coco = pf.write(ds, tmp_path / "c.json", "coco")
    assert coco.count("dropped", "assets' Label Studio-only fields") == 1  # the other annotator's record


def test_brush_codec_matches_label_studio_converter() -> None:
    ref = require("label_studio_converter.brush", "test", "Label Studio's own brush RLE")
    rng = np.random.default_rng(1)
    for h, w in ((1, 1), (7, 13), (40, 70)):
        m = (rng.random((h, w)) < 0.4).astype(np.uint8)
        assert ((ref.decode_rle(brush.encode_mask(m)).reshape(h, w, 4)[:, :, 3] > 0) == m).all()
        theirs = ref.encode_rle(np.repeat(m.reshape(-1) * 255, 4))
        assert (brush.decode_mask(theirs, w, h) == m).all()


@pytest.mark.parametrize(("result", "message"), [
    ({"type": "ellipselabels", "value": {}}, "'ellipselabels' is not supported"),
    ({"type": "rectanglelabels", "value": {"x": 1, "rectanglelabels": ["a"]}, "original_width": 10,
      "original_height": 10}, "must be finite numbers"),
    ({"type": "rectanglelabels", "value": {"x": 1, "y": 1, "width": 1, "height": 1, "rectanglelabels": ["a"]}},
     "original_width"),
    ({"type": "brushlabels", "value": {"format": "rle", "rle": [0, 0, 0, 9], "brushlabels": ["a"]},
      "original_width": 2, "original_height": 2}, "brush rle"),
    ({"type": "polygonlabels", "value": {"points": [[1, 2]], "polygonlabels": ["a"]}, "original_width": 2,
      "original_height": 2}, "at least 3"),
])
def test_bad_results_name_file_task_and_result(tmp_path: Path, result: dict, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"id": 9, "data": {"image": "a.jpg"}, "annotations": [{"result": [result]}]}]))
    with pytest.raises(FormatError) as err:
        pf.read(path, "labelstudio")
    text = str(err.value)
    assert str(path) in text and "task[0] id=9" in text and "result[0]" in text and message in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bad_bytes_raise_format_error_only(tmp_path: Path, data: st.DataObject) -> None:
    raw = bytearray(POLY.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "dup"]))
        if op == "flip":
            raw[i] = data.draw(st.sampled_from(b'[]{}":,0123456789-.e ntf'))
        elif op == "cut":
            del raw[i:i + data.draw(st.integers(1, 40))]
        else:
            raw[i:i] = raw[i:i + 30]
    path = tmp_path / "fuzz.json"
    path.write_bytes(bytes(raw))
    try:
        pf.read(path, "labelstudio")
    except FormatError as exc:
        assert str(path) in str(exc)


def _box_task(task_id: int, annotations: list, predictions: list) -> dict:
    return {"id": task_id, "data": {"image": f"/data/upload/1/{task_id}.jpg"}, "annotations": annotations,
            "predictions": predictions}


#: tasks as Label Studio exports them: every task has both lists, often empty
_EMPTY_LISTS = [
    _box_task(1, [{"id": 11, "completed_by": 3, "result": [_rect("car")], "was_cancelled": False}], []),
    _box_task(2, [], [{"id": 5, "model_version": "v2", "score": 0.5, "result": [_rect("bus")]}]),
    _box_task(3, [{"id": 12, "completed_by": 4, "result": [], "was_cancelled": False}], []),
    _box_task(4, [{"id": 13, "completed_by": 4, "result": [_rect("car")], "was_cancelled": True}], []),
]


@pytest.mark.parametrize(("options", "objects", "lines"), [
    ({}, [1, 0, 0, 0], ["1 cancelled annotation skipped", "1 task without annotations, read with no objects",
                        "1 task whose annotations are all cancelled, read with no objects"]),
    ({"source": "predictions"}, [0, 1, 0, 0], ["3 tasks without predictions, read with no objects"]),
    ({"annotator": "3"}, [1, 0, 0, 0], ["1 other annotation not read", "1 cancelled annotation skipped",
                                        "1 task with annotations, none by annotator 3, read with no objects",
                                        "1 task without annotations, read with no objects",
                                        "1 task whose annotations are all cancelled, read with no objects"]),
    ({"annotator": "9"}, [0, 0, 0, 0], ["2 other annotations not read",
                                        "2 tasks with annotations, none by annotator 9, read with no objects"]),
    ({"source": "predictions", "annotator": "v2"}, [0, 1, 0, 0],
     ["3 tasks without predictions, read with no objects"]),
    ({"source": "predictions", "annotator": "v1"}, [0, 0, 0, 0],
     ["1 task with predictions, none by model version v1, read with no objects"]),
])
def test_tasks_read_with_no_objects_say_why(tmp_path: Path, options: dict, objects: list, lines: list) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_EMPTY_LISTS))
    report = pf.Report()
    ds = pf.read(path, "labelstudio", report=report, **options)
    assert [len(a.annotations) for a in ds.assets] == objects
    text = str(report).splitlines()
    for line in lines:
        assert line in text, text
    # a cancelled record is counted once, as cancelled, never also among the "other" records not read
    assert not any(line.startswith("1 other annotation") for line in text) or options == {"annotator": "3"}


@pytest.mark.parametrize("annotator", ["", "  "])
def test_empty_annotator_is_refused(tmp_path: Path, annotator: str) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_EMPTY_LISTS))
    with pytest.raises(OptionError, match="annotator must be"):
        pf.read(path, "labelstudio", annotator=annotator)


def test_completed_by_null_matches_no_annotator_named_none(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([_box_task(1, [{"id": 1, "completed_by": None, "result": [_rect("car")]}], [])]))
    report = pf.Report()
    assert pf.read(path, "labelstudio", report=report, annotator="None").assets[0].annotations == []
    assert report.count("info", "tasks with annotations, none by annotator None, read with no objects") == 1
