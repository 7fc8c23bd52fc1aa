"""Rows by task: what each Ultralytics task allows, and bad bytes never crash the reader."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.errors import ProblemCollector
from picsellia_formats.formats.yolo.parse import RowParser
from picsellia_formats.report import Report

F = Path("x.txt")


def _parse(text: str, task: str | None, kpt_shape: tuple[int, int] | None = None, skip: bool = False):
    problems = ProblemCollector()
    report = Report()
    parser = RowParser({0: "a", 1: "b"}, task, kpt_shape, skip, problems, report)
    anns = parser.parse(text, F, 100, 50)
    return anns, problems, report, parser


@pytest.mark.parametrize(("task", "row", "kind"), [
    (None, "0 0.5 0.5 0.2 0.2", "box"),
    (None, "0 0.5 0.5 0.2 0.2 0.9", "box"),
    (None, "0 0.1 0.1 0.5 0.1 0.5 0.5", "polygon"),
    (None, "0 -0.1 0.1 0.5 0.1 0.5 0.5 0.1 1.2", "polygon"),  # 4 corners past the edge: OBB
    ("detect", "0 0.5 0.5 0.2 0.2", "box"),
    ("segment", "0 0.1 0.1 0.5 0.1 0.5 0.5", "polygon"),
    ("obb", "0 0.1 0.1 0.5 0.1 0.5 0.5 0.1 0.5", "polygon"),
    ("pose", "0 0.5 0.5 0.2 0.2 0.1 0.1 2", "keypoints"),
    ("pose", "0 5e-1 5E-1 2.0e-01 0.2 1e-05 0.1 1.000000", "keypoints"),  # %g / exponent notation
])
def test_rows_each_task_allows(task: str | None, row: str, kind: str) -> None:
    anns, problems, _, _ = _parse(row, task, (1, 3) if task == "pose" else None)
    assert problems.count == 0, problems.problems
    assert len(anns) == 1
    ann = anns[0]
    assert {"box": ann.box is not None and ann.polygon is None and ann.keypoints is None,
            "polygon": ann.polygon is not None, "keypoints": ann.keypoints is not None}[kind]


@pytest.mark.parametrize(("task", "row", "expected"), [
    ("detect", "0 0.1 0.1 0.5 0.1 0.5 0.5", "7 values; expected 5 (class cx cy w h) or 6"),
    ("segment", "0 0.5 0.5 0.2 0.2", "5 values; expected an odd count >= 7"),
    ("obb", "0 0.1 0.1 0.5 0.1 0.5 0.5", "7 values; expected 9"),
    ("pose", "0 0.1 0.1 0.5 0.1 0.5 0.5", "7 values; expected 8"),
    (None, "0 0.1 0.1 0.5 0.1 0.5 0.5 0.4", "8 values; expected 5"),
])
def test_rows_a_task_does_not_allow_name_task_line_and_flag(task: str | None, row: str, expected: str) -> None:
    _, problems, _, _ = _parse(f"\n{row}", task, (1, 3) if task == "pose" else None)
    assert problems.count == 1
    p = problems.problems[0]
    assert p.file == "x.txt" and p.record == "line 2"
    assert p.message.startswith(expected), p.message
    assert f"YOLO task '{task or 'auto'}'" in p.message and "--yolo-skip-bad-rows" in p.message
    if task is None:
        assert "pose rows need kpt_shape" in p.message


def test_skipped_rows_are_reported() -> None:
    anns, problems, report, parser = _parse("0 0.5 0.5 0.2 0.2\n0 0.5\n", "detect", skip=True)
    assert len(anns) == 1 and problems.count == 0 and parser.skipped == 1
    assert "1 bad row skipped" in str(report)


@pytest.mark.parametrize(("row", "message"), [
    ("0 0.5 0.5 0.2 0.2 0.1 0.1 3", "visibility 3 is not 0, 1 or 2"),
    ("0 0.5 0.5 0.2 0.2 1.5 0.1 2", r"keypoint 0 \(1.5, 0.1\) is outside"),
])
def test_bad_keypoints_are_errors(row: str, message: str) -> None:
    _, problems, _, _ = _parse(row, "pose", (1, 3))
    import re

    assert problems.count == 1 and re.search(message, problems.problems[0].message)


def test_pose_without_visibility_reads_visible() -> None:
    anns, _, _, _ = _parse("0 0.5 0.5 0.2 0.2 0.1 0.2 0.3 0.4 0.5 0.6", "pose", (3, 2))
    assert anns[0].keypoints == [10.0, 10.0, 2, 30.0, 20.0, 2, 50.0, 30.0, 2]


_DIR = Path(tempfile.mkdtemp(prefix="yolo-fuzz-"))
(_DIR / "images").mkdir()
Image.new("RGB", (16, 16)).save(_DIR / "images" / "a.jpg")
(_DIR / "labels").mkdir()
(_DIR / "data.yaml").write_text("train: images\nval: images\nnames: [a, b]\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=200), st.lists(st.sampled_from(
    ["0", "1", "7", "-1", "0.5", "1e-05", "nan", "inf", "2", "x", "\u00b2", " ", "\t", "\r\n", "\n", "1e309"]),
    max_size=30).map(lambda t: " ".join(t).encode())), st.sampled_from([None, "detect", "segment", "obb"]))
def test_bad_bytes_give_a_format_error_naming_the_file_never_a_crash(data: bytes, task: str | None) -> None:
    (_DIR / "labels" / "a.txt").write_bytes(data)
    try:
        pf.read(_DIR, "yolo", task=task)
    except pf.FormatError as err:
        assert "a.txt" in str(err) or "data.yaml" in str(err), str(err)
