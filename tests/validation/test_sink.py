"""The findings file: every finding as a JSON line in the order found, written atomically."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.validation import validate
from picsellia_formats.validation.findings import Finding, ValidationReport
from picsellia_formats.validation.sink import FindingsFile


def _dataset(n: int) -> Dataset:
    return Dataset([Label("cat")], [Asset(f"{i}.jpg", 10, 10, [Annotation("cat", box=(1.0, 1.0, 0.0, 2.0), id=i,
                                                                          area=50.0)]) for i in range(n)])


def test_every_finding_is_written_while_few_are_held(tmp_path: Path) -> None:
    out = tmp_path / "f.jsonl"
    with FindingsFile(out) as sink:
        report = validate(_dataset(30), keep=1, sink=sink)
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(lines) == sink.written == len(report) > len(report.findings)
    assert lines == [f.to_dict() for f in validate(_dataset(30)).findings]
    assert {line["label"] for line in lines if "object_index" in line} == {"cat"}


def test_a_failed_run_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "f.jsonl"
    with pytest.raises(RuntimeError), FindingsFile(out) as sink:
        ValidationReport(sink=sink).add(Finding("asset-empty", "info", "no objects", asset="a.jpg"))
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "f.jsonl"
    out.write_bytes(b"old\n" * 100)
    with FindingsFile(out) as sink:
        sink.write(Finding("asset-empty", "info", "no objects", asset="a.jpg"))
    assert out.read_bytes().count(b"\n") == 1 and b"old" not in out.read_bytes()


def test_write_outside_the_block_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        FindingsFile("x.jsonl").write(Finding("asset-empty", "info", "x"))
