"""YOLO and VOC written from a stream: one asset at a time (lazily), and `write`'s bytes and report.

Bounded memory is a structure, not a timing: the writers write asset k's file before they pull asset k+1,
and hold only per-asset names (see `formats.yolo.write.YoloFolder`, `formats.voc.write.VocFolder`).
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.errors import OptionError
from picsellia_formats.masks import mask_to_rle
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.splits import split_of

voc_write = importlib.import_module("picsellia_formats.formats.voc.write")


def _tree(path: Path) -> dict[str, str]:
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() or p.is_symlink()}


def _stream(ds: Dataset, **hints: bool) -> pf.AssetStream:
    shapes = any(a.polygon is not None or a.mask is not None for asset in ds.assets for a in asset.annotations)
    any_split = any(split_of(a.tags) is not None for a in ds.assets)
    return pf.AssetStream("test", list(ds.labels), ds.metadata, iter(ds.assets), len(ds.assets),
                          ds.num_annotations, **{"has_shapes": shapes, "any_split": any_split, **hints})


def _both(ds: Dataset, to: str, tmp_path: Path, **options: object) -> tuple[object, object]:
    """(streamed, in memory): each a sorted report and the output tree, or the error's first line."""
    out = []
    for name, run in (("s", lambda p: pf.write_stream(_stream(ds), p, to, **options)),
                      ("m", lambda p: pf.write(ds, p, to, **options))):
        path = tmp_path / name
        try:
            report = run(path)
        except pf.FormatError as exc:
            assert not path.exists()
            out.append(("error", exc.lines()[0]))
            continue
        out.append((sorted(str(report).splitlines()), _tree(path)))
    return out[0], out[1]


def _images(folder: Path, names: list[str]) -> Path:
    for name in names:
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30)).save(p)
    return folder


def _box(label: str = "cat", **kw: object) -> Annotation:
    return Annotation(label, box=(2.0, 3.0, 10.5, 7.0), **kw)  # type: ignore[arg-type]


def _disk(h: int, w: int, cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r).astype(np.uint8)


POLY = [[1.0, 1.0, 20.0, 1.0, 20.0, 15.0, 1.0, 15.0]]
TWO_PARTS = [[1.0, 1.0, 8.0, 1.0, 8.0, 8.0], [20.0, 10.0, 30.0, 10.0, 30.0, 20.0]]
KPS = [5.0, 5.0, 2, 9.0, 6.0, 1, 0.0, 0.0, 0]

LAYOUTS = {
    "plain boxes": Dataset([Label("cat"), Label("dog")], [
        Asset("a.jpg", 40, 30, [_box(), _box("dog", score=0.5)]), Asset("b.jpg", 40, 30),
        Asset("c.png", 40, 30, [Annotation("cat", box=(-50.0, -50.0, 5.0, 5.0))], status="ACCEPTED")]),
    "split tags and untagged": Dataset([Label("cat")], [
        Asset("a.jpg", 40, 30, [_box()], tags=["train"]), Asset("b.jpg", 40, 30, [_box()], tags=["val", "x"]),
        Asset("c.jpg", 40, 30, [_box()]), Asset("d.jpg", 40, 30, [_box()], tags=["test"])]),
    "name collisions": Dataset([Label("cat")], [
        Asset("x/a.jpg", 40, 30, [_box()]), Asset("x/a.png", 40, 30, [_box()]), Asset("x/A.jpg", 40, 30),
        Asset("x/a.jpeg", 40, 30, [_box()]), Asset("../a.jpg", 40, 30), Asset("x/a_png.jpg", 40, 30)]),
    "a label met first on an object": Dataset([Label("cat")], [
        Asset("a.jpg", 40, 30, [_box("dog"), _box()]), Asset("b.jpg", 40, 30, [_box("bird")])]),
    "segment: polygons, masks, bridged parts": Dataset([Label("cat"), Label("dog")], [
        Asset("a.jpg", 40, 30, [Annotation("cat", polygon=POLY, box=(1.0, 1.0, 19.0, 14.0)), _box("dog")]),
        Asset("b.jpg", 40, 30, [Annotation("dog", polygon=TWO_PARTS, box=(1.0, 1.0, 29.0, 19.0))]),
        Asset("c.jpg", 40, 30, [Annotation("cat", mask=mask_to_rle(_disk(30, 40, 12, 12, 6)),
                                           box=(6.0, 6.0, 12.0, 12.0))])]),
    "pose": Dataset([Label("person", keypoints=["a", "b", "c"])], [
        Asset("a.jpg", 40, 30, [Annotation("person", box=(1.0, 1.0, 20.0, 20.0), keypoints=KPS)]),
        Asset("b.jpg", 40, 30, [_box("person")])]),
    "devkit tags and metadata": Dataset([Label("cat"), Label("unused")], [
        Asset("a.jpg", 40, 30, [_box()], tags=["train", "Train"]), Asset("b.jpg", 40, 30, [_box()], tags=["a/b"]),
        Asset("c.jpg", 40, 30, [_box(attributes={"note": {"x": 1}})], tags=["val"], metadata={"k": "v"})],
        metadata={"voc": {"layout": "devkit"}}),
}


