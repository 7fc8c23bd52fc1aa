"""``python -m picsellia_formats validate``: exit codes, text and JSON reports, --fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from picsellia_formats.validation import RULES
from tests.conftest import FIXTURES, run_cli

DET = FIXTURES / "picsellia_coco_det" / "annotations.json"
CATS = FIXTURES / "voc_toy_cats"
SAHI = FIXTURES / "sahi_coco" / "coco_utils"


def test_clean_input_exits_0() -> None:
    r = run_cli("validate", CATS / "gts_coco_format" / "toy_example_coco.JSON", "--images", CATS / "images")
    assert r.code == 0, r.err
    assert "validated 10 assets, 12 objects, 10 image files" in r.out
    assert "asset-empty" in r.out and "error" not in r.out.split("\n")[1]


def test_errors_exit_1_and_fail_on_warning() -> None:
    r = run_cli("validate", DET)
    assert r.code == 1
    assert "error    bbox-out-of-image" in r.out and "annotation (id=89)" in r.out
    r = run_cli("validate", SAHI / "terrain2_coco.json", "--images", SAHI)
    assert r.code == 0
    r = run_cli("validate", SAHI / "terrain2_coco.json", "--images", SAHI, "--fail-on", "warning")
    assert r.code == 1 and "area-mismatch" in r.out
    r = run_cli("validate", DET, "--skip", "bbox-out-of-image")
    assert r.code == 0


@pytest.mark.parametrize("make", [
    lambda p: p.write_text("{not json"),
    lambda p: p.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                                       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                                                        "bbox": [0, 0, 1]}],
                                       "categories": [{"id": 1, "name": "a"}]})),
])
def test_unreadable_input_exits_2(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "bad.json"
    make(p)
    r = run_cli("validate", p, "--from", "coco")
    assert r.code == 2 and "error:" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("args", [
    ("validate", "no/such/file.json"),
    ("validate", DET, "--images", "no/such/folder"),
    ("validate", DET, "--rules", "no-such-rule"),
])
def test_bad_arguments_exit_2(args: tuple) -> None:
    r = run_cli(*args)
    assert r.code == 2 and "Traceback" not in r.err, r.err


def test_defects_a_reader_refuses_are_findings_not_exit_2(tmp_path: Path) -> None:
    top = json.loads(DET.read_text())
    top["annotations"].append({"id": 99999, "image_id": 424242, "category_id": 0, "bbox": [1, 2, 3, 4]})
    top["annotations"][0]["bbox"][0] = float("nan")
    (tmp_path / "a.json").write_text(json.dumps(top))
    r = run_cli("validate", tmp_path / "a.json", "--json", tmp_path / "r.json")
    assert r.code == 1, r.err
    report = json.loads((tmp_path / "r.json").read_text())
    records = {f["code"]: f.get("record") for f in report["findings"]}
    assert records["unknown-asset"] == "annotation[330] (id=99999)"
    assert records["non-finite-coordinate"] == "annotation[0] (id=0)" or "annotation[0]" in records[
        "non-finite-coordinate"]


def test_json_report_lists_every_finding(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    r = run_cli("validate", SAHI / "terrain_all_coco.json", "--images", SAHI, "--json", out, "--examples", "1")
    assert r.code == 1
    report = json.loads(out.read_text())
    assert report["counts"]["area-mismatch"] == 22
    assert len([f for f in report["findings"] if f["code"] == "area-mismatch"]) == 22  # all, not the examples
    assert r.out.count("but the polygon covers") == 1
    f = next(f for f in report["findings"] if f["code"] == "image-missing")
    assert f == {"code": "image-missing", "severity": "error",
                 "message": f"'terrain3.png' is not in {str(SAHI)!r}", "asset": "terrain3.png", "asset_index": 0,
                 "file": str(SAHI / "terrain_all_coco.json"), "record": "image (id=1)"}
    assert report["by_severity"] == {"error": 1, "warning": 23, "info": 1}
    assert report["stats"]["assets"] == 3 and report["stats"]["images_checked"] == 2  # terrain3.png is missing


def test_fix_writes_a_copy_and_leaves_the_source(tmp_path: Path) -> None:
    src = tmp_path / "det.json"
    shutil.copy(DET, src)
    before = src.read_bytes()
    out = tmp_path / "fixed" / "det.json"
    r = run_cli("validate", src, "--fix", out, "--json", tmp_path / "r.json")
    assert r.code == 0, r.out + r.err  # the corrected copy is clean
    assert src.read_bytes() == before
    assert "2 changes" in r.out and "the corrected copy has: no findings" in r.out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["fix"]["counts"] == {"bbox-out-of-image": 1, "bbox-partly-out-of-image": 1}
    assert report["after_fix"]["summary"] == "no findings"
    assert run_cli("validate", out).code == 0


@pytest.mark.parametrize("dst", ["same", "dir"])
def test_fix_refuses_to_write_over_the_source(tmp_path: Path, dst: str) -> None:
    src = tmp_path / "annotations.json"
    shutil.copy(DET, src)
    before = src.read_bytes()
    r = run_cli("validate", src, "--fix", src if dst == "same" else tmp_path)
    assert r.code == 2 and "would write over or into the source" in r.err
    assert src.read_bytes() == before


def test_fix_of_a_folder_format(tmp_path: Path) -> None:
    src = tmp_path / "voc"
    shutil.copytree(CATS / "gts_vocpascal_format", src)
    xml = src / "2007_003525.xml"
    xml.write_text(xml.read_text().replace("<xmax>", "<xmax>9", 1))
    r = run_cli("validate", src, "--images", CATS / "images", "--fix", src / "inner")
    assert r.code == 2  # inside the source folder
    r = run_cli("validate", src, "--images", CATS / "images", "--fix", tmp_path / "fixed")
    assert r.code == 0, r.out + r.err
    assert "bbox-partly-out-of-image  1  clip the box to the image" in r.out
    assert run_cli("validate", tmp_path / "fixed", "--images", CATS / "images").code == 0


def test_list_rules_and_quiet() -> None:
    r = run_cli("validate", DET, "--list-rules")
    assert r.code == 0 and len(r.out.splitlines()) == len(RULES)
    r = run_cli("validate", DET, "-q")
    assert r.out.strip() == "1 error, 1 warning" and r.code == 1


def test_options_reach_the_rules(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"weather": {"on": "asset", "kind": "select", "choices": ["sun"],
                                              "required": True}}))
    r = run_cli("validate", DET, "--rules", "qa,dataset", "--schema", schema, "--min-objects", "1000", "-q")
    assert r.out.strip() == "19 errors, 1 warning"  # 19 images unanswered; 'car' under 1000 objects
    (tmp_path / "bad.json").write_text("{")
    assert run_cli("validate", DET, "--schema", tmp_path / "bad.json").code == 2


@pytest.mark.parametrize("clash", ["src", "json"])
def test_findings_file_never_replaces_the_source_or_the_json(tmp_path: Path, clash: str) -> None:
    src = tmp_path / "a.json"
    shutil.copy(FIXTURES / "sahi_coco" / "coco_utils" / "terrain2_coco.json", src)
    before = src.read_bytes()
    out = src if clash == "src" else tmp_path / "r.json"
    result = run_cli("validate", src, "--json", tmp_path / "r.json", "--findings", out)
    assert result.code == 2 and "--findings" in result.err and "Traceback" not in result.err
    assert src.read_bytes() == before
