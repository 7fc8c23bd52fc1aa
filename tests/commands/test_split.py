"""``python -m picsellia_formats split``: written datasets, split.json, table, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.cli import main
from picsellia_formats.commands.split import parse_ratios
from picsellia_formats.outputs import MARKER
from tests.conftest import FIXTURES, run_cli

RACCOON = FIXTURES / "raccoon_voc/annotations"
YOLO = FIXTURES / "labelstudio_yolo/test_import_yolo_data"
VISDRONE = FIXTURES / "sahi_coco/coco_utils/visdrone2019-det-train-first50image.json"


def _written(dst: Path, names: list[str], fmt: str | None = None) -> dict[str, set[str]]:
    return {n: {a.file_name for a in pf.read(dst / n, fmt).assets} for n in names}


@pytest.mark.parametrize(("src", "ratios", "names", "to"), [
    (RACCOON, "0.8,0.1,0.1", ["train", "val", "test"], None),
    (VISDRONE, "0.8,0.2", ["train", "val"], None),
    (VISDRONE, "0.7,0.3", ["train", "val"], "yolo"),
    (YOLO, "0.6,0.4", ["train", "val"], "coco"),
])
def test_written_datasets_read_back_with_the_assignment(tmp_path: Path, src: Path, ratios: str,
                                                        names: list[str], to: str | None) -> None:
    dst = tmp_path / "out"
    args = ["split", str(src), str(dst), "--ratios", ratios, "--seed", "3", "--method", "fast"]
    if to:
        args += ["--to", to]
    assert main(args) == 0
    data = json.loads((dst / "split.json").read_text())
    assignment: dict[str, str] = data["assignment"]
    written = _written(dst, names, to)
    for name in names:
        assert written[name] == {f for f, s in assignment.items() if s == name}
    source = pf.read(src)
    assert sum(len(v) for v in written.values()) == len(source)
    # objects per split as reported
    for split in data["splits"]:
        part = pf.read(dst / split["name"], to)
        assert part.num_annotations == split["objects"]
    assert [e["name"] for e in data["platform_logs"]][-1] == "labelmap"
    assert data["summary"]["missing_classes"] == []


def test_default_output_format_is_the_input_format(tmp_path: Path) -> None:
    assert main(["split", str(RACCOON), str(tmp_path), "--quiet"]) == 0
    assert pf.detect(tmp_path / "train") == "voc"
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER, "split.json", "train", "val"]


def test_prints_the_table(tmp_path: Path) -> None:
    result = run_cli("split", VISDRONE, tmp_path, "--ratios", "0.8,0.1,0.1", "--names", "a,b,c", "--method", "fast")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["class", "objects", "a", "(80%)", "b", "(10%)", "c", "(10%)", "error", "floor"]
    assert any(line.startswith("vehicle") and "2118" in line for line in lines)
    assert any(line.startswith("images") and "40 (80.0%)" in line for line in lines)
    assert "mean error" in result.out
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER, "a", "b", "c", "split.json"]


def test_same_seed_same_split(tmp_path: Path) -> None:
    for out in ("one", "two"):
        assert main(["split", str(RACCOON), str(tmp_path / out), "--seed", "5", "-q"]) == 0
    assert (tmp_path / "one/split.json").read_bytes() != b""
    one = json.loads((tmp_path / "one/split.json").read_text())["assignment"]
    two = json.loads((tmp_path / "two/split.json").read_text())["assignment"]
    assert one == two


@pytest.mark.parametrize(("args", "message"), [
    (["--ratios", "0.8,0.3"], "ratios must sum to 1, got 1.1"),
    (["--ratios", "0.8,x"], "--ratios must be comma-separated numbers"),
    (["--ratios", "0.5,0.5", "--names", "a,b,c"], "--names gives 3 names for 2 ratios"),
    (["--ratios", "0.5,0.5", "--names", "a,a"], "split names must differ"),
    (["--ratios", "0.5,0.5", "--names", "a,../b"], "not usable as a folder name"),
])
def test_bad_ratios_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         args: list[str], message: str) -> None:
    assert main(["split", str(VISDRONE), str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_missing_source_exits_2(tmp_path: Path) -> None:
    result = run_cli("split", tmp_path / "nope.json", tmp_path / "out")
    assert result.code == 2 and "Traceback" not in result.err and result.err.startswith("error:")


def test_parse_ratios() -> None:
    assert parse_ratios("0.8,0.2", None) == {"train": 0.8, "val": 0.2}
    assert parse_ratios("0.25,0.25,0.25,0.25", None) == {f"split{i}": 0.25 for i in range(4)}
    assert parse_ratios("0.9,0.1", " tr , te ") == {"tr": 0.9, "te": 0.1}
