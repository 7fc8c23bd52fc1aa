"""The streamed split: the in-memory split's assignment, files and split.json, without the Dataset."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest

import picsellia_formats as pf
from picsellia_formats.cli import main
from picsellia_formats.stratify.problem import count_matrix
from picsellia_formats.streaming.table import label_table

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = [ROOT / "fixtures" / "picsellia_coco_det" / "annotations.json",
            ROOT / "fixtures" / "voc_toy_cats" / "gts_coco_format" / "toy_example_coco.JSON",
            *sorted((ROOT / "fixtures" / "sahi_coco").rglob("*coco.json"))]


def _untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _tree(path: Path) -> dict[str, Any]:
    """sha256 of every file; split.json as data without its timings (the in-memory one has them too), and
    not the output marker (a digest of the files, split.json's timings included)."""
    return {p.relative_to(path).as_posix(): _untimed(orjson.loads(p.read_bytes())) if p.name == "split.json"
            else hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.rglob("*"))
            if p.is_file() and p.name != ".picsellia-formats.json"}


@pytest.mark.parametrize("src", FIXTURES, ids=lambda p: p.name)
def test_label_table_is_the_count_matrix(src: Path) -> None:
    table = label_table(pf.stream(src))
    classes, counts = count_matrix(pf.read(src, "coco"))
    assert table.classes == classes
    assert (table.counts != counts).nnz == 0
    assert [a.file_name for a in table.assets] == [a.file_name for a in pf.read(src, "coco").assets]


@pytest.mark.parametrize("to", ["coco", "yolo", "voc"])
@pytest.mark.parametrize("src", FIXTURES[:3], ids=lambda p: p.name)
def test_streamed_split_writes_the_in_memory_files(src: Path, to: str, tmp_path: Path) -> None:
    common = ["split", str(src), "--ratios", "0.6,0.2,0.2", "--to", to, "--seed", "3", "-q"]
    assert main([*common[:2], str(tmp_path / "m"), *common[2:], "--no-stream"]) == 0
    assert main([*common[:2], str(tmp_path / "s"), *common[2:], "--stream"]) == 0
    assert _tree(tmp_path / "s") == _tree(tmp_path / "m")
