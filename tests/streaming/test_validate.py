"""`validate_stream` gives the in-memory `validate`'s findings (no images) on COCO files, without the Dataset."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    try:
        got = validate_stream(src, batch=batch)
    except pf.FormatError:  # the stream stops at a repeated image id (it cannot place its objects)
        assert "duplicate-asset-id" in expected.codes()
        return
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


def _summary(r) -> tuple:
    return (len(r), r.counts(), r.counts_by_label(), r.by_severity(), r.summary(), r.failed("error"),
            r.failed("warning"), r.failed("info"))


@pytest.mark.parametrize("src", [p for p in FIXTURES if _readable(p) and "panoptic" not in p.name],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_bounded_stream_and_in_memory_agree(src: Path, tmp_path: Path) -> None:
    """The same aggregation both ways: totals per code and label, the held examples, the findings file."""
    from picsellia_formats.validation.sink import FindingsFile

    with FindingsFile(tmp_path / "m.jsonl") as m_sink:
        memory = pf.validate(src, format="coco", keep=2, sink=m_sink)
    with FindingsFile(tmp_path / "s.jsonl") as s_sink:
        streamed = validate_stream(src, batch=3, keep=2, sink=s_sink)
    assert _summary(streamed) == _summary(memory)
    assert sorted(map(_key, streamed)) == sorted(map(_key, memory))  # the first two of each code
    s_lines, m_lines = ((tmp_path / n).read_bytes().splitlines() for n in ("s.jsonl", "m.jsonl"))
    assert sorted(s_lines) == sorted(m_lines) and len(s_lines) == len(memory)
    assert streamed.to_dict(limit=2)["omitted"] == memory.to_dict(limit=2)["omitted"]


def test_many_findings_are_counted_not_held(tmp_path: Path) -> None:
    n = 500
    doc = {"images": [{"id": i, "file_name": f"{i}.jpg", "width": 10, "height": 10} for i in range(n)],
           "annotations": [{"id": i, "image_id": i, "category_id": 1 + i % 2, "bbox": [1, 1, 2, 2], "area": 40,
                            "iscrowd": 0} for i in range(n)],
           "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]}
    src = tmp_path / "d.json"
    src.write_bytes(orjson.dumps(doc))
    got = validate_stream(src, batch=64, keep=3)
    assert got.counts()["area-mismatch"] == n and len(got.of("area-mismatch")) == 3
    assert got.counts_by_label()["area-mismatch"] == {"cat": n // 2, "dog": n // 2}
    assert f"... and {n - 3:,} more" in got.to_text(examples=3)
    full = validate_stream(src, batch=64, keep=None)
    assert len(full.of("area-mismatch")) == n and _summary(full) == _summary(got)


def test_cli_bounded_json_and_findings_file(tmp_path: Path) -> None:
    from picsellia_formats.cli import main

    src = str(ROOT / "fixtures" / "sahi_coco" / "coco_utils" / "terrain2_coco.json")
    codes = {}
    for mode in ("stream", "no-stream"):
        codes[mode] = main(["validate", src, f"--{mode}", "-q", "--keep-findings", "1", "--fail-on", "info",
                            "--json", str(tmp_path / f"{mode}.json"), "--findings", str(tmp_path / f"{mode}.jsonl")])
    assert codes["stream"] == codes["no-stream"] == 1
    s, m = (orjson.loads((tmp_path / f"{n}.json").read_bytes()) for n in ("stream", "no-stream"))
    for key in ("counts", "counts_by_label", "by_severity", "findings_total", "omitted", "summary"):
        assert s[key] == m[key], key
    assert all(n <= 1 for n in _per_code(s["findings"]).values())
    lines = {n: (tmp_path / f"{n}.jsonl").read_bytes().splitlines() for n in ("stream", "no-stream")}
    assert sorted(lines["stream"]) == sorted(lines["no-stream"])
    assert len(lines["stream"]) == s["findings_total"] == len(s["findings"]) + sum(s["omitted"].values())


def _per_code(findings: list) -> dict:
    out: dict = {}
    for f in findings:
        out[f["code"]] = out.get(f["code"], 0) + 1
    return out


def test_packed_names_survive_hash_collisions() -> None:
    from picsellia_formats.streaming.validate import PackedNames

    class Colliding(PackedNames):
        def append(self, name: str) -> None:
            super().append(name)
            self.hashes[-1] = 7  # every name the same hash: only equal names may repeat

    names = Colliding()
    for name in ["a.jpg", "b.jpg", "a.jpg", "é/ü.png", "b.jpg", "é/ü.png", "c.jpg"]:
        names.append(name)
    assert names.repeats() == [(2, 0), (4, 1), (5, 3)]
    assert [names[i] for i in range(len(names))][3] == "é/ü.png"


@given(st.lists(st.tuples(st.sampled_from(["a.jpg", "b.jpg", "c.jpg", "d.jpg"]),
                          st.sampled_from([1, 2, 3, "x", "y", 2.5])), min_size=1, max_size=9),
       st.integers(1, 4))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_duplicate_names_and_ids_as_in_memory(tmp_path: Path, images: list, batch: int) -> None:
    doc = {"images": [{"id": i, "file_name": name, "width": 10, "height": 10} for name, i in images],
           "annotations": [], "categories": [{"id": 1, "name": "cat"}]}
    src = tmp_path / "d.json"
    src.write_bytes(orjson.dumps(doc))
    try:
        expected = pf.validate(src, format="coco")
    except pf.FormatError:
        return
    try:
        got = validate_stream(src, batch=batch)
    except pf.FormatError:  # the stream stops at a repeated image id (it cannot place its objects)
        assert "duplicate-asset-id" in expected.codes()
        return
    assert sorted(map(_key, got)) == sorted(map(_key, expected))


@pytest.mark.parametrize("keep", ["0", "1"])
def test_exit_code_does_not_depend_on_what_is_held(tmp_path: Path, keep: str) -> None:
    from picsellia_formats.cli import main

    doc = {"images": [{"id": i, "file_name": f"{i}.jpg", "width": 10, "height": 10} for i in range(1, 6)],
           "annotations": [{"id": i, "image_id": i, "category_id": 1, "bbox": [1, 1, 0, 2], "area": 0,
                            "iscrowd": 0} for i in range(1, 6)],
           "categories": [{"id": 1, "name": "cat"}]}
    src = tmp_path / "d.json"
    src.write_bytes(orjson.dumps(doc))
    for mode in ("--stream", "--no-stream"):
        out = tmp_path / f"{mode}{keep}.json"
        assert main(["validate", str(src), mode, "-q", "--keep-findings", keep, "--json", str(out)]) == 1
        data = orjson.loads(out.read_bytes())
        assert data["counts"]["box-zero-size"] == 5 and data["by_severity"]["error"] == 5
        assert data["omitted"]["box-zero-size"] == 5 - int(keep)


@given(st.lists(st.integers(-(1 << 63), (1 << 63) - 1) | st.integers(0, 5), max_size=40))
@settings(max_examples=100, deadline=None)
def test_repeats_are_the_later_positions_and_their_first(values: list) -> None:
    import numpy as np

    from picsellia_formats.streaming.validate import _repeats

    first: dict = {}
    expected = [(k, first.setdefault(v, k)) for k, v in enumerate(values) if first.setdefault(v, k) != k]
    assert _repeats(np.array(values, dtype=np.int64)) == expected
