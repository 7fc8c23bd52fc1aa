"""`stats_stream` gives `stats.compute` of the whole dataset, on every bundled COCO file, without the Dataset."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import picsellia_formats as pf
from picsellia_formats.stats import StatsBuilder, compute
from picsellia_formats.streaming.stats import stats_stream
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


def _coco(p: Path) -> bool:
    try:
        return pf.detect(p) == "coco" and isinstance(orjson.loads(p.read_bytes()), dict)
    except (pf.PicselliaFormatsError, ValueError):
        return False


def _readable(p: Path) -> bool:
    try:
        pf.read(p, "coco")
    except pf.FormatError:
        return False
    return "panoptic" not in p.name


FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.suffix.lower() == ".json" and _coco(p)
                  and _readable(p))


@pytest.mark.parametrize("src", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_stats_as_in_memory(src: Path) -> None:
    assert stats_stream(src).to_dict() == compute(pf.read(src, "coco")).to_dict()


def test_a_split_file_counts_its_split(tmp_path: Path) -> None:
    doc = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0}],
           "categories": [{"id": 1, "name": "cat"}]}
    src = tmp_path / "annotations" / "instances_val.json"
    src.parent.mkdir()
    src.write_bytes(orjson.dumps(doc))
    got = stats_stream(src)
    assert got.splits["val"].assets == 1 and got.to_dict() == compute(pf.read(src, "coco")).to_dict()


def test_builder_without_sizes_gives_the_same_numbers() -> None:
    ds = pf.read(ROOT / "fixtures" / "sahi_coco" / "coco_utils" / "terrain2_coco.json", "coco")
    lean = StatsBuilder(ds.label_names, keep_sizes=False)
    for asset in ds.assets:
        lean.add(asset)
    stats = lean.result()
    assert stats.to_dict() == compute(ds).to_dict()
    assert all(not ls.sizes for ls in stats.labels.values())


def test_cli_stream_and_memory_give_the_same_json(tmp_path: Path) -> None:
    src = ROOT / "fixtures" / "sahi_coco" / "coco_utils" / "terrain2_coco.json"
    for mode in ("stream", "no-stream"):
        result = run_cli("stats", src, f"--{mode}", "-q", "--json", tmp_path / f"{mode}.json")
        assert result.code == 0, result.err
    assert (tmp_path / "stream.json").read_bytes() == (tmp_path / "no-stream.json").read_bytes()
    refused = run_cli("stats", ROOT / "fixtures" / "voc_toy_cats" / "gts_vocpascal_format", "--stream")
    assert refused.code == 2 and "--stream" in refused.err


def test_cli_streams_by_itself_above_the_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import picsellia_formats.streaming.stats as streamed
    from picsellia_formats import api

    src = ROOT / "fixtures" / "sahi_coco" / "coco_utils" / "terrain2_coco.json"
    calls = []
    real = streamed.stats_stream
    monkeypatch.setattr(streamed, "stats_stream", lambda *a, **k: calls.append(a) or real(*a, **k))
    from picsellia_formats.cli import main

    assert main(["stats", str(src), "-q", "--json", str(tmp_path / "small.json")]) == 0
    assert calls == []  # under STREAM_ABOVE: in memory
    monkeypatch.setattr(api, "STREAM_ABOVE", 0)
    assert main(["stats", str(src), "-q", "--json", str(tmp_path / "big.json")]) == 0
    assert len(calls) == 1
    assert (tmp_path / "small.json").read_bytes() == (tmp_path / "big.json").read_bytes()
