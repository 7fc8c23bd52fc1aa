"""The command line as a user types it: summary line, report, strict mode, exit codes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from picsellia_formats.cli import main
from picsellia_formats.errors import OptionError
from tests.conftest import FIXTURES, run_cli

TOY = FIXTURES / "voc_toy_cats/gts_coco_format/toy_example_coco.JSON"


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.code == 0
    assert "convert" in result.out and "detect" in result.out


def test_convert_prints_one_summary_line_and_writes_the_report(tmp_path: Path) -> None:
    out, report = tmp_path / "out.json", tmp_path / "report.json"
    result = run_cli("convert", FIXTURES / "sahi_coco/coco_utils/terrain_all_coco.json", out, "--to", "coco",
                     "--report", report)
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    assert first.startswith("coco -> coco: 3 assets, 22 objects, 2 labels in ")
    assert "22 annotation areas recomputed" in result.out
    data = json.loads(report.read_text())
    assert data["lossy"] is False and data["stats"]["annotations"] == 22
    assert data["entries"][0]["what"] == "annotation areas recomputed"


def test_convert_into_an_existing_folder_writes_the_default_file_name(tmp_path: Path) -> None:
    result = run_cli("convert", TOY, tmp_path, "--to", "coco")
    assert result.code == 0, result.err
    assert (tmp_path / "annotations.json").exists()


def test_strict_refuses_a_lossy_conversion_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "captions.json"
    src.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                               "annotations": [{"id": 1, "image_id": 1, "caption": "hello"}]}))
    out = tmp_path / "out.json"
    result = run_cli("convert", src, out, "--to", "coco", "--strict")
    assert result.code == 1
    assert "1 caption dropped" in result.err
    assert not out.exists() and list(tmp_path.iterdir()) == [src]
    assert run_cli("convert", src, out, "--to", "coco").code == 0


@pytest.mark.parametrize("content, message", [
    (b'{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 4, "image_id": 2, '
     b'"category_id": 1}], "categories": [{"id": 1, "name": "x"}]}',
     "annotation[0] (id=4): image_id 2 is not among the images"),
    (b'{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 4, "image_id": 1, '
     b'"category_id": 1, "bbox": [NaN, 1, 2, 3]}], "categories": [{"id": 1, "name": "x"}]}',
     "annotation[0] (id=4): bbox: non-finite coordinate nan"),
    (b'{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 4, "image_id": 1, '
     b'"category_id": 1, "segmentation": [[1, 2, 3]]}], "categories": [{"id": 1, "name": "x"}]}',
     "segmentation part 0: odd number of coordinates (3)"),
    (b'{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 4, "image_id": 1, '
     b'"category_id": 9}], "categories": [{"id": 1, "name": "x"}]}',
     "category_id 9 is not among the categories"),
    (b'{"images": [{"id": 1, "file_name": "a.jpg", "width": "wide"}]}', "width must be a non-negative number"),
    (b'{"images": [{"id": 1, "file_na', "not valid JSON"),
])
def test_bad_input_exits_2_with_file_and_record_and_no_traceback(content: bytes, message: str,
                                                                 tmp_path: Path) -> None:
    src = tmp_path / "bad.json"
    src.write_bytes(content)
    out = tmp_path / "out" / "result.json"
    result = run_cli("convert", src, out, "--to", "coco", "--from", "coco")
    assert result.code == 2
    assert "Traceback" not in result.err
    assert f"error: {src}: " in result.err and message in result.err
    assert not out.exists()
    assert not any(p.name.endswith(".tmp-pf") for p in tmp_path.rglob("*"))


def test_an_existing_output_is_left_untouched_when_input_is_bad(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_bytes(b"previous")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"images": 3}')
    assert run_cli("convert", bad, out, "--to", "coco", "--from", "coco").code == 2
    assert out.read_bytes() == b"previous"


def test_undetectable_input_lists_what_was_tried(tmp_path: Path) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("hello")
    result = run_cli("convert", src, tmp_path / "o.json", "--to", "coco")
    assert result.code == 2
    assert "no known format recognised it" in result.err and "coco:" in result.err


def test_unknown_format_and_missing_file_exit_2(tmp_path: Path) -> None:
    result = run_cli("convert", TOY, tmp_path / "o", "--to", "pdf")
    assert result.code == 2 and "unknown format 'pdf'" in result.err
    result = run_cli("convert", tmp_path / "missing.json", tmp_path / "o.json", "--to", "coco")
    assert result.code == 2 and "no such file or folder" in result.err


def test_misplaced_options_are_refused(tmp_path: Path) -> None:
    result = run_cli("convert", TOY, tmp_path / "o.json", "--to", "coco", "--coco-ground-truth", TOY)
    assert result.code == 2 and "applies only to a COCO results list" in result.err
    result = run_cli("convert", TOY, tmp_path / "o.json", "--to", "coco", "--segmentation", "rle",
                     "--voc-nonexistent")
    assert result.code == 2 and "unrecognized arguments: --voc-nonexistent" in result.err


def test_format_options_reach_the_reader_and_writer(tmp_path: Path) -> None:
    gt = FIXTURES / "sahi_coco/coco_evaluate/dataset.json"
    res = FIXTURES / "sahi_coco/coco_evaluate/result.json"
    out = tmp_path / "o.json"
    result = run_cli("convert", res, out, "--to", "coco", "--coco-ground-truth", gt, "--category-id-start", "5")
    assert result.code == 0, result.err
    assert isinstance(orjson.loads(out.read_bytes()), list)


def test_detect_command_explains(tmp_path: Path) -> None:
    result = run_cli("detect", TOY)
    assert result.code == 0
    assert result.out.splitlines()[0] == "coco"


@pytest.mark.parametrize(("exc", "code", "text"), [
    (OptionError("ratios must sum to 1"), 2, "error: ratios must sum to 1"),
    (FileNotFoundError(2, "No such file or directory", "in.json"), 2, "in.json"),
    (PermissionError(13, "Permission denied", "out/x.json"), 2, "out/x.json: cannot write or read here"),
    (ValueError("a bug of ours"), 3, "internal error (ValueError: a bug of ours)"),
    (TypeError("also ours"), 3, "please report it"),
    (OSError(5, "Input/output error"), 3, "internal error"),
])
def test_only_the_family_and_path_errors_are_bad_input(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str],
                                                       exc: Exception, code: int, text: str) -> None:
    from picsellia_formats.commands import detect as detect_command

    def boom(args: object) -> int:
        raise exc

    monkeypatch.delenv("PF_DEBUG", raising=False)
    monkeypatch.setattr(detect_command, "run", boom)
    assert main(["detect", "whatever.json"]) == code
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