@pytest.mark.parametrize("to", ["yolo", "voc"])
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_stream_gives_the_in_memory_bytes_and_report(name: str, to: str, tmp_path: Path) -> None:
    streamed, in_memory = _both(LAYOUTS[name], to, tmp_path)
    assert streamed[0] != "error"
    assert streamed == in_memory


@pytest.mark.parametrize("task", ["detect", "segment", "obb", "mixed", "pose"])
def test_every_yolo_task_streams_to_the_same_bytes(task: str, tmp_path: Path) -> None:
    ds = Dataset([*LAYOUTS["pose"].labels, Label("cat"), Label("dog")],
                 LAYOUTS["segment: polygons, masks, bridged parts"].assets + LAYOUTS["pose"].assets)
    streamed, in_memory = _both(ds, "yolo", tmp_path, task=task)
    assert streamed[0] != "error"
    assert streamed == in_memory


@pytest.mark.parametrize("mode", ["copy", "link", "symlink", "none"])
def test_images_modes_stream_to_the_same_files(mode: str, tmp_path: Path) -> None:
    images = _images(tmp_path / "img", ["train/a.jpg", "b.jpg"])
    ds = Dataset([Label("cat")], [Asset("a.jpg", None, None, [_box()], tags=["train"]),
                                  Asset("b.jpg", None, None, [_box()], tags=["val"]),
                                  Asset("missing.jpg", 40, 30, [_box()])])
    streamed, in_memory = _both(ds, "yolo", tmp_path, images=images, copy_images=mode)
    assert streamed[0] != "error"
    assert streamed == in_memory
    assert ("images/train/a.jpg" in streamed[1]) is (mode != "none")  # type: ignore[operator]


def test_unknown_sizes_are_the_same_error_and_no_output(tmp_path: Path) -> None:
    ds = Dataset([Label("cat")], [Asset("a.jpg", 40, 30, [_box()]), Asset("b.jpg", None, None, [_box()]),
                                  Asset("c.jpg", None, None, [_box()]), Asset("d.jpg", None, None)])
    streamed, in_memory = _both(ds, "yolo", tmp_path)
    assert streamed == in_memory
    assert streamed[0] == "error" and "2 images holding objects have no known size" in str(streamed[1])


def test_voc_sizes_from_the_images_folder(tmp_path: Path) -> None:
    images = _images(tmp_path / "img", ["a.jpg"])
    ds = Dataset([Label("cat")], [Asset("a.jpg", None, None, [_box()]), Asset("b.jpg", None, None, [_box()])])
    streamed, in_memory = _both(ds, "voc", tmp_path, images=images)
    assert streamed == in_memory and streamed[0] != "error"


def test_voc_segmentation_pngs_stream(tmp_path: Path) -> None:
    ds = Dataset(LAYOUTS["segment: polygons, masks, bridged parts"].labels,
                 LAYOUTS["segment: polygons, masks, bridged parts"].assets, {"voc": {"layout": "devkit"}})
    streamed, in_memory = _both(ds, "voc", tmp_path, segmentation=True)
    assert streamed == in_memory
    files = streamed[1]
    assert {"SegmentationClass/a.png", "SegmentationObject/c.png", "labelmap.txt"} <= set(files)  # type: ignore[arg-type]


