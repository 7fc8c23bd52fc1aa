"""Issue 19 item 14: numbers no format can hold and text no file system can hold, in every reader.

Integers over 64 bits (orjson read them as floats, silently), over 4,300 digits (the standard
library's fallback raised a bare ValueError: exit 3), lone surrogates (a crash in the writer: exit 3),
NUL in a file name (exit 3 in the YOLO writer): each is now exit 2 with a line naming the file and
the record."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

import picsellia_formats as pf
from picsellia_formats import cli

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "fixtures"
JSON_SEEDS = {
    "coco": FIX / "picsellia_coco_det/annotations.json",
    "picsellia": ROOT / "tests/data/picsellia/full.json",
    "labelstudio": FIX / "labelstudio/export_polygons/data_polygons.json",
    "labelme": FIX / "labelme/primitives/primitives.json",
    "createml": FIX / "createml_roboflow/_annotations.createml.json",
}
HOSTILE = {
    "4400-digit integer": "9" * 4400,
    "integer over 64 bits": str(2**64 + 1),
    "negative integer over 64 bits": str(-(2**63) - 1),
}


def run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    return code, err.getvalue()


def first_number(text: str) -> tuple[int, int]:
    """Span of the first number value (after a colon) in a JSON text."""
    import re

    m = re.search(r":\s*(-?\d+(?:\.\d+)?)", text)
    assert m is not None
    return m.span(1)


@pytest.mark.parametrize("value", list(HOSTILE), ids=list(HOSTILE))
@pytest.mark.parametrize("fmt", list(JSON_SEEDS))
def test_an_integer_no_format_can_hold_is_exit_2_naming_file_and_record(fmt: str, value: str,
                                                                        tmp_path: Path) -> None:
    text = JSON_SEEDS[fmt].read_text(encoding="utf-8")
    a, b = first_number(text)
    src = tmp_path / JSON_SEEDS[fmt].name
    src.write_text(text[:a] + HOSTILE[value] + text[b:], encoding="utf-8")
    code, err = run(["convert", str(src), str(tmp_path / "out.json"), "--from", fmt, "--to", "coco"])
    assert code == 2, err
    lines = err.splitlines()
    assert lines and all(line.startswith(f"error: {src}: ") for line in lines), err
    assert "outside 64 bits" in err or "not a finite number" in err or "must be" in err, err


@pytest.mark.parametrize("fmt", list(JSON_SEEDS))
def test_a_lone_surrogate_is_exit_2_naming_file_and_record(fmt: str, tmp_path: Path) -> None:
    text = JSON_SEEDS[fmt].read_text(encoding="utf-8")
    i = text.index('"', text.index(":")) + 1  # inside the first string value
    src = tmp_path / JSON_SEEDS[fmt].name
    src.write_text(text[:i] + "\\ud800" + text[i:], encoding="utf-8")
    code, err = run(["convert", str(src), str(tmp_path / "out.json"), "--from", fmt, "--to", "coco"])
    assert code == 2, err
    assert all(line.startswith(f"error: {src}: ") for line in err.splitlines()), err
    assert "lone surrogate" in err


def test_the_json_path_of_each_bad_value_is_the_record(tmp_path: Path) -> None:
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}],
            "categories": [{"id": 1, "name": "x"}]}
    text = json.dumps(data).replace('"bbox": [0, 0, 1, 1]', f'"bbox": [0, {"1" * 5000}, 1, 1]')
    src = tmp_path / "a.json"
    src.write_text(text)
    with pytest.raises(pf.FormatError) as err:
        pf.read(src, "coco")
    assert err.value.lines() == [f"{src}: annotations[0].bbox[1]: integer 111111111111... (5,000 digits) is "
                                 "outside 64 bits: no format or platform field can hold it"]


def test_uint64_values_still_read_exactly(tmp_path: Path) -> None:
    data = {"images": [{"id": 2**64 - 1, "file_name": "a.jpg", "width": 4, "height": 4}],
            "annotations": [], "categories": []}
    src = tmp_path / "a.json"
    src.write_text(json.dumps(data))
    assert pf.read(src, "coco").assets[0].id == 2**64 - 1


def _coco_with(name: str, label: str = "x") -> dict[str, Any]:
    return {"images": [{"id": 1, "file_name": name, "width": 4, "height": 4}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}],
            "categories": [{"id": 1, "name": label}]}


@pytest.mark.parametrize("target", ["yolo", "voc", "coco", "cvat", "labelme"])
def test_nul_in_a_file_name_is_exit_2_naming_file_and_image(target: str, tmp_path: Path) -> None:
    src = tmp_path / "a.json"
    src.write_text(json.dumps(_coco_with("a\x00b.jpg")))
    code, err = run(["convert", str(src), str(tmp_path / "out"), "--from", "coco", "--to", target])
    assert code == 2, err
    assert err.splitlines() == [f"error: {src}: image 0 ('a\\x00b.jpg'): file name holds a NUL character "
                                "(no file system or XML file can hold it)"]


def test_nul_in_a_label_name_is_named_too(tmp_path: Path) -> None:
    src = tmp_path / "a.json"
    src.write_text(json.dumps(_coco_with("a.jpg", "c\x00t")))
    with pytest.raises(pf.FormatError, match=r"a\.json: label 'c\\x00t': name holds a NUL"):
        pf.read(src, "coco")
