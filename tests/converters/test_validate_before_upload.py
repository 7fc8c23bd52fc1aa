"""converters/validate_before_upload.py, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import picsellia_formats as pf
from tests.conftest import ROOT
from tests.validation.defects import _copy_coco, _exif_swapped

SCRIPT = ROOT / "converters" / "validate_before_upload.py"
CATS = ROOT / "fixtures" / "voc_toy_cats"


def _run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def _corpus(tmp_path: Path):  # type: ignore[no-untyped-def]
    corpus = _copy_coco(tmp_path / "cats", CATS / "gts_coco_format" / "toy_example_coco.JSON", CATS / "images",
                        "plain")
    first = corpus.first_image()["id"]
    corpus.add_ann(first, bbox=[-8.0, 40.0, 30.0, 30.0], area=900.0)  # reaches out: clipped
    corpus.add_ann(first, bbox=[5.0, 5.0, 0.0, 30.0], area=0.0)  # zero width: dropped
    cid = corpus.add_category("dog ")
    corpus.add_ann(first, cid, bbox=[50.0, 50.0, 30.0, 30.0], area=900.0)  # label with a trailing space
    _exif_swapped(corpus)  # an image turned by EXIF, annotated on its stored pixels
    return corpus


def test_fixes_then_prints_the_plan(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    corpus.write()
    source = corpus.json.read_bytes()
    fixed = tmp_path / "fixed.json"
    r = _run(corpus.json, "--images", corpus.images, "--fixed", fixed, "--json", tmp_path / "out.json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert corpus.json.read_bytes() == source
    out = r.stdout
    assert "== 1. validation" in out and "box-zero-size" in out and "image-exif-swapped" in out
    assert "== 2. corrected copy" in out and "box (-8, 40, 30, 30) clipped to (0, 40, 22, 30)" in out
    assert "label 'dog ' renamed 'dog'" in out
    assert "plan: push 11 images, 15 objects and 2 labels to dataset 'annotations' version 'initial' " \
           "(OBJECT_DETECTION); nothing sent (--dry-run)" in out
    assert "objects per label: cat 14, dog 1" in out
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["after_fix"]["by_severity"]["error"] == 0
    ds = pf.read(fixed)
    turned = next(a for a in ds.assets if a.file_name == "turned.jpg")
    assert (turned.width, turned.height) == (500, 375)  # the displayed size of the stored 375 x 500 image


def test_an_unfixable_error_stops_before_the_plan(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    corpus.add_image("gone.jpg", 100, 100)
    corpus.write()
    r = _run(corpus.json, "--images", corpus.images, "--fixed", tmp_path / "fixed.json")
    assert r.returncode == 1
    assert "image-missing" in r.stdout and "nothing would be pushed" in r.stdout and "plan:" not in r.stdout


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{")
    r = _run(tmp_path / "bad.json", "--from", "coco", "--images", tmp_path, "--fixed", tmp_path / "out.json")
    assert r.returncode == 2 and "error:" in r.stderr
