"""converters/coco_to_coco_remap.py, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, ROOT

SCRIPT = ROOT / "converters" / "coco_to_coco_remap.py"
SRC = FIXTURES / "sahi_coco/coco_utils/combined_coco.json"


def _run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_merge_and_drop(tmp_path: Path) -> None:
    before = json.loads(SRC.read_text())
    names = {c["id"]: c["name"] for c in before["categories"]}
    assert len(names) == 3
    a, b, c = sorted(names.values())
    out = tmp_path / "out.json"
    result = _run(SRC, out, "--map", f"{a}=merged", "--map", f"{b}=merged", "--drop", c)
    assert result.returncode == 0, result.stderr
    after = json.loads(out.read_text())
    assert [cat["name"] for cat in after["categories"]] == ["merged"]
    kept_ids = [k for k, v in names.items() if v in (a, b)]
    expected = [x for x in before["annotations"] if names[x["category_id"]] in (a, b)]
    assert len(after["annotations"]) == len(expected)
    assert {x["category_id"] for x in after["annotations"]} == {after["categories"][0]["id"]}
    assert after["categories"][0]["id"] in kept_ids
    assert "objects relabelled" in result.stdout


def test_unknown_label_is_an_error(tmp_path: Path) -> None:
    result = _run(SRC, tmp_path / "o.json", "--map", "nope=x")
    assert result.returncode == 2 and "no label named nope" in result.stderr
    assert not (tmp_path / "o.json").exists()
