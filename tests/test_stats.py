"""Dataset statistics."""

from __future__ import annotations

import json
from pathlib import Path

import picsellia_formats as pf
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.stats import compute, format_table
from tests.conftest import FIXTURES, run_cli


def test_counts_sizes_kinds_and_splits() -> None:
    ds = Dataset([Label("a"), Label("b"), Label("unused")], [
        Asset("1.jpg", 100, 100, [Annotation("a", box=(0, 0, 10, 10)), Annotation("a", box=(0, 0, 100, 100)),
                                  Annotation("b", polygon=[[0, 0, 40, 0, 40, 40]])], tags=["train"]),
        Asset("2.jpg", 100, 100, [Annotation("b")], tags=["val"], status="ACCEPTED"),
        Asset("3.jpg", 100, 100, [], tags=["train"]),
    ])
    s = compute(ds)
    assert (s.assets, s.objects, s.empty_assets) == (3, 4, 1)
    assert s.kinds == {"box": 2, "polygon": 1, "classification": 1}
    a, b = s.labels["a"], s.labels["b"]
    assert (a.objects, a.images, a.min_size, a.max_size, a.mean_size) == (2, 1, 10.0, 100.0, 55.0)
    assert (a.small, a.medium, a.large) == (1, 0, 1)
    assert b.images == 2 and b.share == 0.5 and s.labels["unused"].objects == 0
    assert s.splits["train"].assets == 2 and s.splits["train"].empty_assets == 1
    assert s.splits["val"].labels == {"b": 1} and s.statuses == {"ACCEPTED": 1}
    text = format_table(s)
    assert "3 assets, 4 objects, 3 labels, 1 empty images" in text and "split" in text


def test_stats_cli_table_and_json(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = run_cli("stats", FIXTURES / "voc_toy_cats/gts_vocpascal_format", "--json", out)
    assert result.code == 0, result.err
    assert result.out.startswith("10 assets, 12 objects")
    data = json.loads(out.read_text())
    assert data["labels"]["cat"]["objects"] == 12 and data["objects"] == 12
    ds = pf.read(FIXTURES / "voc_toy_cats/gts_vocpascal_format")
    assert data["assets"] == len(ds)
