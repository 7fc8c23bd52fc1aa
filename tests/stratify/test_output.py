"""`split --to F` writes ONE training-ready dataset; nothing leaks; re-runs replace; split.json is stable."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.cli import main
from picsellia_formats.model import Dataset
from picsellia_formats.outputs import MARKER
from picsellia_formats.splits import split_of
from picsellia_formats.stratify.place import ImagePlacer
from tests.stratify.conftest import N_IMAGES, make_dataset

RATIOS = ["--ratios", "0.6,0.2,0.2", "--method", "fast", "--seed", "1", "-q"]
FORMATS = ["yolo", "coco", "voc", "picsellia", "tfrecord"]


def _split(src: Path, dst: Path, *args: str) -> None:
    assert main(["split", str(src), str(dst), *RATIOS, *args]) == 0


def _assignment(dst: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for name, split in json.loads((dst / "split.json").read_text())["assignment"].items():
        out[split].add(name)
    return dict(out)


def _read_splits(dst: Path, fmt: str, images: Path) -> dict[str, list[str]]:
    """Each split of the output as read back with the ORIGINAL shared images folder."""
    if fmt == "tfrecord":
        parts = {p.name.split(".record")[0]: pf.read(p) for p in sorted(dst.glob("*.record-*"))}
        return {s: [a.file_name for a in d.assets] for s, d in parts.items()}
    if fmt == "coco":  # each split file alone, as a COCO loader takes it
        return {p.stem.removeprefix("instances_"): [a.file_name for a in pf.read(p, "coco", images=images).assets]
                for p in sorted((dst / "annotations").glob("instances_*.json"))}
    path = dst / "annotations.json" if fmt == "picsellia" else dst
    ds: Dataset = pf.read(path, fmt, images=images)
    out: dict[str, list[str]] = defaultdict(list)
    for a in ds.assets:
        out[split_of(a.tags, asset=a.file_name) or "?"].append(a.file_name)
    return dict(out)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_leak_each_split_read_with_the_shared_images_is_that_split(tmp_path: Path, fmt: str) -> None:
    src, images, _ = make_dataset(tmp_path / "src")
    dst = tmp_path / "out"
    _split(src, dst, "--to", fmt, "--images", str(images))
    expected = _assignment(dst)
    got = _read_splits(dst, fmt, images)
    assert set(got) == set(expected) == {"train", "val", "test"}
    for split, names in got.items():
        assert len(names) == len(set(names))  # no image twice
        assert set(names) == expected[split], split
    every = [n for names in got.values() for n in names]
    assert len(every) == len(set(every)) == N_IMAGES  # disjoint, complete, no stray image of the folder
    assert not {"stray_a.png", "stray_b.png"} & set(every)


@pytest.mark.parametrize("fmt", ["yolo", "voc"])
def test_no_leak_with_per_split_folders(tmp_path: Path, fmt: str) -> None:
    """Issue 15's leak: ``split`` then reading ``S/val`` with the shared images folder."""
    src, images, _ = make_dataset(tmp_path / "src")
    dst = tmp_path / "out"
    _split(src, dst, "--to", fmt, "--per-split-folders", "--images", str(images))
    expected = _assignment(dst)
    for split, names in expected.items():
        assert {a.file_name for a in pf.read(dst / split, fmt, images=images).assets} == names


@pytest.mark.parametrize(("fmt", "files"), [
    ("yolo", ["data.yaml", "classes.txt", "images/train/", "images/val/", "images/test/", "labels/train/",
              "labels/val/", "labels/test/"]),
    ("coco", ["annotations/instances_train.json", "annotations/instances_val.json", "annotations/instances_test.json",
              "images/train/", "images/val/", "images/test/"]),
    ("voc", ["Annotations/", "JPEGImages/", "ImageSets/Main/train.txt", "ImageSets/Main/val.txt",
             "ImageSets/Main/test.txt"]),
    ("picsellia", ["annotations.json"]),
])
def test_layouts(tmp_path: Path, fmt: str, files: list[str]) -> None:
    src, images, _ = make_dataset(tmp_path / "src")
    dst = tmp_path / "out"
    _split(src, dst, "--to", fmt, "--images", str(images))
    for f in files:
        assert (dst / f).is_dir() if f.endswith("/") else (dst / f).is_file(), f
    tops = {p.name for p in dst.iterdir()}
    assert tops == {MARKER, "split.json"} | {f.split("/")[0] for f in files}
    expected = _assignment(dst)
    if fmt in ("yolo", "coco"):
        for split, names in expected.items():
            assert {p.name for p in (dst / "images" / split).iterdir()} == names
    if fmt == "voc":
        assert {p.name for p in (dst / "JPEGImages").iterdir()} == set().union(*expected.values())
        for split, names in expected.items():
            listed = (dst / "ImageSets/Main" / f"{split}.txt").read_text().split()
            assert {n + ".png" for n in listed} == names


