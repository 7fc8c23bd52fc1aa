"""Shared test fixtures: paths of the bundled datasets and a CLI runner."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"

#: every bundled COCO instances file (ground truth)
COCO_INSTANCE_FILES = sorted(
    [p for p in (FIXTURES / "sahi_coco").rglob("*.json") if p.name != "result.json"
     and not (p.name.startswith("terrain") and not p.name.endswith("_coco.json"))]
    + [FIXTURES / "picsellia_coco_det" / "annotations.json",
       FIXTURES / "voc_toy_cats" / "gts_coco_format" / "toy_example_coco.JSON",
       FIXTURES / "voc_toy_cats" / "dets_coco_format" / "coco_dets.json"]
)
#: every bundled COCO results list
COCO_RESULT_FILES = sorted(
    [*(FIXTURES / "cocoapi_results").glob("*.json"), FIXTURES / "sahi_coco" / "coco_evaluate" / "result.json"]
)


#: under CI (.ci/run sets CI=true) every peer the tests check against is installed: a missing one fails
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def require(module: str, extra: str, what: str = "") -> ModuleType:
    """`module` imported; when it is missing, a failure under CI (a skip there would hide a gap) and
    elsewhere a skip naming the extra to install and what stays untested.

    Example: ``tf = require("tensorflow", "test", "TensorFlow's decoder")``
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        why = f"{module} is not installed (pip install -e '.[{extra}]')" + (f"; {what} is untested" if what else "")
        if IN_CI:
            pytest.fail(f"CI: {why}")
        pytest.skip(why, allow_module_level=True)  # also at a module's top (a whole file of one peer)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*args: str | Path, cwd: Path = ROOT, timeout: float = 300) -> CliResult:
    """Run ``python -m picsellia_formats`` in a child process (what a user types)."""
    proc = subprocess.run([sys.executable, "-m", "picsellia_formats", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
