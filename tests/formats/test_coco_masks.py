"""COCO ``--segmentation polygon|rle``: masks traced to polygons and polygons rasterised, same pixels."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

import picsellia_formats as pf
from picsellia_formats.masks import rle_to_mask
from picsellia_formats.model import Annotation, Asset, Dataset, Label, Mask
from tests.conftest import FIXTURES, run_cli

RESULTS = FIXTURES / "cocoapi_results" / "instances_val2014_fakesegm100_results.json"
TERRAIN = FIXTURES / "sahi_coco" / "coco_utils" / "terrain_all_coco.json"


def _load(path: Path) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def test_results_masks_written_as_polygons_rasterise_to_the_same_pixels(tmp_path: Path) -> None:
    ds = pf.read(RESULTS)
    out = tmp_path / "polys.json"
    report = pf.write(ds, out, "coco", segmentation="polygon")
    assert report.count("changed", "masks written as polygons") == 734
    assert not report.lossy
    written = json.loads(out.read_text())
    source = json.loads(RESULTS.read_text())
    assert len(written) == len(source)
    for w, s in zip(written, source):
        h, wd = s["segmentation"]["size"]
        assert isinstance(w["segmentation"], list)
        rle = coco_mask.merge(coco_mask.frPyObjects(w["segmentation"], h, wd))
        assert rle["counts"].decode() == s["segmentation"]["counts"]


def test_instances_masks_as_polygons_through_the_coco_api(tmp_path: Path) -> None:
    ds = pf.read(RESULTS)
    ds.metadata = {}  # write an instances file, not a results list
    out = tmp_path / "instances.json"
    pf.write(ds, out, "coco", segmentation="polygon")
    coco = _load(out)
    masks = [ann.mask for _, ann in ds.annotations()]
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == len(masks)
    for ann, mask in zip(anns, masks):
        assert np.array_equal(coco.annToMask(ann), rle_to_mask(mask))
        assert ann["area"] == float(coco_mask.area(coco.annToRLE(ann)))


def test_cli_segmentation_polygon_and_back_to_rle(tmp_path: Path) -> None:
    ds = pf.read(RESULTS)
    ds.metadata = {}
    instances = tmp_path / "i.json"  # an instances file: it carries the image sizes
    pf.write(ds, instances, "coco")
    polys = tmp_path / "p.json"
    result = run_cli("convert", instances, polys, "--to", "coco", "--segmentation", "polygon")
    assert result.code == 0, result.err
    assert "734 masks written as polygons" in result.out
    assert all(isinstance(a["segmentation"], list) for a in json.loads(polys.read_text())["annotations"])
    rles = tmp_path / "r.json"
    assert run_cli("convert", polys, rles, "--to", "coco", "--segmentation", "rle").code == 0
    # mask -> polygon -> mask: the very same RLE strings
    assert [a["segmentation"] for a in json.loads(rles.read_text())["annotations"]] == \
        [r["segmentation"] for r in json.loads(RESULTS.read_text())]


def test_polygons_written_as_rle_equal_pycocotools(tmp_path: Path) -> None:
    ds = pf.read(TERRAIN)
    out = tmp_path / "rle.json"
    pf.write(ds, out, "coco", segmentation="rle")
    source, written = _load(TERRAIN), _load(out)
    for a in source.loadAnns(source.getAnnIds()):
        b = written.loadAnns(a["id"])[0]
        assert isinstance(b["segmentation"], dict)
        assert np.array_equal(written.annToMask(b), source.annToMask(a))


def test_empty_mask_stays_rle_in_polygon_mode(tmp_path: Path) -> None:
    empty = Mask(4, 5, [20])
    ds = Dataset([Label("a")], [Asset("x.jpg", 5, 4, [Annotation("a", mask=empty, box=(0.0, 0.0, 0.0, 0.0))])])
    out = tmp_path / "x.json"
    report = pf.write(ds, out, "coco", segmentation="polygon")
    assert json.loads(out.read_text())["annotations"][0]["segmentation"] == {"size": [4, 5], "counts": [20]}
    assert report.count("changed", "empty masks kept as RLE") == 1
    _load(out)  # pycocotools reads it