@pytest.mark.parametrize("mode", ["hardlink", "copy", "symlink", "none"])
@pytest.mark.parametrize("fmt", ["yolo", "coco"])
def test_images_mode(tmp_path: Path, mode: str, fmt: str) -> None:
    src, images, _ = make_dataset(tmp_path / "src")
    dst = tmp_path / "out"
    _split(src, dst, "--to", fmt, "--images", str(images), "--images-mode", mode)
    placed = sorted((dst / "images").rglob("*.png"))
    if mode == "none":
        assert placed == []
        return
    assert len(placed) == N_IMAGES
    for p in placed:
        original = images / p.name
        if mode == "symlink":
            assert p.is_symlink() and p.resolve() == original.resolve()
        else:
            assert not p.is_symlink() and p.read_bytes() == original.read_bytes()
            assert os.path.samefile(p, original) == (mode == "hardlink")


def test_hard_links_fall_back_to_copies_and_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    src, images, _ = make_dataset(tmp_path / "src")

    def refuse(*_: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    placer = ImagePlacer("hardlink")
    placer.put(images / "img001.png", tmp_path / "o" / "img001.png")
    assert (tmp_path / "o" / "img001.png").read_bytes() == (images / "img001.png").read_bytes()
    report = pf.Report()
    placer.report_to(report)
    assert report.count("info", "images copied: the file system refused links") == 1
    assert "Invalid cross-device link" in str(report)
    # the same through the command, for the writer that places its own images (YOLO) and for COCO
    for fmt in ("yolo", "coco"):
        dst = tmp_path / f"out_{fmt}"
        assert main(["split", str(src), str(dst), "--ratios", "0.6,0.2,0.2", "--to", fmt,
                     "--images", str(images)]) == 0
        assert f"{N_IMAGES} images copied: the file system refused links" in capsys.readouterr().err
        assert not any(os.path.samefile(p, images / p.name) for p in (dst / "images").rglob("*.png"))


def _run(src: Path, dst: Path, *args: str):  # type: ignore[no-untyped-def]
    from tests.conftest import run_cli

    result = run_cli("split", src, dst, "--ratios", "0.6,0.2,0.2", "--method", "fast", *args)
    assert result.code == 0, result.err
    return result


def test_rerun_into_its_own_output_leaves_no_stale_split(tmp_path: Path) -> None:
    src, images, _ = make_dataset(tmp_path / "src")
    dst = tmp_path / "out"
    _split(src, dst, "--to", "yolo", "--images", str(images))
    assert (dst / "images/test").is_dir()
    assert main(["split", str(src), str(dst), "--ratios", "0.7,0.3", "--to", "yolo", "--images", str(images),
                 "-q"]) == 0
    assert not (dst / "images/test").exists() and not (dst / "labels/test").exists()
    assert "test" not in (dst / "data.yaml").read_text()
    expected = _assignment(dst)
    assert set(expected) == {"train", "val"}
    for split, names in expected.items():
        assert {p.name for p in (dst / "images" / split).iterdir()} == names
    # and from yolo to coco: nothing of the YOLO output survives
    assert main(["split", str(src), str(dst), *RATIOS, "--to", "coco"]) == 0
    assert {p.name for p in dst.iterdir()} == {MARKER, "split.json", "annotations"}


def test_a_foreign_folder_is_refused_and_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, _, _ = make_dataset(tmp_path / "src")
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "thesis.tex").write_text("precious")
    assert main(["split", str(src), str(dst), *RATIOS, "--to", "yolo"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert [p.name for p in dst.iterdir()] == ["thesis.tex"]
    # a convert output is not a split output either
    other = tmp_path / "yolo_out"
    assert main(["convert", str(src), str(other), "--to", "yolo", "-q"]) == 0
    assert main(["split", str(src), str(other), *RATIOS, "--to", "yolo"]) == 2
    assert main(["split", str(src), str(dst), *RATIOS, "--to", "yolo", "--overwrite"]) == 0
    assert not (dst / "thesis.tex").exists() and (dst / "data.yaml").is_file()


@pytest.mark.parametrize("method", ["fast", "auto", "exact"])
def test_split_json_same_input_same_bytes(tmp_path: Path, method: str) -> None:
    src, _, _ = make_dataset(tmp_path / "src")
    outs = []
    for run in ("one", "two"):
        assert main(["split", str(src), str(tmp_path / run), "--ratios", "0.6,0.2,0.2", "--method", method,
                     "-q", "--to", "coco"]) == 0
        outs.append((tmp_path / run / "split.json").read_bytes())
    assert outs[0] == outs[1]
    assert b"seconds" not in outs[0]


def test_missing_images_name_the_way_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, images, _ = make_dataset(tmp_path / "src")
    (images / "img003.png").unlink()
    assert main(["split", str(src), str(tmp_path / "out"), *RATIOS, "--to", "coco", "--images", str(images)]) == 2
    err = capsys.readouterr().err
    assert "img003.png" in err and "--skip-missing-images" in err
    assert not (tmp_path / "out").exists()
    result = _run(src, tmp_path / "out", "--to", "coco", "--images", str(images), "--skip-missing-images")
    assert "1 image whose file is missing, left out of the output dropped" in result.err
    got = _read_splits(tmp_path / "out", "coco", images)
    assert sum(len(v) for v in got.values()) == N_IMAGES - 1


@pytest.mark.parametrize(("args", "message"), [
    (["--names", "a,b,c"], "--per-split-folders"),
    (["--names", "train,valid,val"], "name the same split twice"),
    (["--images-mode", "copy"], "needs --images"),
    (["--to", "picsellia", "--images-mode", "copy", "--images", "IMAGES"], "use --images-mode none"),
])
def test_bad_layout_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                   message: str) -> None:
    src, images, _ = make_dataset(tmp_path / "src")
    args = [str(images) if a == "IMAGES" else a for a in args]
    to = [] if "--to" in args else ["--to", "yolo"]
    assert main(["split", str(src), str(tmp_path / "out"), "--ratios", "0.6,0.2,0.2", *to, *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_source_split_tags_are_replaced(tmp_path: Path) -> None:
    _, _, ds = make_dataset(tmp_path / "src")
    for i, a in enumerate(ds.assets):
        a.tags = ["val" if i % 2 else "train", "night"]
    tagged = tmp_path / "tagged.json"
    pf.write(ds, tagged, "picsellia")
    result = _run(tagged, tmp_path / "out", "--to", "picsellia")
    assert f"{N_IMAGES} split tags of the source replaced by the new split" in result.err
    back = pf.read(tmp_path / "out" / "annotations.json")
    expected = _assignment(tmp_path / "out")
    for a in back.assets:
        assert a.file_name in expected[split_of(a.tags)] and "night" in a.tags


def test_per_split_folders_take_the_images_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, images, _ = make_dataset(tmp_path / "src")
    dst = tmp_path / "out"
    _split(src, dst, "--to", "yolo", "--per-split-folders", "--images", str(images), "--images-mode", "symlink")
    placed = sorted(dst.glob("*/images/*.png"))
    assert len(placed) == N_IMAGES and all(p.is_symlink() for p in placed)
    assert main(["split", str(src), str(tmp_path / "o2"), *RATIOS, "--to", "coco", "--per-split-folders",
                 "--images", str(images), "--images-mode", "copy"]) == 2
    assert "only a YOLO output places images" in capsys.readouterr().err


@pytest.mark.parametrize("per_split_folders", [False, True])
@pytest.mark.parametrize("fmt", ["yolo", "coco", "voc"])
def test_what_the_target_cannot_hold_is_reported_as_a_conversion_reports_it(
        tmp_path: Path, fmt: str, per_split_folders: bool) -> None:
    """`split --to F` writes through the format's writer directly: its report still names, with the
    counts and words of `pf.write`, what F cannot hold (here statuses and object Q&A)."""
    from picsellia_formats.model import QA
    from picsellia_formats.report import Report
    from picsellia_formats.stratify.output import write_split

    _, _, ds = make_dataset(tmp_path)
    for asset in ds.assets:
        asset.status = "ACCEPTED"
        for ann in asset.annotations[:1]:
            ann.qa = [QA("text", "why?", "because")]
    n_qa = sum(1 for a in ds.assets if a.annotations)
    result = pf.split(ds, {"train": 0.6, "val": 0.2, "test": 0.2}, method="fast", seed=1)
    report = write_split(result, tmp_path / "out", fmt, per_split_folders=per_split_folders, report=Report())
    whole = pf.write(ds, tmp_path / "whole", fmt)
    lines = {str(e) for e in report.entries if "status" in e.what or "Q&A" in e.what}
    assert lines == {str(e) for e in whole.entries if "status" in e.what or "Q&A" in e.what}
    assert report.count("dropped", "asset statuses") == len(ds.assets)
    assert report.count("dropped", "object Q&A answers") == n_qa
