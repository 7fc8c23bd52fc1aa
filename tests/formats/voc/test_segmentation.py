"""VOC segmentation PNGs: written as the devkit does, read back into the same instances and classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

import picsellia_formats as pf
from picsellia_formats.errors import FormatError
from picsellia_formats.formats.voc.segmentation import (
    VOC_CLASSES,
    read_labelmap,
    read_segmentation,
    voc_colormap,
    write_segmentation,
)
from picsellia_formats.masks import mask_to_rle, polygon_to_mask, rle_to_mask
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.report import Report

H, W = 40, 50


def _disk(cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return ((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r).astype(np.uint8)


def _dataset() -> Dataset:
    donut = _disk(15, 15, 10) & ~_disk(15, 15, 4).astype(bool)
    two_pieces = _disk(40, 8, 5) | _disk(40, 30, 6)
    a = Asset("a.jpg", W, H, [
        Annotation("cat", box=(5.0, 5.0, 20.0, 20.0), mask=mask_to_rle(donut)),
        Annotation("dog", box=(34.0, 3.0, 12.0, 33.0), mask=mask_to_rle(two_pieces)),
        Annotation("cat", box=(0.0, 30.0, 10.0, 10.0)),  # a box only: in the XML, not in the PNGs
    ])
    b = Asset("b.jpg", W, H, [
        Annotation("person", polygon=[[2, 2, 20, 2, 20, 20, 2, 20]]),
        Annotation("dog", box=(25.0, 25.0, 10.0, 10.0), mask=mask_to_rle(_disk(30, 30, 5))),
    ])
    c = Asset("c.jpg", W, H, [])  # no objects: no PNGs
    return Dataset([Label("cat"), Label("dog"), Label("person")], [a, b, c])


def _write(ds: Dataset, out: Path) -> pf.Report:
    return pf.write(ds, out, "voc", layout="devkit", segmentation=True)


def test_write_palette_pngs(tmp_path: Path) -> None:
    out = tmp_path / "voc"
    report = _write(_dataset(), out)
    for sub in ("SegmentationClass", "SegmentationObject"):
        assert sorted(p.name for p in (out / sub).iterdir()) == ["a.png", "b.png"]
        with Image.open(out / sub / "a.png") as im:
            assert im.mode == "P"
            assert im.size == (W, H)
            assert im.getpalette() == voc_colormap()
    assert read_labelmap(out / "labelmap.txt") == [("background", (0, 0, 0)), ("cat", (128, 0, 0)),
                                                   ("dog", (0, 128, 0)), ("person", (128, 128, 0))]
    cls = np.asarray(Image.open(out / "SegmentationClass" / "a.png"))
    obj = np.asarray(Image.open(out / "SegmentationObject" / "a.png"))
    assert set(np.unique(cls).tolist()) == {0, 1, 2}
    assert set(np.unique(obj).tolist()) == {0, 1, 2}
    assert obj[15, 15] == 0 and obj[15, 23] == 1  # the donut's hole, its ring
    # masks carried exactly; the polygon rasterised: only that is approximate
    assert report.count("approximated", "masks written as boxes") == 0
    assert report.count("approximated", "polygons written as pixel masks") == 1


def test_round_trip_same_instances_and_classes(tmp_path: Path) -> None:
    ds = _dataset()
    out = tmp_path / "voc"
    _write(ds, out)
    back = pf.read(out, "voc")
    assert [a.file_name for a in back.assets] == ["a.jpg", "b.jpg", "c.jpg"]
    for orig, got in zip(ds.assets, back.assets):
        assert [a.label for a in got.annotations] == [a.label for a in orig.annotations]
        for o, g in zip(orig.annotations, got.annotations):
            if o.mask is not None:
                assert g.mask == o.mask  # the same RLE string
            elif o.polygon is not None:
                assert np.array_equal(rle_to_mask(g.mask), polygon_to_mask(o.polygon, H, W))
            else:
                assert g.mask is None
            if o.box is not None:
                assert g.box == o.box


def test_read_as_polygons(tmp_path: Path) -> None:
    ds = _dataset()
    out = tmp_path / "voc"
    _write(ds, out)
    back = pf.read(out, "voc", masks="polygon")
    donut = back.assets[0].annotations[0]
    assert donut.mask is None and donut.polygon
    assert np.array_equal(polygon_to_mask(donut.polygon, H, W), rle_to_mask(ds.assets[0].annotations[0].mask))
    none = pf.read(out, "voc", masks="none")
    assert all(a.mask is None and a.polygon is None for _, a in none.annotations())


def test_write_is_deterministic(tmp_path: Path) -> None:
    _write(_dataset(), tmp_path / "one")
    _write(_dataset(), tmp_path / "two")
    for sub in ("SegmentationClass/a.png", "SegmentationObject/b.png", "labelmap.txt"):
        assert (tmp_path / "one" / sub).read_bytes() == (tmp_path / "two" / sub).read_bytes()


def test_overlap_is_reported(tmp_path: Path) -> None:
    ds = _dataset()
    ds.assets[1].annotations.append(Annotation("cat", box=(0.0, 0.0, 50.0, 40.0),
                                               mask=mask_to_rle(np.ones((H, W), np.uint8))))
    report = _write(ds, tmp_path / "voc")
    assert report.count("approximated", "objects partly covered by a later object in the PNGs") == 1


# ------------------------------------------------------------------------------- devkit files by hand


def _devkit(root: Path, objects: list[tuple[str, tuple[int, int, int, int]]], cls: np.ndarray | None,
            obj: np.ndarray | None, rgb: bool = False) -> None:
    (root / "Annotations").mkdir(parents=True)
    xml = "".join(f"<object><name>{n}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>"
                  f"<ymax>{b[3]}</ymax></bndbox></object>" for n, b in objects)
    (root / "Annotations" / "2007_000032.xml").write_text(
        f"<annotation><filename>2007_000032.jpg</filename><size><width>{W}</width><height>{H}</height>"
        f"<depth>3</depth></size><segmented>1</segmented>{xml}</annotation>")
    palette = voc_colormap()
    for sub, arr in (("SegmentationClass", cls), ("SegmentationObject", obj)):
        if arr is None:
            continue
        (root / sub).mkdir()
        im = Image.frombytes("P", (W, H), arr.astype(np.uint8).tobytes())
        im.putpalette(palette)
        (im.convert("RGB") if rgb else im).save(root / sub / "2007_000032.png")


def _voc_scene() -> tuple[np.ndarray, np.ndarray]:
    cls = np.zeros((H, W), np.uint8)
    obj = np.zeros((H, W), np.uint8)
    cls[5:15, 5:20] = VOC_CLASSES.index("aeroplane")
    obj[5:15, 5:20] = 1
    cls[20:35, 25:45] = VOC_CLASSES.index("person")
    obj[20:35, 25:45] = 2
    for a in (cls, obj):  # the devkit's void border around each object
        a[4, 4:21] = a[15, 4:21] = 255
        a[19, 24:46] = 255
    return cls, obj


def test_devkit_instances_pair_with_xml_objects_and_void_survives(tmp_path: Path) -> None:
    cls, obj = _voc_scene()
    root = tmp_path / "VOC2012"
    _devkit(root, [("aeroplane", (5, 5, 20, 15)), ("person", (25, 20, 45, 35))], cls, obj)
    report = Report()
    ds = pf.read(root, "voc", report=report)
    anns = ds.assets[0].annotations
    assert [a.label for a in anns] == ["aeroplane", "person"]
    assert np.array_equal(rle_to_mask(anns[0].mask), (obj == 1).astype(np.uint8))
    assert np.array_equal(rle_to_mask(anns[1].mask), (obj == 2).astype(np.uint8))
    assert anns[0].box == (5.0, 5.0, 15.0, 10.0)
    assert report.count("info", "images with void (255) pixels, kept to be written back") == 1
    # written back: the same pixels, void included
    out = tmp_path / "out"
    pf.write(ds, out, "voc", segmentation=True)
    assert np.array_equal(np.asarray(Image.open(out / "SegmentationObject" / "2007_000032.png")), obj)
    back_cls = np.asarray(Image.open(out / "SegmentationClass" / "2007_000032.png"))
    # our class list is the dataset's (aeroplane=1, person=2), the names are what must agree
    names = [n for n, _ in read_labelmap(out / "labelmap.txt")]
    assert names[back_cls[10, 10]] == "aeroplane" and names[back_cls[30, 30]] == "person"
    assert back_cls[4, 10] == 255 and back_cls[0, 0] == 0


def test_rgb_pngs_and_extra_instances(tmp_path: Path) -> None:
    cls, obj = _voc_scene()
    root = tmp_path / "VOC"
    _devkit(root, [("aeroplane", (5, 5, 20, 15))], cls, obj, rgb=True)  # the person has no XML object
    report = Report()
    ds = pf.read(root, "voc", report=report)
    anns = ds.assets[0].annotations
    assert [a.label for a in anns] == ["aeroplane", "person"]
    assert anns[1].box == (25.0, 20.0, 20.0, 15.0)
    assert report.count("info", "objects made from segmentation PNGs (no matching XML object)") == 1
    assert "person" in ds.label_names


def test_class_png_alone_gives_one_object_per_class(tmp_path: Path) -> None:
    cls, _ = _voc_scene()
    root = tmp_path / "VOC"
    _devkit(root, [], cls, None)
    ds = pf.read(root, "voc")
    anns = ds.assets[0].annotations
    assert [a.label for a in anns] == ["aeroplane", "person"]
    assert all(a.extra["voc"]["segmentation"] == "class" for a in anns)
    assert np.array_equal(rle_to_mask(anns[1].mask), (cls == VOC_CLASSES.index("person")).astype(np.uint8))


def test_labelmap_gives_the_class_order(tmp_path: Path) -> None:
    cls, _ = _voc_scene()
    cls[cls == VOC_CLASSES.index("person")] = 2
    root = tmp_path / "VOC"
    _devkit(root, [], cls, None)
    (root / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\naeroplane:128,0,0::\n"
                                       "giraffe:0,128,0::\n")
    ds = pf.read(root, "voc")
    assert [a.label for a in ds.assets[0].annotations] == ["aeroplane", "giraffe"]


@pytest.mark.parametrize("problem", ["size", "class", "corrupt", "colour"])
def test_bad_pngs_raise_format_error(tmp_path: Path, problem: str) -> None:
    cls, obj = _voc_scene()
    root = tmp_path / "VOC"
    if problem == "class":
        cls[0, 0] = 99
    _devkit(root, [("aeroplane", (5, 5, 20, 15))], cls, obj, rgb=problem == "colour")
    png = root / "SegmentationObject" / "2007_000032.png"
    if problem == "size":
        Image.new("P", (W + 1, H)).save(png)
    elif problem == "corrupt":
        png.write_bytes(b"\x89PNG not really")
    elif problem == "colour":
        Image.new("RGB", (W, H), (1, 2, 3)).save(png)
    with pytest.raises(FormatError) as err:
        pf.read(root, "voc")
    assert "2007_000032.png" in str(err.value)


def test_functions_without_the_voc_writer(tmp_path: Path) -> None:
    ds = _dataset()
    counts = write_segmentation(ds, tmp_path)
    assert counts == {"images": 2, "mask": 3, "polygon": 1}
    for asset in ds.assets:
        asset.annotations = [Annotation(a.label, box=a.box) for a in asset.annotations if a.box is not None]
    assert read_segmentation(ds, tmp_path) == 2
    assert ds.assets[0].annotations[0].mask is not None


def test_image_without_size_is_reported(tmp_path: Path) -> None:
    ds = _dataset()
    ds.assets[0].width = None
    report = Report()
    write_segmentation(ds, tmp_path, report)
    assert report.count("dropped", "segmentations of images without a size") == 1


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, (12, 14), elements=st.integers(0, 4)))
def test_any_instance_png_round_trips(tmp_path_factory: pytest.TempPathFactory, obj: np.ndarray) -> None:
    tmp = tmp_path_factory.mktemp("voc")
    cls = np.where(obj > 0, (obj % 3) + 1, 0).astype(np.uint8)
    (tmp / "Annotations").mkdir()
    present = sorted(set(np.unique(obj).tolist()) - {0})
    n = max(present, default=0)
    xml = "".join(f"<object><name>{VOC_CLASSES[(i % 3) + 1]}</name><bndbox><xmin>0</xmin><ymin>0</ymin>"
                  f"<xmax>1</xmax><ymax>1</ymax></bndbox></object>" for i in range(1, n + 1))
    (tmp / "Annotations" / "x.xml").write_text(f"<annotation><filename>x.jpg</filename><size><width>14</width>"
                                               f"<height>12</height></size>{xml}</annotation>")
    for sub, arr in (("SegmentationClass", cls), ("SegmentationObject", obj)):
        (tmp / sub).mkdir()
        im = Image.frombytes("P", (14, 12), arr.tobytes())
        im.putpalette(voc_colormap())
        im.save(tmp / sub / "x.png")
    ds = pf.read(tmp, "voc")
    out = tmp / "out"
    pf.write(ds, out, "voc", segmentation=True)
    if present:
        assert np.array_equal(np.asarray(Image.open(out / "SegmentationObject" / "x.png")), obj)
        names = [name for name, _ in read_labelmap(out / "labelmap.txt")]
        got = np.asarray(Image.open(out / "SegmentationClass" / "x.png"))
        assert [names[v] for v in got.ravel()] == [VOC_CLASSES[v] for v in cls.ravel()]
