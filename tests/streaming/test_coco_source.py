"""The streaming COCO reader groups like the in-memory reader, in both of its modes, and names bad records."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import orjson
import pytest

from picsellia_formats.errors import FormatError
from picsellia_formats.streaming.coco_source import CocoSource, iter_coco

ROOT = Path(__file__).resolve().parents[2]


def _expected(data: dict) -> list[tuple[dict, list[dict]]]:
    per: dict = {}
    for a in data.get("annotations", []):
        per.setdefault(a["image_id"], []).append(a)
    return [(im, per.get(im["id"], [])) for im in data["images"]]


def _groups(path: Path, **options) -> tuple[list, CocoSource]:
    with CocoSource(path, **options) as src:
        return [(g.image, g.annotations) for g in src], src


@pytest.mark.parametrize("shuffle", [False, True], ids=["in image order", "shuffled (spilled)"])
@pytest.mark.parametrize("indent", [None, 2])
def test_groups_match_in_memory(shuffle: bool, indent: int | None, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synth_coco import generate

    data = generate(300, seed=1)
    if shuffle:
        random.Random(0).shuffle(data["annotations"])
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=False), encoding="utf-8")
    groups, src = _groups(path, chunk_size=4096, shard_images=37)
    assert groups == _expected(data)
    assert src.sorted is not shuffle
    assert src.categories == data["categories"] and src.meta["info"] == data["info"]
    assert list(tmp_path.iterdir()) == [path]  # spill removed


@pytest.mark.parametrize("shuffle", [False, True], ids=["in image order (sliced)", "shuffled (spilled)"])
@pytest.mark.parametrize("size", [1, 7, 64, 300, 1000])
def test_batches_are_the_groups_concatenated(shuffle: bool, size: int, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synth_coco import generate

    data = generate(300, seed=2)
    data["images"][5:5] = [{"id": 10_000 + i, "file_name": f"e{i}.jpg"} for i in range(40)]  # a run without objects
    if shuffle:
        random.Random(1).shuffle(data["annotations"])
    path = tmp_path / "a.json"
    path.write_bytes(orjson.dumps(data))
    expected = _expected(data)
    with CocoSource(path, chunk_size=2048, shard_images=37) as src:
        batches = list(src.batches(size))
    assert [len(images) for images, _ in batches] == [min(size, len(expected) - i)
                                                      for i in range(0, len(expected), size)]
    runs = [expected[i:i + size] for i in range(0, len(expected), size)]
    assert batches == [([im for im, _ in run], [a for _, anns in run for a in anns]) for run in runs]


def test_batches_of_a_file_without_annotations(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(orjson.dumps({"images": [{"id": i, "file_name": f"{i}.jpg"} for i in range(5)],
                                   "categories": []}))
    with CocoSource(path, chunk_size=16) as src:
        assert [(len(images), anns) for images, anns in src.batches(2)] == [(2, []), (2, []), (1, [])]


def test_categories_first_and_annotations_before_images(tmp_path: Path) -> None:
    data = {"annotations": [{"id": 1, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}],
            "categories": [{"id": 1, "name": "a {b}, [c]"}],
            "images": [{"id": 1, "file_name": "x.jpg"}, {"id": 2, "file_name": "y}, {.jpg"}]}
    path = tmp_path / "a.json"
    path.write_bytes(orjson.dumps(data))
    items = list(iter_coco(path, chunk_size=8))
    assert items[0] == data["categories"]
    assert [(g.image["id"], len(g.annotations)) for g in items[1:]] == [(1, 0), (2, 1)]


@pytest.mark.parametrize(("text", "message"), [
    (b'{"images": [{"id": 1}, {"id": 1}]}', "image[1] (id=1): duplicate image id 1"),
    (b'{"images": [{"id": 1}], "annotations": [{"id": 9, "image_id": 2}]}',
     "annotation[0] (id=9): image_id 2 is not among the images"),
    (b'{"images": [{"id": 1}], "annotations": [{"id": 9}]}', "annotation[0] (id=9): lacks image_id"),
    (b'{"images": [{"id": 1}], "annotations": [3]}', "annotation[0]: expected an object, got int"),
    (b'{"images": [{"id": 1}], "annotations": [{"id": 9, "image_id": 1}', "not valid JSON"),
    (b'{"images": [{"id": 1}]} x', "extra data"),
    (b'{"categories": []}', "no 'images' list"),
    (b"[]", "expected a JSON object"),
    (b"", "empty file"),
    (b'{"images": {}}', "images: must be a list"),
])
def test_bad_input_names_file_and_record(text: bytes, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(text)
    with pytest.raises(FormatError) as exc:
        _groups(path, chunk_size=16)
    assert str(path) in str(exc.value) and message in str(exc.value)


@pytest.mark.parametrize("doc", [b'[{"image_id":1},{"image_id":2}],"categories":[]',
                                 b'[{"image_id":1}]  ,{"x":1}]'])
def test_pass_one_finds_where_the_array_closed(doc: bytes) -> None:
    from picsellia_formats.streaming.coco_source import _IMAGE_IDS

    with pytest.raises(ValueError) as exc:
        _IMAGE_IDS.loads(doc)
    stop = _IMAGE_IDS.trailing(exc.value, doc)
    assert doc[:stop].rstrip().endswith(b"]") and _IMAGE_IDS.loads(doc[:stop])[0] == "ids"
