"""converters/voc_to_yolo.py, run as a user runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import picsellia_formats as pf
from tests.conftest import FIXTURES, ROOT

SCRIPT = ROOT / "converters" / "voc_to_yolo.py"
CATS = FIXTURES / "voc_toy_cats"


def _run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def _boxes(ds: pf.Dataset) -> dict[str, list[tuple[str, tuple[float, ...]]]]:
    return {Path(a.file_name).stem: sorted((n.label, n.box) for n in a.annotations) for a in ds.assets}


def test_toy_cats_to_yolo_keeps_every_box(tmp_path: Path) -> None:
    out = tmp_path / "yolo"
    result = _run(CATS / "gts_vocpascal_format", out, "--images", CATS / "images", "--classes", CATS / "voc.names",
                  "--include-unlabelled")
    assert result.returncode == 0, result.stderr
    assert "12 images, 12 boxes, 20 classes" in result.stdout
    assert (out / "classes.txt").read_text().split() == (CATS / "voc.names").read_text().split()
    assert (out / "labels" / "2007_000549.txt").read_text().split()[0] == "7"  # cat is class 7 of voc.names
    assert sorted(p.stem for p in (out / "labels").glob("*.txt")) == sorted(p.stem for p in
                                                                         (CATS / "images").glob("*.jpg"))
    voc = pf.read(CATS / "gts_vocpascal_format", images=CATS / "images", include_unlabelled=True)
    yolo = pf.read(out, "yolo")
    a, b = _boxes(voc), _boxes(yolo)
    assert a.keys() == b.keys()
    for stem in a:
        assert [n for n, _ in a[stem]] == [n for n, _ in b[stem]]
        for (_, box_a), (_, box_b) in zip(a[stem], b[stem]):
            assert box_b == pytest.approx(box_a, abs=1e-6)


def test_devkit_splits_and_difficult(tmp_path: Path) -> None:
    root = tmp_path / "VOC2012"
    shutil.copytree(CATS / "gts_vocpascal_format", root / "Annotations")
    shutil.copytree(CATS / "images", root / "JPEGImages")
    xml = root / "Annotations" / "2007_000549.xml"
    xml.write_text(xml.read_text().replace("<difficult>0</difficult>", "<difficult>1</difficult>"))
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("2007_000549\n2007_003525\n")
    (root / "ImageSets" / "Main" / "val.txt").write_text("2007_004856\n")
    out = tmp_path / "yolo"
    result = _run(root, out, "--skip-difficult")
    assert result.returncode == 0, result.stderr
    assert "11 boxes" in result.stdout and "1 difficult object left out" in result.stdout
    assert (out / "labels" / "train" / "2007_000549.txt").read_text() == ""
    assert (out / "labels" / "val" / "2007_004856.txt").read_text().strip()
    assert (out / "images" / "val" / "2007_004856.jpg").is_file()


def test_missing_class_is_an_error(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("dog\n")
    result = _run(CATS / "gts_vocpascal_format", tmp_path / "out", "--classes", names, "--no-copy")
    assert result.returncode == 2 and "lacks the classes cat" in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_images_refuse_unless_skipped(tmp_path: Path) -> None:
    """raccoon_voc ships 40 of its 200 images: label files without images are refused, or left out on request."""
    src, images = FIXTURES / "raccoon_voc/annotations", FIXTURES / "raccoon_voc/images"
    refused = _run(src, tmp_path / "a", "--images", images)
    assert refused.returncode == 1 and not (tmp_path / "a").exists()
    assert "160 of 200 images are not in" in refused.stderr and "--skip-missing-images" in refused.stderr
    kept = _run(src, tmp_path / "b", "--images", images, "--skip-missing-images")
    assert kept.returncode == 0, kept.stderr
    assert "images not found and left out: 160 images with 173 boxes" in kept.stdout
    labels = sorted(p.stem for p in (tmp_path / "b" / "labels").rglob("*.txt"))
    assert labels == sorted(p.stem for p in (tmp_path / "b" / "images").rglob("*.jpg")) and len(labels) == 40
    assert _run(src, tmp_path / "c", "--no-copy").returncode == 0  # labels only: asked for
