"""COCO -> COCO on the typed record path: the general path's bytes and report, or Ineligible with nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import picsellia_formats as pf
from picsellia_formats.cli import main
from picsellia_formats.report import Report
from picsellia_formats.streaming import coco_transcode
from picsellia_formats.streaming.coco_transcode import Ineligible, transcode
from tests.streaming.conftest import COCO_FIXTURES

ROOT = Path(__file__).resolve().parents[2]



def _general(src: Path, out: Path) -> tuple[Any, ...]:
    """The model's path: read the dataset, write it (what `convert` did before the typed path)."""
    report = Report()
    try:
        dataset = pf.read(src, "coco", report=report)
        pf.write(dataset, out, "coco", report=report)
    except pf.PicselliaFormatsError as exc:
        return "error", str(exc).splitlines()[0]
    return str(report), out.read_bytes()


def _typed(src: Path, out: Path) -> tuple[Any, ...] | None:
    report = Report()
    try:
        transcode(src, out, report=report)
    except Ineligible:
        assert not out.exists() and not report.entries
        return None
    return str(report), out.read_bytes()


def _convert(src: Path, out: Path, **options: Any) -> tuple[Any, ...]:
    try:
        report = pf.convert(src, out, "coco", **options)
    except pf.PicselliaFormatsError as exc:
        return "error", str(exc).splitlines()[0]
    return str(report), out.read_bytes()


@pytest.mark.parametrize("src", COCO_FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_a_fixture_gives_the_general_paths_bytes_and_report(src: Path, tmp_path: Path) -> None:
    typed = _typed(src, tmp_path / "t.json")
    general = _general(src, tmp_path / "g.json")
    if typed is not None:
        assert typed == general
    assert _convert(src, tmp_path / "c.json") == general  # typed or not, convert gives the general output
    streamed = _convert(src, tmp_path / "s.json", stream=True)
    # a split-named file, panoptic or image labels: the stream refuses, naming the way out
    assert streamed == general or (streamed[0] == "error" and "in memory" in streamed[1])


def test_most_bundled_coco_files_take_the_typed_path(tmp_path: Path) -> None:
    eligible = [src for n, src in enumerate(COCO_FIXTURES) if _typed(src, tmp_path / f"{n}.json") is not None]
    assert len(COCO_FIXTURES) >= 5
    assert len(eligible) >= len(COCO_FIXTURES) * 2 // 3, eligible


def test_the_synthetic_10k_set_takes_the_typed_path_with_the_general_bytes(synth_10k: Path, tmp_path: Path) -> None:
    typed = _typed(synth_10k, tmp_path / "t.json")
    assert typed is not None
    assert typed == _general(synth_10k, tmp_path / "g.json")
    assert "annotation areas recomputed" in typed[0]  # the set's areas disagree with its polygons


def test_the_cli_takes_the_typed_path_and_says_what_the_general_path_says(synth_10k: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture) -> None:
    calls = []
    real = coco_transcode.transcode
    monkeypatch.setattr(coco_transcode, "transcode", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert main(["convert", str(synth_10k), str(tmp_path / "a.json"), "--to", "coco"]) == 0
    assert calls and "annotation areas recomputed" in capsys.readouterr().out
    assert (tmp_path / "a.json").read_bytes() == _general(synth_10k, tmp_path / "g.json")[1]


def test_ineligible_leaves_an_existing_output_as_it_was(tmp_path: Path) -> None:
    src = tmp_path / "odd.json"
    src.write_bytes(orjson.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
                                  "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "occluded": True}],
                                  "categories": [{"id": 1, "name": "cat"}]}))
    out = tmp_path / "out.json"
    out.write_bytes(b"previous")
    with pytest.raises(Ineligible, match="image label"):
        transcode(src, out, report=Report(), overwrite=True)
    assert out.read_bytes() == b"previous"
    # convert then takes the general path, which keeps the image label and its unknown key
    pf.convert(src, out, "coco", overwrite=True)
    assert orjson.loads(out.read_bytes())["annotations"][0]["occluded"] is True


