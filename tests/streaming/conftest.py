"""Fixtures shared by the streaming tests."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

import picsellia_formats as pf
from picsellia_formats import formats

ROOT = Path(__file__).resolve().parents[2]


def _is_coco_instances(p: Path) -> bool:
    try:
        return formats.detect(p) == "coco" and isinstance(orjson.loads(p.read_bytes()), dict)
    except (pf.PicselliaFormatsError, ValueError):
        return False


#: every bundled COCO instances file (the streaming and record-path tests run over all of them)
COCO_FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.suffix.lower() == ".json"
                       and _is_coco_instances(p))


@pytest.fixture(scope="session")
def synth_10k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmarks' synthetic COCO set at 10k images (seeded: the same file every run)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from synth_coco import generate
    finally:
        sys.path.pop(0)
    path = tmp_path_factory.mktemp("synth") / "synth10k.json"
    path.write_bytes(orjson.dumps(generate(10_000)))
    return path
