"""One COCO file per split: found by folder or file name, read as one dataset, written back per split."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import picsellia_formats as pf
from picsellia_formats.formats.coco.split_files import find_split_files, split_of_file, wants_split_files
from picsellia_formats.formats.coco.write import write_split_files
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.splits import canonical_split, split_of


@pytest.mark.parametrize(("rel", "split"), [
    ("annotations/instances_train.json", "train"),
    ("annotations/instances_val2017.json", "val"),
    ("annotations/person_keypoints_val2017.json", "val"),
    ("valid/_annotations.coco.json", "valid"),
    ("test.json", "test"),
    ("annotations/instances_default.json", None),
    ("annotations.json", None),
])
def test_split_of_file(rel: str, split: str | None, tmp_path: Path) -> None:
    assert split_of_file(tmp_path / rel, tmp_path) == split


def _coco(images: list[str]) -> dict:
    return {"images": [{"id": i, "file_name": n, "width": 10, "height": 10} for i, n in enumerate(images)],
            "annotations": [{"id": i, "image_id": i, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4,
                             "iscrowd": 0, "segmentation": []} for i in range(len(images))],
            "categories": [{"id": 1, "name": "a"}]}


def test_instances_preferred_when_a_split_has_several_files(tmp_path: Path) -> None:
    ann = tmp_path / "annotations"
    ann.mkdir()
    for name in ("instances_train.json", "person_keypoints_train.json", "instances_val.json"):
        (ann / name).write_text(json.dumps(_coco(["a.jpg"])))
    assert {k: v.name for k, v in find_split_files(tmp_path).items()} == {
        "train": "instances_train.json", "val": "instances_val.json"}


def test_a_file_naming_no_split_makes_it_no_split_folder(tmp_path: Path) -> None:
    for name in ("instances_train.json", "extra.json"):
        (tmp_path / name).write_text(json.dumps(_coco(["a.jpg"])))
    assert find_split_files(tmp_path) is None
    with pytest.raises(pf.DetectionError):
        pf.detect(tmp_path)


def test_val_and_valid_together_are_ambiguous(tmp_path: Path) -> None:
    for name in ("instances_val.json", "instances_valid.json"):
        (tmp_path / name).write_text(json.dumps(_coco(["a.jpg"])))
    assert find_split_files(tmp_path) is None


def test_same_file_name_in_two_splits_stays_two_assets(tmp_path: Path) -> None:
    for split in ("train", "val"):
        (tmp_path / f"instances_{split}.json").write_text(json.dumps(_coco(["1.jpg"])))
    ds = pf.read(tmp_path)
    assert sorted((a.file_name, split_of(a.tags)) for a in ds.assets) == [("1.jpg", "train"), ("1.jpg", "val")]
    assert len({a.id for a in ds.assets}) == 2  # ids made unique across files...
    pf.write(ds, tmp_path / "out", "coco")
    for split in ("train", "val"):  # ...and each file's own ids written back
        data = json.loads((tmp_path / "out" / "annotations" / f"instances_{split}.json").read_text())
        assert [im["id"] for im in data["images"]] == [0]


@pytest.mark.parametrize("bad", [b"", b"{not json", b'{"images": [{"id": 1}]', b"\x89PNG\r\n"])
def test_a_broken_split_file_is_named_not_skipped(bad: bytes, tmp_path: Path) -> None:
    # a truncated instances_val.json must not leave a silent single-split dataset
    (tmp_path / "instances_train.json").write_text(json.dumps(_coco(["a.jpg"])))
    (tmp_path / "instances_val.json").write_bytes(bad)
    with pytest.raises(pf.FormatError) as info:
        pf.read(tmp_path, "coco")
    assert "instances_val.json" in str(info.value)


def test_wants_split_files() -> None:
    ds = pf.read("fixtures/real_exports/coco_per_split")
    assert wants_split_files(ds, Path("out"), None)
    assert not wants_split_files(ds, Path("out.json"), None)
    assert not wants_split_files(ds, Path("out"), False)
    assert wants_split_files(Dataset(), Path("out.json"), True)


SPLITS = st.sampled_from(["train", "val", "test", "valid", "trainval"])
BOX = st.tuples(*(st.floats(0, 500, allow_nan=False, width=32) for _ in range(4)))


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    labels = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    assets = []
    for i in range(draw(st.integers(1, 8))):
        anns = [Annotation(draw(st.sampled_from(labels)), box=draw(BOX)) for _ in range(draw(st.integers(0, 3)))]
        assets.append(Asset(f"img_{i}.jpg", draw(st.integers(1, 999)), draw(st.integers(1, 999)), anns,
                            tags=[draw(SPLITS)]))
    return Dataset([Label(n) for n in labels], assets)


def _summary(ds: Dataset) -> list:
    return sorted((canonical_split(split_of(a.tags)), a.file_name, a.width, a.height,
                   sorted((o.label, o.box) for o in a.annotations)) for a in ds.assets)


@settings(max_examples=40, deadline=None)
@given(datasets())
def test_split_files_round_trip(ds: Dataset) -> None:
    from pycocotools.coco import COCO

    with tempfile.TemporaryDirectory() as tmp:
        written = write_split_files(ds, tmp)
        assert {canonical_split(s) for s in written} == {canonical_split(split_of(a.tags)) for a in ds.assets}
        for split, path in written.items():  # val and valid are one split: one file
            coco = COCO(str(path))
            assert len(coco.imgs) == sum(canonical_split(split_of(a.tags)) == canonical_split(split)
                                         for a in ds.assets)
            assert sorted(c["name"] for c in coco.cats.values()) == sorted(ds.label_names)
        back = pf.read(tmp)
        assert _summary(back) == _summary(ds)
