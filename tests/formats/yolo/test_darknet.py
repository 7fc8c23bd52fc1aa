"""Darknet obj.data: the CVAT "YOLO 1.1" layout and its data/ prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats.formats.yolo.darknet import parse_obj_data, resolve_prefixed
from tests.conftest import FIXTURES


def test_resolve_prefixed_drops_leading_folders_that_are_not_here(tmp_path: Path) -> None:
    (tmp_path / "obj_train_data").mkdir()
    (tmp_path / "obj_train_data" / "x.txt").write_text("")
    assert resolve_prefixed(tmp_path, "data/obj_train_data/x.txt") == tmp_path / "obj_train_data" / "x.txt"
    assert resolve_prefixed(tmp_path, "../obj_train_data/x.txt") is None  # never outside
    assert resolve_prefixed(tmp_path, "data/missing.txt") is None


def test_obj_data_of_cvat() -> None:
    d = parse_obj_data(FIXTURES / "real_exports" / "cvat_yolo11" / "obj.data")
    assert d["classes"] == 2 and [p.name for p in d["train"]] == ["train.txt"]


@pytest.mark.parametrize(("text", "message"), [
    ("classes = two\n", "classes must be an integer"),
    ("train = data/nothere.txt\n", "image list 'data/nothere.txt' is not there"),
    ("names = data/none.names\n", "class names file"),
    ("just words\n", "expected 'key = value'"),
])
def test_bad_obj_data_names_file_and_line(text: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "obj.data").write_text(f"# CVAT\n{text}")
    with pytest.raises(pf.FormatError, match=message) as err:
        pf.read(tmp_path / "obj.data", "yolo")
    assert "obj.data: line 2" in str(err.value)


def test_valid_list_becomes_the_val_split(tmp_path: Path) -> None:
    from PIL import Image

    for split in ("train", "valid"):
        folder = tmp_path / f"obj_{split}_data"
        folder.mkdir()
        Image.new("RGB", (10, 10)).save(folder / f"{split}.jpg")
        (folder / f"{split}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
        (tmp_path / f"{split}.txt").write_text(f"data/obj_{split}_data/{split}.jpg\n")
    (tmp_path / "obj.names").write_text("a\n")
    (tmp_path / "obj.data").write_text("classes = 1\ntrain = data/train.txt\nvalid = data/valid.txt\n"
                                       "names = data/obj.names\n")
    ds = pf.read(tmp_path)
    assert [(a.file_name, a.tags) for a in ds.assets] == [("train.jpg", ["train"]), ("valid.jpg", ["val"])]