def test_options_the_typed_path_does_not_honour_send_convert_to_the_general_path(tmp_path: Path) -> None:
    src = COCO_FIXTURES[0]
    assert coco_transcode.transcodable("coco", "coco", src, None, {"segmentation": None}, None)
    assert not coco_transcode.transcodable("coco", "coco", src, None, {"segmentation": "rle"}, None)
    assert not coco_transcode.transcodable("coco", "coco", src, {"ground_truth": "x.json"}, None, None)
    assert not coco_transcode.transcodable("coco", "yolo", src, None, None, None)
    assert not coco_transcode.transcodable("coco", "coco", src, None, None, tmp_path)  # --images fills sizes


def test_a_float_of_1e16_or_more_is_spelt_as_orjson_spells_it(tmp_path: Path) -> None:
    src = tmp_path / "big.json"
    src.write_bytes(orjson.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
                                  "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                                                   "bbox": [0, 0, 1.5e17, 1], "area": 2.5e20}],
                                  "categories": [{"id": 1, "name": "cat"}]}))
    typed = _typed(src, tmp_path / "t.json")
    assert typed is not None and b"e+17" in typed[1]
    assert typed == _general(src, tmp_path / "g.json")


_IMG = '{"id":1,"file_name":"a.jpg","width":9,"height":9}'
_CAT = '{"id":1,"name":"c"}'
_EDGES = {  # files the general reader refuses or treats apart: Ineligible, and convert says what it says
    "lone surrogate in an annotation": f'{{"images":[{_IMG}],"annotations":[{{"id":"\\ud800","image_id":1,'
                                       f'"category_id":1,"bbox":[0,0,1,1]}}],"categories":[{_CAT}]}}',
    "lone surrogate in an image field": '{"images":[{"id":1,"file_name":"a.jpg","width":9,"height":9,'
                                        f'"x":"\\ud800"}}],"annotations":[],"categories":[{_CAT}]}}',
    "lone surrogate in a label": f'{{"images":[{_IMG}],"annotations":[],"categories":[{{"id":1,"name":"c\\ud800"}}]}}',
    "NUL in a file name": '{"images":[{"id":1,"file_name":"a\\u0000.jpg","width":9,"height":9}],'
                          f'"annotations":[],"categories":[{_CAT}]}}',
    "wide integer in info": f'{{"info":{{"v":123456789012345678901234}},"images":[{_IMG}],"annotations":[],'
                            f'"categories":[{_CAT}]}}',
    "wide integer id": f'{{"images":[{_IMG}],"annotations":[{{"id":123456789012345678901234,"image_id":1,'
                       f'"category_id":1,"bbox":[0,0,1,1]}}],"categories":[{_CAT}]}}',
    "NaN": f'{{"images":[{_IMG}],"annotations":[{{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,NaN,1]}}],'
           f'"categories":[{_CAT}]}}',
    "bbox values that overflow": f'{{"images":[{_IMG}],"annotations":[{{"id":1,"image_id":1,"category_id":1,'
                                 f'"bbox":[1e308,1e308,1,1]}}],"categories":[{_CAT}]}}',
    "unknown category": f'{{"images":[{_IMG}],"annotations":[{{"id":1,"image_id":1,"category_id":7,'
                        f'"bbox":[0,0,1,1]}}],"categories":[{_CAT}]}}',
    "unknown image": f'{{"images":[{_IMG}],"annotations":[{{"id":1,"image_id":5,"category_id":1,'
                     f'"bbox":[0,0,1,1]}}],"categories":[{_CAT}]}}',
    "duplicate image id": f'{{"images":[{_IMG},{_IMG}],"annotations":[],"categories":[{_CAT}]}}',
    "results list": '[{"image_id":1,"category_id":1,"bbox":[0,0,1,1],"score":0.5}]',
    "image label": f'{{"images":[{_IMG}],"annotations":[{{"id":1,"image_id":1,"category_id":1}}],'
                   f'"categories":[{_CAT}]}}',
}


