"""converters/coco_to_picsellia.py, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import picsellia_formats as pf
from tests.conftest import FIXTURES, ROOT

SCRIPT = ROOT / "converters" / "coco_to_picsellia.py"
SRC = FIXTURES / "sahi_coco/coco_utils/terrain_all_coco.json"


def _run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_convert_with_status_and_tag(tmp_path: Path) -> None:
    out = tmp_path / "picsellia.json"
    result = _run(SRC, out, "--status", "ACCEPTED", "--tag", "train")
    assert result.returncode == 0, result.stderr
    assert "3 pictures, 22 objects" in result.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [c["name"] for c in data["categories"]] == pf.read(SRC).label_names
    assert all(r["is_accepted"] and r["is_reviewed"] and not r["is_skipped"] for r in data["annotations"])
    assert all(im["tags"] == ["train"] for im in data["images"])
    back = pf.read(out)
    coco = pf.read(SRC)
    assert pf.detect(out) == "picsellia"
    assert [[a.polygon for a in asset.annotations] for asset in back.assets] == \
        [[a.polygon for a in asset.annotations] for asset in coco.assets]
    assert {a.status for a in back.assets if a.annotations} == {"ACCEPTED"}


def test_platform_only_is_refused_in_strict_mode(tmp_path: Path) -> None:
    out = tmp_path / "picsellia.json"
    result = _run(SRC, out, "--platform-only", "--strict")
    assert result.returncode == 1 and "refusing a lossy conversion" in result.stderr
    assert not out.exists()


def test_bad_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [{"id": 1}], "annotations": [], "categories": []}')
    result = _run(bad, tmp_path / "out.json")
    assert result.returncode == 2 and "bad.json" in result.stderr