def test_voc_image_sets_spooled_to_disk_give_the_same_lists(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    monkeypatch.setattr(voc_write.TagLists, "FLUSH", 2)  # every few ids go to the spool file
    ds = Dataset([Label("cat")], [Asset(f"{i}.jpg", 40, 30, [_box()], tags=["train" if i % 3 else "val", "all"])
                                  for i in range(11)], {"voc": {"layout": "devkit"}})
    streamed, in_memory = _both(ds, "voc", tmp_path)
    assert streamed == in_memory
    lines = (tmp_path / "s" / "ImageSets" / "Main" / "all.txt").read_text().split()
    assert lines == [str(i) for i in range(11)]
    assert not [p for p in (tmp_path / "s").iterdir() if p.name.startswith(".pf-")]  # the spool is gone


class _Pulls:
    """An asset generator that records, at each pull, which label files/XMLs already exist."""

    def __init__(self, assets: list[Asset], out: Path, suffix: str) -> None:
        self.assets, self.out, self.suffix, self.seen = assets, out, suffix, []

    def __iter__(self) -> Iterator[Asset]:
        for asset in self.assets:
            self.seen.append(sorted(p.stem for p in self.out.rglob(f"*{self.suffix}")))
            yield asset


@pytest.mark.parametrize(("to", "suffix"), [("yolo", ".txt"), ("voc", ".xml")])
def test_the_writer_writes_each_asset_before_pulling_the_next(to: str, suffix: str, tmp_path: Path) -> None:
    assets = [Asset(f"{i}.jpg", 40, 30, [_box()], tags=["train"]) for i in range(5)]
    out = tmp_path / "o"
    pulls = _Pulls(assets, tmp_path, suffix)
    s = pf.AssetStream("test", [Label("cat")], {}, iter(pulls), 5, 5, any_split=True)
    pf.write_stream(s, out, to)
    # at the pull of asset k, the files of assets 0..k-1 are there (the output policy's temporary folder is
    # renamed at the end, so look for them by their stems wherever they are)
    assert pulls.seen == [[str(i) for i in range(k)] for k in range(5)]


def test_the_output_policy_folder_holds_them(tmp_path: Path) -> None:
    seen: list[int] = []

    def assets() -> Iterator[Asset]:
        for i in range(3):
            seen.append(len(list(tmp_path.rglob("*.xml"))))
            yield Asset(f"{i}.jpg", 40, 30, [_box()])

    pf.write_stream(pf.AssetStream("test", [Label("cat")], {}, assets(), 3, 3), tmp_path / "v", "voc")
    assert seen == [0, 1, 2]


@pytest.mark.parametrize(("assets", "hints", "why"), [
    ([Asset("a.jpg", 40, 30, [Annotation("cat", polygon=POLY, box=(1.0, 1.0, 19.0, 14.0))])], {},
     "has a polygon or mask object"),
    ([Asset("a.jpg", 40, 30, [_box()])], {"has_shapes": True}, "none was"),
    ([Asset("a.jpg", 40, 30, [_box()], tags=["val"])], {}, "has a split tag"),
    ([Asset("a.jpg", 40, 30, [Annotation("cat", box=(1.0, 1.0, 5.0, 5.0), keypoints=KPS)])], {},
     "keypoint object"),
])
def test_a_stream_that_contradicts_its_hints_is_refused(assets: list[Asset], hints: dict[str, bool], why: str,
                                                        tmp_path: Path) -> None:
    """What `write` would decide from the whole dataset (task, split folders) is never silently different."""
    s = pf.AssetStream("test", [Label("cat")], {}, iter(assets), len(assets), 1, **hints)
    with pytest.raises(pf.FormatError, match=why):
        pf.write_stream(s, tmp_path / "y", "yolo")
    assert not (tmp_path / "y").exists()


def test_keypoint_labels_choose_pose_and_their_count(tmp_path: Path) -> None:
    ds = LAYOUTS["pose"]
    streamed, in_memory = _both(ds, "yolo", tmp_path)
    assert streamed == in_memory
    assert "kpt_shape: [3, 3]" in (tmp_path / "s" / "data.yaml").read_text()
    # labels declaring keypoints, objects without any: write would choose detect, the stream refuses
    no_kps = pf.AssetStream("test", list(ds.labels), {}, iter([Asset("a.jpg", 40, 30, [_box("person")])]), 1, 1)
    with pytest.raises(pf.FormatError, match="no object has any"):
        pf.write_stream(no_kps, tmp_path / "n", "yolo")
    two = [Label("a", keypoints=["x"]), Label("b", keypoints=["x", "y"])]
    with pytest.raises(OptionError, match="needs one keypoint count"):
        pf.write_stream(pf.AssetStream("test", two, {}, iter([]), 0, 0), tmp_path / "t", "yolo")