@pytest.mark.parametrize("text", list(_EDGES.values()), ids=list(_EDGES))
def test_what_the_typed_path_does_not_cover_is_left_to_the_general_path(text: str, tmp_path: Path) -> None:
    src = tmp_path / "src.json"
    src.write_text(text)
    assert _typed(src, tmp_path / "t.json") is None
    assert _convert(src, tmp_path / "c.json") == _general(src, tmp_path / "g.json")


# ------------------------------------------------------------------------------------ random files

_num = st.one_of(st.integers(0, 500), st.floats(0, 500, allow_nan=False).map(lambda v: round(v, 2)))
_big = st.sampled_from([1e16, 2.5e17, -3e18, 1e-7, 123456789.125])


@st.composite
def _annotation(draw: st.DrawFn, image_ids: list[Any], cat_ids: list[Any], clean: bool) -> dict[str, Any]:
    """One annotation; `clean`: only what the typed path takes (else anything, the general path's cases too)."""
    a: dict[str, Any] = {}
    n = draw(st.integers(0, 20))
    id_kind = draw(st.sampled_from(["int", "int", "int", "str", "none"] + ([] if clean else ["missing"])))
    if id_kind == "int":
        a["id"] = n + 1 if draw(st.booleans()) else draw(st.integers(1, 5))
    elif id_kind == "str":
        a["id"] = f"a{n}"
    elif id_kind == "none":
        a["id"] = None
    a["image_id"] = draw(st.sampled_from(image_ids))
    a["category_id"] = draw(st.sampled_from(cat_ids))
    shape = draw(st.sampled_from(["box", "poly", "poly", "empty", "rle", "rle_str", "none"]
                                 + ([] if clean else ["flat", "odd"])))
    x, y, w, h = draw(_num), draw(_num), draw(_num), draw(_num)
    if draw(st.integers(0, 9)) == 0:
        w = draw(_big)
    if shape != "none" or draw(st.booleans()):
        if draw(st.integers(0, 7)):
            a["bbox"] = [x, y, w, h]
    if shape == "poly":
        parts = draw(st.lists(st.lists(_num, min_size=6, max_size=10).map(lambda p: p[: len(p) & ~1]),
                              min_size=1, max_size=3))
        a["segmentation"] = parts
    elif shape == "empty":
        a["segmentation"] = []
    elif shape == "rle":
        hh, ww = draw(st.integers(1, 6)), draw(st.integers(1, 6))
        cut = draw(st.integers(0, hh * ww))
        a["segmentation"] = {"size": [hh, ww], "counts": [cut, hh * ww - cut]}
    elif shape == "rle_str":
        a["segmentation"] = {"size": [2, 2], "counts": "04"}
    elif shape == "flat":
        a["segmentation"] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    elif shape == "odd":
        a["segmentation"] = [[1.0, 2.0, 3.0, 4.0, 5.0]]
    area = draw(st.sampled_from(["missing", "match", "off", "int", "null"]))
    if area == "match" and "bbox" in a:
        a["area"] = float(a["bbox"][2] * a["bbox"][3])
    elif area == "off":
        a["area"] = 12345.5
    elif area == "int":
        a["area"] = 7
    elif area == "null":
        a["area"] = None
    crowd = draw(st.sampled_from(["missing", 0, 1] + ([] if clean else [True])))
    if crowd != "missing":
        a["iscrowd"] = crowd
    extra = draw(st.sets(st.sampled_from(["score", "keypoints", "attributes", "empty_attributes", "num_keypoints"]
                                         + ([] if clean else ["unknown"])), max_size=2))
    if "score" in extra:
        a["score"] = draw(st.floats(0, 1, allow_nan=False))
    if "keypoints" in extra:
        a["keypoints"] = [x, y, 2, x + 1, y + 1, draw(st.integers(0, 2))]
        a["num_keypoints"] = 1
    elif "num_keypoints" in extra:
        a["num_keypoints"] = 0
    if "attributes" in extra:
        a["attributes"] = {"occluded": draw(st.booleans()), "note": "e5"}
    elif "empty_attributes" in extra:
        a["attributes"] = {}
    if "unknown" in extra:
        a["occluded"] = 1
    keys = draw(st.permutations(list(a)))
    return {k: a[k] for k in keys}


