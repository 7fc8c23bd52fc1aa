"""``rasterise``: one mask PNG per image, the same pixels pycocotools paints."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

import picsellia_formats as pf
from picsellia_formats.errors import OutputExistsError, PicselliaFormatsError
from picsellia_formats.masks import mask_to_rle, rle_to_mask, voc_colormap
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.outputs import MARKER
from picsellia_formats.rasterise import rasterise, rasterise_asset
from tests.conftest import FIXTURES, run_cli

TERRAIN = FIXTURES / "sahi_coco" / "coco_utils" / "terrain_all_coco.json"
RESULTS = FIXTURES / "cocoapi_results" / "instances_val2014_fakesegm100_results.json"


def _expected_semantic(path: Path) -> dict[str, np.ndarray]:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    order = {c["id"]: i for i, c in enumerate(sorted(coco.loadCats(coco.getCatIds()), key=lambda c: c["id"]),
                                              start=1)}
    out = {}
    for img in coco.loadImgs(coco.getImgIds()):
        arr = np.zeros((img["height"], img["width"]), np.uint16)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
            arr[coco.annToMask(ann).astype(bool)] = order[ann["category_id"]]
        out[Path(img["file_name"]).with_suffix(".png").name] = arr
    return out


def test_cli_semantic_equals_pycocotools(tmp_path: Path) -> None:
    out = tmp_path / "masks"
    result = run_cli("rasterise", TERRAIN, out)
    assert result.code == 0, result.err
    assert "3 semantic masks (22 objects)" in result.out
    expected = _expected_semantic(TERRAIN)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(expected)
    for name, arr in expected.items():
        with Image.open(out / name) as im:
            assert im.mode == "P" and im.getpalette() == voc_colormap()
            assert np.array_equal(np.asarray(im), arr)
    assert (out / "labels.txt").read_text() == "0 background\n1 human\n2 car\n"


def test_instance_masks_of_coco_results(tmp_path: Path) -> None:
    ds = pf.read(RESULTS)
    out = tmp_path / "inst"
    report = rasterise(ds, out, "instance")
    assert report.stats == {"images": 99, "objects": 734}
    rows = list(csv.DictReader((out / "instances.csv").open()))
    assert len(rows) == 734
    for asset in ds.assets[:20]:
        expected = np.zeros((asset.height, asset.width), np.uint16)
        for n, ann in enumerate(asset.annotations, start=1):
            expected[rle_to_mask(ann.mask).astype(bool)] = n
        got = np.asarray(Image.open(out / f"{asset.file_name}.png"))
        assert np.array_equal(got, expected)


def test_jobs_give_the_same_bytes(tmp_path: Path) -> None:
    ds = pf.read(RESULTS)
    rasterise(ds, tmp_path / "one", "instance", jobs=1)
    rasterise(ds, tmp_path / "two", "instance", jobs=2)
    one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*"))
    assert one == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*"))
    for rel in one:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes()


def test_sizes_from_image_headers_and_skips(tmp_path: Path) -> None:
    ds = Dataset([Label("a")], [
        Asset("terrain1.jpg", None, None, [Annotation("a", polygon=[[0, 0, 10, 0, 10, 10, 0, 10]])]),
        Asset("nowhere.jpg", None, None, [Annotation("a", box=(0.0, 0.0, 2.0, 2.0))]),
        Asset("empty.jpg", 3, 2, []),
    ])
    report = rasterise(ds, tmp_path / "m", images=FIXTURES / "sahi_coco" / "coco_utils")
    assert Image.open(tmp_path / "m" / "terrain1.png").size == (2048, 1365)
    assert report.count("dropped", "images without a usable size") == 1
    assert not (tmp_path / "m" / "nowhere.png").exists()
    assert np.asarray(Image.open(tmp_path / "m" / "empty.png")).tolist() == [[0, 0, 0], [0, 0, 0]]


def test_boxes_and_mask_sizes(tmp_path: Path) -> None:
    ds = Dataset([Label("a"), Label("b")], [
        Asset("x.jpg", 6, 4, [Annotation("b", box=(1.0, 1.0, 2.0, 2.0))]),
        Asset("y.jpg", 6, 4, [Annotation("a", mask=mask_to_rle(np.ones((3, 3), np.uint8)))]),
    ])
    report = rasterise(ds, tmp_path / "m", boxes=True)
    arr = np.asarray(Image.open(tmp_path / "m" / "x.png"))
    assert arr[1:3, 1:3].tolist() == [[2, 2], [2, 2]] and arr.sum() == 8
    assert report.count("dropped", "images without a usable size") == 1  # y: its mask is 3x3, not 6x4
    assert rasterise_asset(ds.assets[0], {"b": 2}, "semantic").sum() == 0  # boxes only when asked


def test_many_labels_give_16_bit_pngs(tmp_path: Path) -> None:
    labels = [Label(f"l{i}") for i in range(300)]
    ds = Dataset(labels, [Asset("x.jpg", 4, 4, [Annotation("l299", polygon=[[0, 0, 2, 0, 2, 2, 0, 2]])])])
    rasterise(ds, tmp_path / "m")
    with Image.open(tmp_path / "m" / "x.png") as im:
        assert im.mode.startswith("I")
        assert int(np.asarray(im)[0, 0]) == 300


def test_unsafe_and_duplicate_names_stay_inside(tmp_path: Path) -> None:
    ds = Dataset([Label("a")], [Asset("../evil.jpg", 2, 2), Asset("a.jpg", 2, 2), Asset("a.png", 2, 2)])
    report = rasterise(ds, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [MARKER, "a.png", "a_1.png", "image_0.png",
                                                                  "labels.txt"]
    assert report.count("changed", "mask file names made unique or safe") == 2
    assert not (tmp_path / "evil.png").exists()


def test_output_is_replaced_atomically(tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "stale.png").write_bytes(b"old")
    (out / "labels.txt").write_text("0 background\n")
    with pytest.raises(OutputExistsError):  # an unmarked folder (a first-wave output, say): asked once
        rasterise(Dataset([], [Asset("a.jpg", 2, 2)]), out)
    rasterise(Dataset([], [Asset("a.jpg", 2, 2)]), out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a.png", "labels.txt"]
    assert not list(tmp_path.glob(".m.*"))
    rasterise(Dataset([], [Asset("b.jpg", 2, 2)]), out)  # a previous output is replaced again
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "b.png", "labels.txt"]


def test_a_folder_of_pngs_that_is_not_an_output_is_never_replaced(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.png").write_bytes(b"mine")
    with pytest.raises(PicselliaFormatsError, match="not an output of picsellia-formats"):
        rasterise(Dataset([], [Asset("a.jpg", 2, 2)]), photos)
    assert [p.name for p in photos.iterdir()] == ["holiday.png"]
    result = run_cli("rasterise", FIXTURES / "picsellia_coco_det/annotations.json", photos)
    assert result.code == 2 and "photos" in result.err
    assert (photos / "holiday.png").read_bytes() == b"mine"


def test_cli_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run_cli("rasterise", bad, tmp_path / "m", "--from", "coco")
    assert result.code == 2 and "not valid JSON" in result.err
    with pytest.raises(ValueError, match="kind"):
        rasterise(Dataset(), tmp_path / "m", "panoptic")
