"""Every bundled fixture through every target format gives the recorded output bytes.

The hashes in ``tests/data/golden_output_hashes.json`` were recorded by
``benchmarks/record_output_hashes.py --write``; a deliberate output change re-records them and the
commit names the bug it fixes.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _recorder():
    path = ROOT / "benchmarks" / "record_output_hashes.py"
    spec = importlib.util.spec_from_file_location("record_output_hashes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_outputs_match_the_golden_hashes() -> None:
    recorder = _recorder()
    golden = json.loads(recorder.GOLDEN.read_text())
    assert len(golden) >= 50  # every detected fixture source, with and without images
    assert recorder.diff(golden, recorder.run()) == []


def test_diff_names_the_differing_file() -> None:
    recorder = _recorder()
    old = {"a images=no": {"coco/default": {"files": 1, "tree": "x", "report": "r", "annotations.json": "1"}}}
    new = {"a images=no": {"coco/default": {"files": 1, "tree": "y", "report": "r", "annotations.json": "2"}}}
    assert recorder.diff(old, new) == ["a images=no -> coco/default: annotations.json, tree"]
    assert recorder.diff(old, {}) == ["a images=no: removed"]
