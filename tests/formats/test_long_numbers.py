"""Issue 19 item 14 in the text formats: an integer over 4,300 digits (Python's int() limit) in a YOLO
row or data.yaml, or in a VOC/CVAT XML value, is exit 2 naming the file and line (was exit 3 for YOLO)."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

from picsellia_formats import cli

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "fixtures"
HUGE = "9" * 4400


def run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    return code, err.getvalue()


@pytest.mark.parametrize("where", ["class-index", "nc"])  # names keys: yolo-real (issue 19 item 9)
def test_yolo(where: str, tmp_path: Path) -> None:
    root = tmp_path / "yolo"
    shutil.copytree(FIX / "real_exports/ultralytics_segment", root)
    if where == "class-index":
        label = root / "labels/train/1.txt"
        label.write_text(re.sub(r"^\d+", HUGE, label.read_text(), count=1))
        named = label
    else:
        named = root / "data.yaml"
        text = named.read_text()
        named.write_text(text + f"nc: {HUGE}\n")
    code, err = run(["convert", str(root), str(tmp_path / "out.json"), "--from", "yolo", "--to", "coco"])
    assert code == 2, err
    lines = err.splitlines()
    assert lines and all(line.startswith(f"error: {named}: ") for line in lines), err


@pytest.mark.parametrize(("fmt", "source", "pattern"), [
    ("voc", "raccoon_voc/annotations/raccoon-2.xml", r"<xmin>\d+</xmin>"),
    ("voc", "raccoon_voc/annotations/raccoon-2.xml", r"<width>\d+</width>"),
    ("cvat", "cvat/docs_example/annotations.xml", r'xtl="[\d.]+"'),
    ("cvat", "cvat/docs_example/annotations.xml", r'<image id="\d+"'),
])
def test_xml(fmt: str, source: str, pattern: str, tmp_path: Path) -> None:
    text = (FIX / source).read_text()
    m = re.search(pattern, text)
    assert m is not None
    digits = re.search(r"[\d.]+", m.group(0))
    assert digits is not None
    src = tmp_path / Path(source).name
    src.write_text(text[:m.start() + digits.start()] + HUGE + text[m.start() + digits.end():])
    code, err = run(["convert", str(src), str(tmp_path / "out.json"), "--from", fmt, "--to", "coco"])
    assert code == 2, err
    assert all(line.startswith(f"error: {src}: ") for line in err.splitlines()), err
