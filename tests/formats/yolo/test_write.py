"""The YOLO writer: Ultralytics' layout, data.yaml keys, no leak, outside objects, tasks' round trips."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from tests.conftest import run_cli


def _images(folder: Path, names: list[str], size: tuple[int, int] = (40, 30)) -> None:
    for name in names:
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size).save(p)


@pytest.mark.parametrize(("tags", "keys"), [
    ([["train"], ["val"], ["test"]], {"train": "images/train", "val": "images/val", "test": "images/test"}),
    ([["train"], ["valid"]], {"train": "images/train", "val": "images/valid"}),
    ([["train"], ["test"]], {"train": "images/train", "val": "images/train", "test": "images/test"}),
    ([["trainval"], ["trainval"]], {"train": "images/trainval", "val": "images/trainval"}),
    ([["val"]], {"train": "images/val", "val": "images/val"}),
    ([[], []], {"train": "images", "val": "images"}),
])
def test_data_yaml_always_has_train_and_val(tags: list[list[str]], keys: dict[str, str], tmp_path: Path) -> None:
    """Regression (issue 15): trainval-only or train+test datasets had no val key (Ultralytics refuses)."""
    ds = Dataset([Label("a")], [Asset(f"{i}.jpg", 10, 10, [Annotation("a", box=(1, 1, 2, 2))], tags=t)
                                for i, t in enumerate(tags)])
    pf.write(ds, tmp_path / "y", "yolo")
    data = yaml.safe_load((tmp_path / "y" / "data.yaml").read_text())
    assert {k: data[k] for k in ("train", "val", "test") if k in data} == keys
    assert data["names"] == ["a"] and "path" not in data  # no path: Ultralytics uses the yaml's folder


def test_pose_yaml_has_kpt_shape_and_flip_idx(tmp_path: Path) -> None:
    root = tmp_path / "p"
    _images(root / "images" / "train", ["1.jpg"], (100, 100))
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "1.txt").write_text("0 0.5 0.5 0.4 0.4 0.4 0.4 2 0.6 0.4 1 0.5 0.6 0\n")
    (root / "data.yaml").write_text("train: images/train\nval: images/train\nkpt_shape: [3, 3]\n"
                                    "flip_idx: [1, 0, 2]\nnames: [face]\n")
    ds = pf.read(root)
    kps = ds.assets[0].annotations[0].keypoints
    assert kps == [40.0, 40.0, 2, 60.0, 40.0, 1, 50.0, 60.0, 0]
    pf.write(ds, tmp_path / "o", "yolo", images=root)
    data = yaml.safe_load((tmp_path / "o" / "data.yaml").read_text())
    assert data["kpt_shape"] == [3, 3] and data["flip_idx"] == [1, 0, 2]
    row = (tmp_path / "o" / "labels" / "train" / "1.txt").read_text().split()
    assert row == ["0", "0.5", "0.5", "0.4", "0.4", "0.4", "0.4", "2", "0.6", "0.4", "1", "0", "0", "0"]


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("kpt_shape: [3, 4]\n", "kpt_shape must be"),
    ("kpt_shape: [0, 3]\n", "kpt_shape must be"),
    ("kpt_shape: [2, 3]\nflip_idx: [0, 0]\n", "flip_idx must list"),
    ("flip_idx: [0]\n", "flip_idx without kpt_shape"),
    ("nc: .inf\n", "nc must be an integer, got inf"),
    ("nc: .nan\n", "nc must be an integer"),
])
def test_bad_pose_keys_and_nc_are_format_errors(yaml_text: str, message: str, tmp_path: Path) -> None:
    root = tmp_path / "d"
    _images(root / "images" / "train", ["1.jpg"])
    (root / "labels" / "train").mkdir(parents=True)
    (root / "data.yaml").write_text(f"train: images/train\nnames: [a]\n{yaml_text}")
    with pytest.raises(pf.FormatError, match=message):
        pf.read(root)


def test_nc_inf_exits_2_not_3(tmp_path: Path) -> None:
    """Regression (issue 19, item 13): ``nc: .inf`` was an internal error (exit 3)."""
    root = tmp_path / "d"
    _images(root / "images", ["1.jpg"])
    (root / "data.yaml").write_text("train: images\nnc: .inf\nnames: [a]\n")
    res = run_cli("convert", root, tmp_path / "o.json", "--to", "coco")
    assert res.code == 2 and "data.yaml" in res.err + res.out and "nc must be an integer" in res.err + res.out


def test_absurd_class_indexes_cost_bounded_memory(tmp_path: Path) -> None:
    """Regression (issue 19, item 9): class index 100000000 cost 4.7 GB; beyond the names it is an error."""
    import tracemalloc

    root = tmp_path / "d"
    _images(root / "images", ["1.jpg"])
    (root / "labels").mkdir()
    (root / "labels" / "1.txt").write_text("100000000 0.5 0.5 0.1 0.1\n")
    (root / "data.yaml").write_text("train: images\nval: images\nnames: {100000000: a}\n")
    tracemalloc.start()
    try:
        with pytest.raises(pf.FormatError, match="names index 100000000 is beyond the 1 names"):
            pf.read(root)
        (root / "data.yaml").write_text("train: images\nval: images\nnames: [a]\n")
        with pytest.raises(pf.FormatError, match="class index 100000000 is out of range"):
            pf.read(root)
        (root / "data.yaml").unlink()  # no names: the class is named by its index
        ds = pf.read(root)
        pf.write(ds, tmp_path / "o", "yolo", images=root)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ds.label_names == ["100000000"]
    assert peak < 64 * 2**20


def test_boxes_wholly_outside_are_dropped_apart_from_clipped(tmp_path: Path) -> None:
    """Regression (issue 15): a box wholly outside became a zero-height row, reported only as clipped."""
    ds = Dataset([Label("a")], [Asset("x.jpg", 100, 50, [
        Annotation("a", box=(10, 60, 20, 10)),  # wholly below
        Annotation("a", box=(-30, 5, 20, 10)),  # wholly left
        Annotation("a", box=(95, 40, 20, 20)),  # partly out: clipped
        Annotation("a", polygon=[[120, 0, 130, 0, 130, 10]]),  # polygon wholly right
        Annotation("a", box=(10, 10, 10, 10)),
    ])])
    report = pf.write(ds, tmp_path / "y", "yolo", task="mixed")
    rows = (tmp_path / "y" / "labels" / "x.txt").read_text().splitlines()
    assert len(rows) == 2
    text = str(report)
    assert "2 boxes outside their image dropped" in text and "1 polygon outside its image dropped" in text
    assert "1 object clipped to the image" in text
    assert all(float(v) > 0 for r in rows for v in r.split()[3:5])  # no zero-size row


def test_no_leak_a_split_output_read_with_the_shared_images_folder(tmp_path: Path) -> None:
    """Regression (issue 15): reading S/val with the shared images folder added every train image as an
    unlabelled negative."""
    shared = tmp_path / "images"
    names = [f"{i}.jpg" for i in range(10)]
    _images(shared, names)
    ds = Dataset([Label("a")], [Asset(n, 40, 30, [Annotation("a", box=(1, 1, 5, 5))] if i % 3 else [],
                                      tags=["val" if i < 3 else "train"]) for i, n in enumerate(names)])
    for split in ("train", "val"):
        part = Dataset(ds.labels, [a for a in ds.assets if a.tags == [split]])
        out = tmp_path / "S" / split
        pf.write(part, out, "yolo", copy_images="none")
        report = pf.Report()
        back = pf.read(out, "yolo", images=shared, report=report)
        assert sorted(a.file_name for a in back.assets) == sorted(a.file_name for a in part.assets)
        assert f"{10 - len(part)} images of the images folder that no label file names, not added" in str(report)


def test_unlabelled_images_of_the_images_folder_via_the_cli(tmp_path: Path) -> None:
    _images(tmp_path / "imgs", ["a.jpg", "b.jpg"])
    (tmp_path / "lbl").mkdir()
    (tmp_path / "lbl" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "lbl" / "classes.txt").write_text("x\n")
    res = run_cli("convert", tmp_path / "lbl", tmp_path / "o.json", "--from", "yolo", "--to", "coco",
                  "--images", tmp_path / "imgs")
    assert res.code == 0, res.err
    assert len(pf.read(tmp_path / "o.json").assets) == 1 and "not added" in res.out
    res = run_cli("convert", tmp_path / "lbl", tmp_path / "o2.json", "--from", "yolo", "--to", "coco",
                  "--images", tmp_path / "imgs", "--include-unlabelled")
    assert res.code == 0, res.err
    assert len(pf.read(tmp_path / "o2.json").assets) == 2


def test_unknown_sizes_are_refused_via_the_cli(tmp_path: Path) -> None:
    ds = Dataset([Label("a")], [Asset("i.jpg", None, None, [Annotation("a", box=(1, 1, 2, 2))])])
    pf.write(ds, tmp_path / "p.json", "picsellia")
    res = run_cli("convert", tmp_path / "p.json", tmp_path / "y", "--to", "yolo")
    assert res.code == 2 and "--images" in res.err + res.out and not (tmp_path / "y").exists()


_coord = st.floats(0, 1, allow_nan=False).map(lambda v: round(v, 4))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.sampled_from([2, 3]),
       st.lists(st.tuples(st.lists(st.tuples(_coord, _coord, st.sampled_from([0, 1, 2])), min_size=6, max_size=6),
                          st.integers(1, 8), st.integers(1, 8)), min_size=0, max_size=4))
def test_pose_round_trips(nk: int, nd: int, objects: list) -> None:
    W, H = 640, 480
    anns = []
    for kps, bw, bh in objects:
        flat: list[float] = []
        for x, y, v in kps[:nk]:
            v = v if nd == 3 else 2
            flat += [x * W, y * H, v] if v else [0.0, 0.0, 0]
        anns.append(Annotation("p", box=(10.0, 20.0, bw * 10.0, bh * 10.0), keypoints=flat))
    ds = Dataset([Label("p")], [Asset("a.jpg", W, H, anns)], {"yolo": {"kpt_shape": [nk, nd]}})
    with tempfile.TemporaryDirectory() as tmp:
        report = pf.write(ds, Path(tmp) / "y", "yolo", task="pose")
        back = pf.read(Path(tmp) / "y")
    assert not report.lossy, str(report)
    got = back.assets[0].annotations
    assert len(got) == len(anns)
    for a, b in zip(anns, got):
        assert b.box == pytest.approx(a.box, abs=1e-6)
        assert b.keypoints == pytest.approx(a.keypoints, abs=1e-6)


def _rotated(cx: float, cy: float, w: float, h: float, angle: float) -> list[float]:
    import math

    c, s = math.cos(angle), math.sin(angle)
    corners = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return [round(v, 6) for dx, dy in corners for v in (cx + dx * c - dy * s, cy + dx * s + dy * c)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.builds(_rotated, st.floats(0.05, 0.95), st.floats(0.05, 0.95), st.floats(0.01, 0.6),
                          st.floats(0.01, 0.6), st.floats(0, 3.2)), min_size=1, max_size=4))
def test_obb_rows_round_trip_exactly(rows: list[list[float]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "o"
        _images(root / "images" / "train", ["1.jpg"], (64, 48))
        (root / "labels" / "train").mkdir(parents=True)
        text = "".join("0 " + " ".join(f"{v:g}" for v in r) + "\n" for r in rows)
        (root / "labels" / "train" / "1.txt").write_text(text)
        (root / "data.yaml").write_text("train: images/train\nval: images/train\nnames: [a]\n")
        ds = pf.read(root, task="obb")
        report = pf.write(ds, Path(tmp) / "w", "yolo", images=root)
        assert not report.lossy, str(report)
        assert (Path(tmp) / "w" / "labels" / "train" / "1.txt").read_text() == text


@pytest.mark.parametrize("mode", ["copy", "link", "symlink"])
def test_images_copied_linked_or_symlinked_into_the_split_layout(mode: str, tmp_path: Path) -> None:
    _images(tmp_path / "src", ["a.jpg", "b.jpg"])
    ds = Dataset([Label("x")], [Asset("a.jpg", 40, 30, [Annotation("x", box=(1, 1, 5, 5))], tags=["train"]),
                                Asset("b.jpg", 40, 30, [], tags=["val"])])
    pf.write(ds, tmp_path / "y", "yolo", images=tmp_path / "src", copy_images=mode)
    a, b = tmp_path / "y" / "images" / "train" / "a.jpg", tmp_path / "y" / "images" / "val" / "b.jpg"
    assert a.is_file() and b.is_file()
    assert a.is_symlink() == (mode == "symlink")
    assert (a.stat().st_nlink > 1) == (mode == "link")
    assert [(x.file_name, x.tags) for x in pf.read(tmp_path / "y").assets] == [("a.jpg", ["train"]),
                                                                                  ("b.jpg", ["val"])]
