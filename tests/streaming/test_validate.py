"""`validate_stream` gives the in-memory `validate`'s findings (no images) on COCO files, without the Dataset."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import picsellia_formats as pf
from picsellia_formats.streaming.validate import validate_stream

ROOT = Path(__file__).resolve().parents[2]


def _coco(p: Path) -> bool:
    try:
        return pf.detect(p) == "coco" and isinstance(orjson.loads(p.read_bytes()), dict)
    except (pf.PicselliaFormatsError, ValueError):
        return False


FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.suffix.lower() == ".json" and _coco(p))


def _key(f) -> tuple:
    return (f.code, f.severity, f.asset_index, f.object_index, f.message, f.asset, f.record, repr(f.object_id),
            repr(f.label))


def _readable(p: Path) -> bool:
    try:
        pf.read(p, "coco")
    except pf.FormatError:
        return False
    return True


@pytest.mark.parametrize("src", [p for p in FIXTURES if _readable(p)], ids=lambda p: str(p.relative_to(ROOT)))
@pytest.mark.parametrize("batch", [3, 2000])
def test_same_findings_as_in_memory(src: Path, batch: int) -> None:
    expected = pf.validate(src, format="coco")
    if "panoptic" in src.name:  # its objects are in PNGs: refused by the stream, naming the way out
        with pytest.raises(pf.FormatError, match="convert in memory"):
            validate_stream(src, batch=batch)
        return
    got = validate_stream(src, batch=batch)
    assert sorted(map(_key, got)) == sorted(map(_key, expected))
    assert got.stats["assets"] == expected.stats["assets"]
    assert got.stats["objects"] == expected.stats["objects"]


def test_duplicates_across_windows_are_found(tmp_path: Path) -> None:
    doc = {"images": [{"id": i, "file_name": "a.jpg" if i in (1, 7) else f"{i}.jpg", "width": 10, "height": 10}
                      for i in range(1, 10)],
           "annotations": [{"id": 5 if i in (2, 8) else 100 + i, "image_id": i, "category_id": 1,
                            "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0} for i in range(1, 10)],
           "categories": [{"id": 1, "name": "cat"}]}
    src = tmp_path / "d.json"
    src.write_bytes(orjson.dumps(doc))
    got = validate_stream(src, batch=2)
    assert sorted(map(_key, got)) == sorted(map(_key, pf.validate(src, format="coco")))
    assert {"duplicate-file-name", "duplicate-object-id"} <= {f.code for f in got}


def test_cli_stream_gives_the_same_json(tmp_path: Path) -> None:
    from picsellia_formats.cli import main

    src = str(ROOT / "fixtures" / "sahi_coco" / "coco_utils" / "terrain2_coco.json")
    main(["validate", src, "--stream", "-q", "--json", str(tmp_path / "s.json")])
    main(["validate", src, "--no-stream", "-q", "--json", str(tmp_path / "m.json")])
    s, m = (orjson.loads((tmp_path / n).read_bytes()) for n in ("s.json", "m.json"))
    assert s["findings"] == m["findings"] and s["counts"] == m["counts"]
    assert main(["validate", src, "--stream", "--images", str(tmp_path)]) == 2
