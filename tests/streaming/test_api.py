"""`pf.stream` / `pf.write_stream` / `convert(stream=)`: the in-memory output, byte for byte, and refusals."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats import api
from picsellia_formats.cli import main
from picsellia_formats.model import Annotation, Asset, Label
from tests.streaming.conftest import COCO_FIXTURES

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("coco", "yolo", "voc")



def _tree(path: Path) -> dict[str, str]:
    if path.is_file():
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _run(src: Path, out: Path, to: str, stream: bool) -> tuple[str, object]:
    """(outcome, tree or first error line)."""
    try:
        report = pf.convert(src, out, to, from_="coco", stream=stream)
    except pf.FormatError as exc:
        assert not out.exists()
        return "error", exc.lines()[0]
    assert report.stats.get("streamed", False) is stream
    return sorted(str(report).splitlines()), _tree(out)


def test_there_are_coco_fixtures() -> None:
    assert len(COCO_FIXTURES) >= 5


@pytest.mark.parametrize("to", TARGETS)
@pytest.mark.parametrize("src", COCO_FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_fixture_streams_to_the_in_memory_bytes(src: Path, to: str, tmp_path: Path) -> None:
    out = "annotations.json" if to == "coco" else "out"
    streamed, in_memory = _run(src, tmp_path / "s" / out, to, True), _run(src, tmp_path / "m" / out, to, False)
    if streamed[0] == "error" and "convert in memory" in str(streamed[1]):
        # split-named files, panoptic, image labels: refused by the stream, naming the way out
        assert in_memory[0] != "error"
        if "named for a split" in str(streamed[1]):
            assert not api.streamable(src, "coco", to, None, None)  # so convert's default reads it in memory
        return
    assert streamed == in_memory


@pytest.mark.parametrize("to", TARGETS)
def test_synthetic_10k_streams_to_the_in_memory_bytes(synth_10k: Path, to: str, tmp_path: Path) -> None:
    out = "annotations.json" if to == "coco" else "out"
    streamed = _run(synth_10k, tmp_path / "s" / out, to, True)
    assert streamed[0] != "error"
    assert streamed == _run(synth_10k, tmp_path / "m" / out, to, False)


def test_convert_streams_by_itself_above_the_size(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = COCO_FIXTURES[0]
    assert "streamed" not in pf.convert(src, tmp_path / "a", "yolo").stats
    monkeypatch.setattr(api, "STREAM_ABOVE", 0)
    assert pf.convert(src, tmp_path / "b", "yolo").stats["streamed"] is True
    # VOC segmentation PNGs stream too (their class list is the labels'); other targets keep the in-memory path
    assert pf.convert(src, tmp_path / "c", "voc", write_options={"segmentation": True}).stats["streamed"] is True
    assert "streamed" not in pf.convert(src, tmp_path / "d", "picsellia").stats


def test_cli_stream_flag_gives_the_same_files(tmp_path: Path) -> None:
    src = str(COCO_FIXTURES[0])
    assert main(["convert", src, str(tmp_path / "s"), "--to", "yolo", "--stream", "-q"]) == 0
    assert main(["convert", src, str(tmp_path / "m"), "--to", "yolo", "--no-stream", "-q"]) == 0
    assert _tree(tmp_path / "s") == _tree(tmp_path / "m")


def test_cli_stream_of_a_format_that_cannot_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["convert", str(COCO_FIXTURES[0]), str(tmp_path / "p.json"), "--to", "picsellia",
                 "--stream"]) == 2
    assert "cannot be written from a stream" in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()


def test_formats_that_cannot_stream_say_so(tmp_path: Path) -> None:
    voc = ROOT / "fixtures" / "voc_toy_cats"
    with pytest.raises(pf.FormatError, match="cannot be read as a stream"):
        pf.stream(next(p for p in voc.rglob("*.xml")).parent, "voc")
    s = pf.stream(COCO_FIXTURES[0])
    with pytest.raises(pf.FormatError, match="cannot be written from a stream"):
        pf.write_stream(s, tmp_path / "x", "tfrecord")


def test_a_label_met_first_on_an_object_gets_the_next_index(tmp_path: Path) -> None:
    s = pf.AssetStream("test", [Label("cat")], {}, iter([Asset("a.jpg", 10, 10, [
        Annotation("dog", box=(0, 0, 5, 5)), Annotation("cat", box=(0, 0, 10, 10))])]), 1, 2)
    pf.write_stream(s, tmp_path / "y", "yolo")
    assert (tmp_path / "y" / "classes.txt").read_text() == "cat\ndog\n"
    assert (tmp_path / "y" / "labels" / "a.txt").read_text().splitlines()[0].startswith("1 ")