@st.composite
def _coco(draw: st.DrawFn) -> dict[str, Any]:
    clean = draw(st.booleans())
    n_images = draw(st.integers(0, 5))
    str_ids = draw(st.integers(0, 5)) == 0
    image_ids: list[Any] = [f"im{i}" if str_ids else i * 3 + 1 for i in range(n_images)]
    images = []
    for i, image_id in enumerate(image_ids):
        im: dict[str, Any] = {"id": image_id, "file_name": f"img_{i}.jpg", "width": 640, "height": 480}
        odd = draw(st.sampled_from(["", "", "", "license", "extras"] + ([] if clean else ["float", "nosize"])))
        if odd == "license":
            im["license"] = 1
        elif odd == "float":
            im["width"] = 640.0
        elif odd == "nosize":
            del im["width"]
        elif odd == "extras":
            im["coco_url"] = "http://x/e1"
            im["date_captured"] = "2020"
        keys = draw(st.permutations(list(im)))
        images.append({k: im[k] for k in keys})
    n_cats = draw(st.integers(1, 3))
    cat_ids: list[Any] = list(range(1, n_cats + 1))
    categories = [{"id": c, "name": draw(st.sampled_from(["cat", "dog", "bird"])) if draw(st.integers(0, 4)) == 0
                   else f"label{c}", "supercategory": "animal"} for c in cat_ids]
    annotations = []
    if image_ids:
        anns = draw(st.lists(_annotation(image_ids, cat_ids, clean), max_size=8))
        for n, a in enumerate(anns):
            if type(a.get("id")) is int and a["id"] > 5:
                a["id"] = n + 1
            annotations.append(a)
        if clean or draw(st.booleans()):  # most exporters write the annotations in the images' order
            position = {image_id: i for i, image_id in enumerate(image_ids)}
            annotations.sort(key=lambda a: position[a["image_id"]])
    doc: dict[str, Any] = {"images": images, "annotations": annotations, "categories": categories}
    if draw(st.booleans()):
        doc = {"info": {"year": 2024}, "licenses": [{"id": 1, "name": "x"}], **doc}
    if draw(st.integers(0, 5)) == 0:
        doc["extra_top"] = {"k": 1}
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_coco())
def test_random_files_give_the_general_bytes_and_report(doc: dict[str, Any], tmp_path_factory: Any) -> None:
    tmp = tmp_path_factory.mktemp("t")
    src = tmp / "src.json"
    src.write_bytes(orjson.dumps(doc))
    general = _general(src, tmp / "g.json")
    typed = _typed(src, tmp / "t.json")
    if typed is not None:
        assert typed == general
    assert _convert(src, tmp / "c.json") == general
    # the streaming reader's typed records (`parse_records`) give the in-memory reader's assets: same VOC output
    streamed, in_memory = _voc(src, tmp / "vs", stream=True), _voc(src, tmp / "vm", stream=False)
    if in_memory[0] == "error":  # the stream meets the records in the images' order: it may name another first
        assert streamed[0] == "error" and str(src) in streamed[1]
    else:
        assert streamed == in_memory


