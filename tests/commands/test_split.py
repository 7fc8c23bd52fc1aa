"""``python -m picsellia_formats split``: written datasets, split.json, table, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.cli import main
from picsellia_formats.commands.split import parse_ratios
from picsellia_formats.outputs import MARKER
from picsellia_formats.splits import split_of
from tests.conftest import FIXTURES, run_cli

RACCOON = FIXTURES / "raccoon_voc/annotations"
YOLO = FIXTURES / "labelstudio_yolo/test_import_yolo_data"
VISDRONE = FIXTURES / "sahi_coco/coco_utils/visdrone2019-det-train-first50image.json"


def _written(dst: Path, names: list[str], fmt: str) -> dict[str, set[str]]:
    """Each split of the one dataset `split` wrote, by its split tags."""
    path = dst / "annotations.json" if fmt == "picsellia" else dst
    out: dict[str, set[str]] = {n: set() for n in names}
    for a in pf.read(path, fmt).assets:
        out[split_of(a.tags, asset=a.file_name)].add(a.file_name)
    return out


@pytest.mark.parametrize(("src", "ratios", "names", "to"), [
    (RACCOON, "0.8,0.1,0.1", ["train", "val", "test"], None),
    (VISDRONE, "0.8,0.2", ["train", "val"], None),
    (VISDRONE, "0.7,0.3", ["train", "val"], "yolo"),
    (VISDRONE, "0.7,0.3", ["train", "val"], "picsellia"),
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
    fmt = to or pf.detect(src)
    written = _written(dst, names, fmt)
    for name in names:
        assert written[name] == {f for f, s in assignment.items() if s == name}
    source = pf.read(src)
    assert sum(len(v) for v in written.values()) == len(source)
    # objects per split as reported
    back = pf.read(dst / "annotations.json" if fmt == "picsellia" else dst, fmt)
    for split in data["splits"]:
        objects = sum(len(a.annotations) for a in back.assets if split_of(a.tags) == split["name"])
        assert objects == split["objects"]
    assert [e["name"] for e in data["platform_logs"]][-1] == "labelmap"
    assert data["summary"]["missing_classes"] == []


def test_default_output_format_is_the_input_format(tmp_path: Path) -> None:
    assert main(["split", str(RACCOON), str(tmp_path), "--quiet"]) == 0
    assert pf.detect(tmp_path) == "voc"  # one devkit
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER, "Annotations", "ImageSets", "split.json"]
    assert sorted(p.name for p in (tmp_path / "ImageSets/Main").iterdir()) == ["train.txt", "val.txt"]


def test_per_split_folders_keep_the_first_wave_output(tmp_path: Path) -> None:
    assert main(["split", str(RACCOON), str(tmp_path), "--quiet", "--per-split-folders"]) == 0
    assert pf.detect(tmp_path / "train") == "voc"
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER, "split.json", "train", "val"]


def test_prints_the_table(tmp_path: Path) -> None:
    result = run_cli("split", VISDRONE, tmp_path, "--ratios", "0.8,0.1,0.1", "--names", "a,b,c", "--method", "fast",
                     "--per-split-folders")
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
    assert (tmp_path / "one/split.json").read_bytes() == (tmp_path / "two/split.json").read_bytes()


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


@pytest.mark.parametrize(("flag", "refused"), [("--strict", True), ("--strict=all", True), (None, False)])
def test_strict_refuses_a_lossy_split_and_leaves_dst_alone(tmp_path: Path, flag: str | None, refused: bool) -> None:
    """Polygons into a YOLO detect split are approximated as boxes: --strict refuses, nothing is written."""
    src = FIXTURES / "sahi_coco" / "coco_utils" / "terrain_all_coco.json"
    dst = tmp_path / "split"
    args = ["split", src, dst, "--ratios", "0.5,0.5", "--to", "yolo", "--yolo-task", "detect", "-q"]
    result = run_cli(*args, *([flag] if flag else []))
    if refused:
        assert result.code == 1, result.err
        assert "refusing a lossy conversion" in result.err and "polygons written as boxes" in result.err
        assert not dst.exists()
    else:
        assert result.code == 0, result.err
        assert (dst / "data.yaml").is_file()


def test_strict_on_a_streamed_split_leaves_dst_alone(tmp_path: Path) -> None:
    src = FIXTURES / "sahi_coco" / "coco_utils" / "terrain_all_coco.json"
    dst = tmp_path / "split"
    ok = run_cli("split", src, dst, "--ratios", "0.5,0.5", "--stream", "--strict", "-q")
    assert ok.code == 0, ok.err  # COCO -> COCO split files lose no annotation data
