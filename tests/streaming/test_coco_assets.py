"""COCO -> COCO through the streaming reader and sink gives the in-memory bytes, report and errors."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import orjson
import pytest

import picsellia_formats as pf
from picsellia_formats.report import Report
from picsellia_formats.streaming.api import file_split
from picsellia_formats.streaming.coco_assets import stream_coco
from picsellia_formats.streaming.coco_sink import CocoSink

ROOT = Path(__file__).resolve().parents[2]
COCO_FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.suffix.lower() == ".json")


def _stream(src: Path, out: Path, **options) -> str:
    report = Report()
    s = stream_coco(src, report=report, **options)
    with CocoSink(out, s.labels, s.metadata, report=report) as sink:
        sink.write(s.assets)
    return str(report)


def _memory(src: Path, out: Path) -> str:
    report = Report()
    pf.write(pf.read(src, format="coco", report=report), out, "coco", report=report)
    return str(report)


def _instances(path: Path) -> bool:
    return isinstance(orjson.loads(path.read_bytes()), dict)


@pytest.mark.parametrize("src", [p for p in COCO_FIXTURES if _instances(p)],
                         ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_fixtures_stream_to_the_same_bytes(src: Path, tmp_path: Path) -> None:
    try:
        expected = _memory(src, tmp_path / "mem.json")
    except pf.FormatError as exc:
        with pytest.raises(pf.FormatError) as streamed:
            _stream(src, tmp_path / "stream.json")
        assert streamed.value.lines()[0] == exc.lines()[0]
        assert not (tmp_path / "stream.json").exists()
        return
    if file_split(src) is not None:  # tagged with its split by the in-memory reader: refused by pf.stream
        with pytest.raises(pf.FormatError, match="named for a split"):
            pf.write_stream(pf.stream(src), tmp_path / "s.json", "coco")
        assert not (tmp_path / "s.json").exists()
        return
    try:
        streamed = _stream(src, tmp_path / "stream.json", chunk_size=4096, batch_images=7)
    except pf.FormatError as exc:  # panoptic, image labels: refused, naming the way out
        assert "convert in memory" in exc.lines()[0]
        return
    assert streamed == expected
    assert (tmp_path / "stream.json").read_bytes() == (tmp_path / "mem.json").read_bytes()


@pytest.mark.parametrize("shuffle", [False, True])
def test_synthetic_streams_to_the_same_bytes(shuffle: bool, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synth_coco import generate

    data = generate(2000, seed=3)
    if shuffle:
        random.Random(1).shuffle(data["annotations"])
    src = tmp_path / "src.json"
    src.write_bytes(orjson.dumps(data))
    assert _stream(src, tmp_path / "stream.json", chunk_size=1 << 16, shard_images=100) == _memory(
        src, tmp_path / "mem.json")
    assert (tmp_path / "stream.json").read_bytes() == (tmp_path / "mem.json").read_bytes()


def test_bad_record_names_its_file_index(tmp_path: Path) -> None:
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 4, "height": 4} for i in range(10)]
    images[8]["width"] = -1
    src = tmp_path / "a.json"
    src.write_bytes(orjson.dumps({"images": images, "annotations": [], "categories": []}))
    with pytest.raises(pf.FormatError, match=r"image\[8\] \(id=8\): width must be a non-negative number"):
        _stream(src, tmp_path / "out.json", batch_images=3)
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("shuffle", [False, True])
def test_non_finite_values_are_named_like_in_memory(shuffle: bool, tmp_path: Path) -> None:
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 9, "height": 9} for i in range(1, 6)]
    anns = [{"id": k, "image_id": 1 + (k - 1) // 2, "category_id": 1, "bbox": [0, 0, 2, 2]} for k in range(1, 11)]
    if shuffle:
        anns.reverse()
    text = orjson.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "a"}]})
    src = tmp_path / "a.json"
    src.write_bytes(text.replace(b'"id":7,"image_id":4,"category_id":1,"bbox":[0,0,2,2]',
                                 b'"id":7,"image_id":4,"category_id":1,"bbox":[0,0,NaN,2]'))
    with pytest.raises(pf.FormatError) as memory:
        _memory(src, tmp_path / "mem.json")
    with pytest.raises(pf.FormatError) as streamed:
        _stream(src, tmp_path / "stream.json", chunk_size=64, shard_images=2)
    assert "(id=7): bbox: non-finite" in str(streamed.value)
    if not shuffle:
        assert streamed.value.lines() == memory.value.lines()
    assert not (tmp_path / "stream.json").exists()