def _voc(src: Path, out: Path, stream: bool) -> tuple[Any, ...]:
    try:
        report = pf.convert(src, out, "voc", stream=stream)
    except pf.PicselliaFormatsError as exc:
        return "error", str(exc).splitlines()[0]
    return str(report), {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_streamed_annotation_with_an_integer_over_64_bits_is_refused_by_name(tmp_path: Path) -> None:
    src = tmp_path / "wide.json"
    src.write_text(f'{{"images":[{_IMG}],"annotations":[{{"id":123456789012345678901234,"image_id":1,'
                   f'"category_id":1,"bbox":[0,0,1,1]}}],"categories":[{_CAT}]}}')
    with pytest.raises(pf.FormatError, match="outside 64 bits") as exc:
        pf.convert(src, tmp_path / "out", "yolo", stream=True)  # orjson alone would read it as a float, unsaid
    assert str(src) in str(exc.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, where", [("a\\u0000.jpg", "images"), ("c\\ud800", "categories")])
def test_a_stream_refuses_the_names_an_in_memory_read_refuses(name: str, where: str, tmp_path: Path) -> None:
    image = f'{{"id":1,"file_name":"{name if where == "images" else "a.jpg"}","width":9,"height":9}}'
    category = f'{{"id":1,"name":"{name if where == "categories" else "cat"}"}}'
    src = tmp_path / "names.json"
    src.write_text(f'{{"images":[{image}],"annotations":[{{"id":1,"image_id":1,"category_id":1,'
                   f'"bbox":[0,0,1,1]}}],"categories":[{category}]}}')
    with pytest.raises(pf.FormatError) as in_memory:
        pf.read(src)
    with pytest.raises(pf.FormatError) as streamed:  # it used to be written, or fail in the writer
        pf.convert(src, tmp_path / "out", "yolo", stream=True)
    first, expected = str(streamed.value).splitlines()[0], str(in_memory.value).splitlines()[0]
    assert first.startswith(f"{src}: ") and expected.startswith(f"{src}: ")
    for text in (first, expected):  # the same fault named (a surrogate is met earlier in memory: by the parser)
        assert ("NUL" in text) if where == "images" else ("lone surrogate" in text and "c\\ud800" in text)
    assert not (tmp_path / "out").exists()


def test_an_integer_over_64_bits_in_an_attribute_is_refused_by_every_path(tmp_path: Path) -> None:
    src = tmp_path / "wide_attribute.json"  # attributes are typed as any JSON: the one place types cannot bound
    src.write_text(f'{{"images":[{_IMG}],"annotations":[{{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,1,1],'
                   f'"attributes":{{"track":123456789012345678901234}}}}],"categories":[{_CAT}]}}')
    assert _typed(src, tmp_path / "t.json") is None
    for stream in (False, True):
        with pytest.raises(pf.FormatError, match="outside 64 bits"):
            pf.convert(src, tmp_path / f"{stream}.json", "coco", stream=stream)
        with pytest.raises(pf.FormatError, match="outside 64 bits"):
            pf.convert(src, tmp_path / f"y{stream}", "yolo", stream=stream)


@pytest.mark.parametrize("stream", [False, True])
def test_pycocotools_loads_what_the_record_path_writes(synth_10k: Path, tmp_path: Path, stream: bool) -> None:
    """COCO's own API indexes the record path's output, and its masks (polygons and crowd RLE) decode."""
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    out = tmp_path / "out.json"
    report = pf.convert(synth_10k, out, "coco", stream=stream)
    api = COCO(str(out))
    source = orjson.loads(synth_10k.read_bytes())
    assert len(api.getImgIds()) == len(source["images"]) == report.stats["assets"]
    assert len(api.getAnnIds()) == len(source["annotations"]) == report.stats["annotations"]
    anns = api.loadAnns(api.getAnnIds())
    shaped = [a for a in anns if a["segmentation"]][:2000]
    assert any(isinstance(a["segmentation"], dict) for a in anns)  # crowd RLE among them
    for ann in shaped:
        assert mask_utils.area(api.annToRLE(ann)) >= 0
