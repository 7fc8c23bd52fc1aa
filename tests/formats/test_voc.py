"""Pascal VOC: byte-stable round trips, counts and boxes against the fixtures' other copies,
the 1-based option, decimals, every field kept, safe parsing, the writer's report."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest

import picsellia_formats as pf
from picsellia_formats import formats
from picsellia_formats.formats import voc
from picsellia_formats.model import QA, Annotation, Asset, Dataset, Label, Mask
from picsellia_formats.outputs import MARKER
from picsellia_formats.report import Report
from tests.conftest import FIXTURES

RACCOON = FIXTURES / "raccoon_voc"
CATS = FIXTURES / "voc_toy_cats"
VOC_DIRS = [RACCOON / "annotations", CATS / "gts_vocpascal_format"]
VOC_FILES = sorted(p for d in VOC_DIRS for p in d.glob("*.xml"))


def _xml(objects: str = "", size: str = "<width>100</width><height>80</height><depth>3</depth>",
         filename: str = "a.jpg") -> bytes:
    return (f"<annotation>\n\t<filename>{filename}</filename>\n\t<size>{size}</size>\n{objects}</annotation>\n"
            ).encode()


def _obj(name: str = "cat", box: tuple[str, ...] = ("1", "2", "30", "40"), more: str = "") -> str:
    xmin, ymin, xmax, ymax = box
    return (f"\t<object>\n\t\t<name>{name}</name>{more}\n\t\t<bndbox>\n\t\t\t<xmin>{xmin}</xmin>\n"
            f"\t\t\t<ymin>{ymin}</ymin>\n\t\t\t<xmax>{xmax}</xmax>\n\t\t\t<ymax>{ymax}</ymax>\n\t\t</bndbox>\n"
            "\t</object>\n")


def _roundtrip(src: Path, out: Path, **options) -> Report:
    ds = pf.read(src, "voc", **{k: v for k, v in options.items() if k == "one_based"})
    return pf.write(ds, out, "voc", **options)


def _same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name != MARKER)
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name != MARKER)
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


# ------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("folder", VOC_DIRS, ids=lambda p: p.parent.name)
@pytest.mark.parametrize("one_based", [False, True])
def test_bundled_folders_round_trip_byte_identical(folder: Path, one_based: bool, tmp_path: Path) -> None:
    report = _roundtrip(folder, tmp_path / "out", one_based=one_based)
    _same_tree(folder, tmp_path / "out")
    assert not report.lossy


def test_bundled_files_need_no_byte_copy() -> None:
    """The renderer itself reproduces every bundled file: no file falls back to its kept bytes."""
    for folder in VOC_DIRS:
        ds = voc.read(folder)
        assert not [a.file_name for a in ds.assets if "raw" in a.extra["voc"]]


@pytest.mark.parametrize("path", VOC_FILES, ids=lambda p: p.name)
def test_each_bundled_file_round_trips_alone(path: Path, tmp_path: Path) -> None:
    _roundtrip(path, tmp_path / "out")
    assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes()


def test_round_trip_through_convert_and_cli(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    report = pf.convert(CATS / "gts_vocpascal_format", tmp_path / "api", "voc")
    _same_tree(CATS / "gts_vocpascal_format", tmp_path / "api")
    assert report.stats["source_format"] == "voc"
    result = run_cli("convert", RACCOON / "annotations", tmp_path / "cli", "--to", "voc", "--voc-one-based")
    assert result.code == 0, result.err
    _same_tree(RACCOON / "annotations", tmp_path / "cli")


def test_write_is_deterministic(tmp_path: Path) -> None:
    ds = pf.read(CATS / "gts_coco_format" / "toy_example_coco.JSON")
    pf.write(ds, tmp_path / "a", "voc")
    pf.write(ds, tmp_path / "b", "voc")
    _same_tree(tmp_path / "a", tmp_path / "b")


# ----------------------------------------------------------------------------- counts and boxes


def test_toy_cats_images_without_xml_not_read_unless_asked() -> None:
    # issue 15: an images folder does not add its unlabelled images to the dataset (the split leak)
    report = Report()
    ds = pf.read(CATS / "gts_vocpascal_format", images=CATS / "images", report=report)
    assert (len(ds), ds.num_annotations) == (10, 12)
    assert all(a.extra for a in ds.assets)  # every asset comes from an XML
    assert report.count("info", "images without an XML not read") == 2
    assert not report.lossy


def test_toy_cats_counts_with_images() -> None:
    report = Report()
    ds = pf.read(CATS / "gts_vocpascal_format", images=CATS / "images", report=report,
                 include_unlabelled=True)
    assert (len(ds), ds.num_annotations, ds.label_names) == (12, 12, ["cat"])
    empty = sorted(a.file_name for a in ds.assets if not a.annotations)
    assert empty == ["2007_000733.jpg", "2010_003115.jpg", "2012_003445.jpg"]
    no_xml = {a.file_name: (a.width, a.height) for a in ds.assets if not a.extra}
    assert sorted(no_xml) == ["2010_003115.jpg", "2012_003445.jpg"]
    assert all(w and h for w, h in no_xml.values())
    assert report.count("info", "images without an XML read as assets with no objects") == 2
    assert [a.file_name for a in ds.assets] == sorted(a.file_name for a in ds.assets)


def test_toy_cats_counts_without_images() -> None:
    ds = pf.read(CATS / "gts_vocpascal_format")
    assert (len(ds), ds.num_annotations) == (10, 12)
    assert sum(1 for a in ds.assets if not a.annotations) == 1


def test_toy_cats_boxes_equal_the_coco_copy() -> None:
    ours = pf.read(CATS / "gts_vocpascal_format")
    coco = pf.read(CATS / "gts_coco_format" / "toy_example_coco.JSON")

    def boxes(ds: Dataset) -> dict[str, object]:
        return {a.file_name: (a.width, a.height, sorted((ann.label, ann.box) for ann in a.annotations))
                for a in ds.assets}

    assert boxes(ours) == boxes(coco)


def test_raccoon_counts_and_boxes_equal_the_csv() -> None:
    ds = pf.read(RACCOON)
    assert (len(ds), ds.num_annotations, ds.label_names) == (200, 217, ["raccoon"])
    ours = Counter((a.file_name, a.width, a.height, ann.label, ann.box[0], ann.box[1], ann.box[0] + ann.box[2],
                    ann.box[1] + ann.box[3]) for a in ds.assets for ann in a.annotations)
    with open(RACCOON / "data" / "raccoon_labels.csv", newline="") as f:
        rows = Counter((r["filename"], int(r["width"]), int(r["height"]), r["class"], float(r["xmin"]),
                        float(r["ymin"]), float(r["xmax"]), float(r["ymax"])) for r in csv.DictReader(f))
    assert ours == rows


def test_raccoon_fields_are_kept() -> None:
    ds = pf.read(RACCOON / "annotations" / "raccoon-1.xml")
    asset = ds.assets[0]
    assert asset.extra["voc"]["root"] == {"verified": "yes"}
    assert asset.extra["voc"]["path"] == "/Users/datitran/Desktop/raccoon/images/raccoon-1.jpg"
    assert asset.extra["voc"]["source"] == {"database": "Unknown"}
    assert (asset.extra["voc"]["folder"], asset.extra["voc"]["depth"], asset.extra["voc"]["segmented"]) == (
        "images", 3, 0)
    assert dict(asset.annotations[0].attributes) == {"pose": "Unspecified", "truncated": 0, "difficult": 0}


def test_devkit_element_order_and_occluded() -> None:
    ds = pf.read(CATS / "gts_vocpascal_format" / "2008_006599.xml")
    ann = ds.assets[0].annotations[0]
    assert ann.attributes["occluded"] == 0
    assert ann.extra["voc"]["order"] == ("name", "pose", "truncated", "occluded", "bndbox", "difficult")
    assert ds.assets[0].extra["voc"]["source"] == {"database": "The VOC2008 Database",
                                                  "annotation": "PASCAL VOC2008", "image": "flickr"}


# --------------------------------------------------------------------------------- coordinates


def test_corners_as_they_stand_by_default(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(_xml(_obj(box=("1", "2", "30", "40"))))
    assert pf.read(tmp_path / "a.xml").assets[0].annotations[0].box == (1.0, 2.0, 29.0, 38.0)


def test_one_based_shifts_both_ways(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(_xml(_obj(box=("1", "2", "30", "40"))))
    ds = pf.read(tmp_path / "a.xml", one_based=True)
    assert ds.assets[0].annotations[0].box == (0.0, 1.0, 29.0, 38.0)
    pf.write(ds, tmp_path / "same", "voc", one_based=True)
    assert (tmp_path / "same" / "a.xml").read_bytes() == (tmp_path / "a.xml").read_bytes()
    pf.write(ds, tmp_path / "zero", "voc")
    text = (tmp_path / "zero" / "a.xml").read_text()
    assert "<xmin>0</xmin>" in text and "<ymin>1</ymin>" in text and "<xmax>29</xmax>" in text
    coco = Dataset([Label("cat")], [Asset("b.jpg", 50, 50, [Annotation("cat", box=(0.0, 0.0, 10.0, 5.0))])])
    pf.write(coco, tmp_path / "from_coco", "voc", one_based=True)
    text = (tmp_path / "from_coco" / "b.xml").read_text()
    assert "<xmin>1</xmin>" in text and "<xmax>11</xmax>" in text and "<ymax>6</ymax>" in text


def test_cli_one_based_read_option(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.xml").write_bytes(_xml(_obj(box=("1", "2", "30", "40"))))
    result = run_cli("convert", tmp_path / "in", tmp_path / "out.json", "--to", "coco", "--voc-one-based")
    assert result.code == 0, result.err
    assert pf.read(tmp_path / "out.json").assets[0].annotations[0].box == (0.0, 1.0, 29.0, 38.0)


@pytest.mark.parametrize("box", [("45.70000076293945", "12.5", "100.3", "50.25"), ("1.0", "2.00", "30", "40"),
                                 ("0.1", "0.2", "0.3", "0.7"), ("-0", "007", "1e2", " 5 ")])
def test_decimal_and_odd_numbers_survive(box: tuple[str, ...], tmp_path: Path) -> None:
    src = tmp_path / "a.xml"
    src.write_bytes(_xml(_obj(box=box)))
    ds = pf.read(src)
    x, y, w, h = ds.assets[0].annotations[0].box
    assert (x, y, x + w, y + h) == pytest.approx(tuple(float(v) for v in box))
    assert x == float(box[0]) and y == float(box[1])
    report = pf.write(ds, tmp_path / "out", "voc")
    assert (tmp_path / "out" / "a.xml").read_bytes() == src.read_bytes()
    assert not report.lossy


def test_non_integer_values_are_rounded_and_counted(tmp_path: Path) -> None:
    ds = Dataset([Label("cat")], [Asset("a.jpg", 640.0, 480, [
        Annotation("cat", box=(10.4, 20.5, 30.2, 40.0)),
        Annotation("cat", box=(1.0, 2.0, 3.0, 4.0)),
    ])])
    report = pf.write(ds, tmp_path / "out", "voc")
    text = (tmp_path / "out" / "a.xml").read_text()
    assert "<xmin>10</xmin>" in text and "<ymin>21</ymin>" in text and "<xmax>41</xmax>" in text
    assert "<width>640</width>" in text
    assert report.count("rounded", "boxes with non-integer corners") == 1
    assert report.lossy


def test_changed_box_of_a_read_file_is_written_with_its_new_value(tmp_path: Path) -> None:
    src = tmp_path / "a.xml"
    src.write_bytes(_xml(_obj(box=("45.5", "12", "100", "50"))))
    ds = pf.read(src)
    ann = ds.assets[0].annotations[0]
    ann.box = (ann.box[0] + 2, *ann.box[1:])
    pf.write(ds, tmp_path / "out", "voc")
    text = (tmp_path / "out" / "a.xml").read_text()
    assert "<xmin>48</xmin>" in text and "<ymin>12</ymin>" in text and "<xmax>102</xmax>" in text


# ----------------------------------------------------------------------------- every field kept

RICH = b"""<?xml version="1.0" encoding="utf-8"?>
<annotation verified="yes">
  <folder>VOC2012</folder>
  <filename>caf\xc3\xa9 &amp; co.jpg</filename>
  <source>
    <database>The VOC2012 Database</database>
    <annotation>PASCAL VOC2012</annotation>
    <image>flickr</image>
  </source>
  <owner>
    <flickrid>someone</flickrid>
    <name>?</name>
  </owner>
  <size>
    <width>500</width>
    <height>375</height>
    <depth>3</depth>
  </size>
  <segmented>0</segmented>
  <object>
    <name>person</name>
    <pose>Left</pose>
    <truncated>0</truncated>
    <occluded>1</occluded>
    <bndbox>
      <xmax>300.5</xmax>
      <xmin>100</xmin>
      <ymax>350</ymax>
      <ymin>50</ymin>
    </bndbox>
    <difficult>0</difficult>
    <part>
      <name>head</name>
      <bndbox>
        <xmin>120</xmin>
        <ymin>55</ymin>
        <xmax>160</xmax>
        <ymax>95</ymax>
      </bndbox>
    </part>
    <part>
      <name>hand</name>
      <bndbox>
        <xmin>200</xmin>
        <ymin>150</ymin>
        <xmax>220</xmax>
        <ymax>170</ymax>
      </bndbox>
    </part>
    <actions>
      <jumping>0</jumping>
      <phoning>1</phoning>
    </actions>
    <attributes>
      <attribute>
        <name>color</name>
        <value>red</value>
      </attribute>
      <attribute>
        <name>visible</name>
        <value>false</value>
      </attribute>
    </attributes>
    <track_id>7</track_id>
  </object>
</annotation>
"""


def test_every_field_is_kept_and_written_back(tmp_path: Path) -> None:
    src = tmp_path / "rich.xml"
    src.write_bytes(RICH)
    ds = pf.read(src)
    asset = ds.assets[0]
    assert asset.file_name == "café & co.jpg"
    assert asset.metadata == {"owner": {"flickrid": "someone", "name": "?"}}
    ann = asset.annotations[0]
    assert ann.box == (100.0, 50.0, 200.5, 300.0)
    attrs = ann.attributes
    assert (attrs["pose"], attrs["truncated"], attrs["occluded"], attrs["difficult"]) == ("Left", 0, 1, 0)
    assert attrs["part"][0] == {"name": "head", "bndbox": {"xmin": 120, "ymin": 55, "xmax": 160, "ymax": 95}}
    assert attrs["actions"] == {"jumping": 0, "phoning": 1}
    assert (attrs["color"], attrs["visible"], attrs["track_id"]) == ("red", False, 7)
    assert ann.extra["voc"]["cvat"] == ("color", "visible")
    assert "raw" not in asset.extra["voc"]
    pf.write(ds, tmp_path / "out", "voc")
    assert (tmp_path / "out" / "rich.xml").read_bytes() == RICH


def test_changed_attributes_keep_the_layout(tmp_path: Path) -> None:
    src = tmp_path / "rich.xml"
    src.write_bytes(RICH)
    ds = pf.read(src)
    ann = ds.assets[0].annotations[0]
    ann.attributes = {**ann.attributes, "color": "blue", "new_flag": True, "difficult": 1}
    pf.write(ds, tmp_path / "out", "voc")
    again = pf.read(tmp_path / "out" / "rich.xml").assets[0].annotations[0]
    assert again.attributes == {**ann.attributes, "new_flag": True}
    assert again.extra["voc"]["order"] == ds.assets[0].annotations[0].extra["voc"]["order"]
    assert again.extra["voc"]["cvat"] == ("color", "visible", "new_flag")


def test_attributes_from_another_format(tmp_path: Path) -> None:
    ds = Dataset([Label("car")], [Asset("a.jpg", 10, 10, [Annotation("car", box=(1.0, 1.0, 2.0, 2.0), attributes={
        "occluded": False, "truncated": True, "score_x": 0.5, "name": "x", "my attr": "y",
        "parts": {"wheel": 4}, "tags": ["a", "b"]})])])
    pf.write(ds, tmp_path / "out", "voc")
    back = pf.read(tmp_path / "out").assets[0].annotations[0].attributes
    assert back == {"pose": "Unspecified", "truncated": 1, "difficult": 0, "occluded": 0, "score_x": 0.5,
                    "name": "x", "my attr": "y", "parts": {"wheel": 4}, "tags": ["a", "b"]}


def test_odd_layouts_survive_byte_for_byte(tmp_path: Path) -> None:
    odd = [
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<annotation>\r\n  <filename>caf\xe9.jpg</filename>\r\n'
        b"  <size><width>10</width><height>10</height></size>\r\n</annotation>",
        b"<annotation><!-- a comment --><filename>a.jpg</filename><object><name> cat </name><bndbox>"
        b"<xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>\n\n",
        b"\xef\xbb\xbf<annotation>\n    <filename>a.jpg</filename>\n    <size>\n        <width>0</width>\n"
        b"        <height>0</height>\n    </size>\n    <path/>\n    <weird a='1'>x</weird>\n</annotation>",
        b"<annotation><filename>a.jpg</filename><object><name>a&#38;b</name><bndbox><ymin>1</ymin>"
        b"<xmin>1</xmin><xmax>5</xmax><ymax>5</ymax><angle>0.3</angle></bndbox></object></annotation>",
        b'<annotation><filename>a.jpg</filename><object id="3" z="&amp;"><name>a</name><bndbox><xmin>1</xmin>'
        b'<ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object><object id="4"><name>a</name><bndbox>'
        b"<xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>",
    ]
    for i, data in enumerate(odd):
        src = tmp_path / f"odd{i}.xml"
        src.write_bytes(data)
        ds = pf.read(src)
        pf.write(ds, tmp_path / f"out{i}", "voc")
        assert (tmp_path / f"out{i}" / src.name).read_bytes() == data, i
    assert pf.read(tmp_path / "odd1.xml").label_names == ["cat"]
    assert pf.read(tmp_path / "odd3.xml").label_names == ["a&b"]
    assert pf.read(tmp_path / "odd0.xml").assets[0].file_name == "café.jpg"
    objects = pf.read(tmp_path / "odd4.xml").assets[0].annotations
    assert [dict(o.extra["voc"]["attrib"]) for o in objects] == [{"id": "3", "z": "&"}, {"id": "4"}]


def test_kept_bytes_are_not_used_once_the_asset_changes(tmp_path: Path) -> None:
    data = (b"<annotation><!-- c --><filename>a.jpg</filename><object><name>cat</name><bndbox><xmin>1</xmin>"
            b"<ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>")
    (tmp_path / "a.xml").write_bytes(data)
    ds = pf.read(tmp_path / "a.xml")
    assert "raw" in ds.assets[0].extra["voc"]
    ds.assets[0].annotations[0].label = "dog"
    pf.write(ds, tmp_path / "out", "voc")
    out = (tmp_path / "out" / "a.xml").read_bytes()
    assert b"<name>dog</name>" in out and b"<xmax>5</xmax>" in out


def test_missing_filename_and_empty_annotation(tmp_path: Path) -> None:
    data = b"<annotation>\n\t<size>\n\t\t<width>10</width>\n\t\t<height>10</height>\n\t</size>\n</annotation>\n"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "img_7.xml").write_bytes(data)
    report = Report()
    ds = pf.read(tmp_path / "in", report=report)
    assert ds.assets[0].file_name == "img_7.jpg" and not ds.assets[0].annotations
    assert report.count("info") == 1
    pf.write(ds, tmp_path / "out", "voc")
    _same_tree(tmp_path / "in", tmp_path / "out")


def test_zero_sizes_come_from_the_image_header(tmp_path: Path) -> None:
    (tmp_path / "ann").mkdir()
    data = (CATS / "gts_vocpascal_format" / "2007_000549.xml").read_bytes()
    data = data.replace(b"<width>375</width>", b"<width>0</width>").replace(b"<height>500</height>", b"")
    (tmp_path / "ann" / "2007_000549.xml").write_bytes(data)
    assert pf.read(tmp_path / "ann").assets[0].width is None
    ds = pf.read(tmp_path / "ann", images=CATS / "images")
    by_name = {a.file_name: a for a in ds.assets}
    assert (by_name["2007_000549.jpg"].width, by_name["2007_000549.jpg"].height) == (375, 500)
    assert len(ds) == 1  # the other images of the folder have no XML (include_unlabelled adds them)


def test_unknown_size_is_written_as_zero_and_reported(tmp_path: Path) -> None:
    ds = Dataset([], [Asset("a.jpg")])
    report = pf.write(ds, tmp_path / "out", "voc")
    assert "<width>0</width>" in (tmp_path / "out" / "a.xml").read_text()
    assert report.count("info", "image sizes unknown, written as 0") == 1
    report = pf.write(Dataset([], [Asset("2007_000549.jpg")]), tmp_path / "out2", "voc", images=CATS / "images")
    assert "<width>375</width>" in (tmp_path / "out2" / "2007_000549.xml").read_text()


# ---------------------------------------------------------------------------------- devkit layout


def test_devkit_layout_round_trip_with_splits(tmp_path: Path) -> None:
    root = tmp_path / "VOC"
    shutil.copytree(CATS / "gts_vocpascal_format", root / "Annotations")
    shutil.copytree(CATS / "images", root / "JPEGImages")
    main = root / "ImageSets" / "Main"
    main.mkdir(parents=True)
    (main / "train.txt").write_text("2007_000549\n2007_000733\n2010_003115\n")
    (main / "val.txt").write_text("2007_003525\n2009_999999\n")
    (main / "cat_train.txt").write_text("2007_000549  1\n2007_000733 -1\n")
    report = Report()
    ds = pf.read(root, report=report)
    # 10 XMLs + 2010_003115 (no XML, listed in train.txt); 2012_003445 is in no list and has no XML
    assert len(ds) == 11 and ds.metadata["voc"]["layout"] == "devkit"
    assert report.count("info", "images listed in ImageSets without an XML read as assets with no objects") == 1
    tags = {a.file_name: a.tags for a in ds.assets if a.tags}
    assert tags == {"2007_000549.jpg": ["train"], "2007_000733.jpg": ["train"], "2010_003115.jpg": ["train"],
                    "2007_003525.jpg": ["val"]}
    assert report.count("info", "ImageSets/Main per-class lists ignored") == 1
    assert report.count("info", "ImageSets/Main ids without an XML or image ignored") == 1
    pf.write(ds, tmp_path / "out", "voc")
    for xml in (root / "Annotations").iterdir():
        assert (tmp_path / "out" / "Annotations" / xml.name).read_bytes() == xml.read_bytes()
    assert (tmp_path / "out" / "ImageSets" / "Main" / "train.txt").read_text() == (main / "train.txt").read_text()
    assert (tmp_path / "out" / "ImageSets" / "Main" / "val.txt").read_text() == "2007_003525\n"
    assert pf.detect(tmp_path / "out") == "voc"
    again = pf.read(tmp_path / "out")
    assert {a.file_name: a.tags for a in again.assets if a.tags} == tags


def test_tags_in_flat_layout_are_reported(tmp_path: Path) -> None:
    ds = Dataset([Label("a")], [Asset("x.jpg", 5, 5, tags=["train"]), Asset("y.jpg", 5, 5, tags=["a/b"])])
    report = pf.write(ds, tmp_path / "flat", "voc")
    assert report.count("dropped", "asset tags") == 2
    report = pf.write(ds, tmp_path / "kit", "voc", layout="devkit")
    assert (tmp_path / "kit" / "ImageSets" / "Main" / "train.txt").read_text() == "x\n"
    assert report.count("dropped", "asset tags that cannot name a file") == 1


# ---------------------------------------------------------------------------- from other formats


def test_coco_to_voc_to_coco_keeps_every_box(tmp_path: Path) -> None:
    for src in [CATS / "gts_coco_format" / "toy_example_coco.JSON", FIXTURES / "picsellia_coco_det" /
                "annotations.json"]:
        coco = pf.read(src)
        out = tmp_path / src.stem
        report = pf.write(coco, out, "voc")
        back = pf.read(out, images=None)
        assert {a.file_name: sorted((n.label, n.box) for n in a.annotations) for a in back.assets} == {
            a.file_name: sorted((n.label, n.box) for n in a.annotations) for a in coco.assets}
        assert report.count("rounded") == 0
        pf.write(back, tmp_path / f"{src.stem}.json", "coco")
        again = pf.read(tmp_path / f"{src.stem}.json")
        assert again.num_annotations == coco.num_annotations


def test_polygons_masks_and_other_kinds_are_reported(tmp_path: Path) -> None:
    anns = [
        Annotation("a", polygon=[[0, 0, 10, 0, 10, 5]]),
        Annotation("a", polygon=[[0, 0, 4, 0, 4, 4]], box=(0.0, 0.0, 4.0, 4.0)),
        Annotation("a", mask=Mask(4, 4, [2, 2, 2, 2, 8])),
        Annotation("a", keypoints=[1, 1, 2, 5, 6, 2], box=(1.0, 1.0, 4.0, 5.0)),
        Annotation("a", line=[0, 0, 5, 5]),
        Annotation("a", point=(1.0, 2.0)),
        Annotation("a"),
        Annotation("a", box=(1.0, 1.0, 2.0, 2.0), score=0.9, iscrowd=1, qa=[QA("text", "q", "x")]),
    ]
    ds = Dataset([Label("a"), Label("unused")], [Asset("i.jpg", 20, 20, anns, status="ACCEPTED",
                                                       qa=[QA("text", "q", "y")])])
    report = pf.write(ds, tmp_path / "out", "voc")
    assert report.count("approximated", "polygons written as boxes") == 2
    assert report.count("approximated", "masks written as boxes") == 1
    assert report.count("approximated", "keypoint objects written as boxes") == 1
    for what in ("lines", "points", "image-level classifications", "detection scores", "crowd flags",
                 "object Q&A answers", "image Q&A answers", "asset statuses", "labels without objects"):
        assert report.count("dropped", what) == 1, what
    back = pf.read(tmp_path / "out").assets[0].annotations
    assert [a.box for a in back] == [(0.0, 0.0, 10.0, 5.0), (0.0, 0.0, 4.0, 4.0), (0.0, 2.0, 2.0, 2.0),
                                     (1.0, 1.0, 4.0, 5.0), (1.0, 1.0, 2.0, 2.0)]


@pytest.mark.parametrize("name, expected", [
    ("../evil.jpg", "evil.xml"), ("/abs/dir/x.png", "x.xml"), ("sub/dir/y.jpg", "sub/dir/y.xml"),
    ("C:\\imgs\\z.jpg", "z.xml"), ("東京 été.jpeg", "東京 été.xml"), ("a.b.c.jpg", "a.b.c.xml"),
])
def test_xml_names_stay_inside_the_output(name: str, expected: str, tmp_path: Path) -> None:
    ds = Dataset([Label("a")], [Asset(name, 5, 5, [Annotation("a", box=(0.0, 0.0, 1.0, 1.0))])])
    pf.write(ds, tmp_path / "out", "voc")
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.xml"))
    assert written == [expected]
    assert pf.read(tmp_path / "out").assets[0].file_name == name


def test_images_sharing_a_stem_get_distinct_xml_files(tmp_path: Path) -> None:
    ds = Dataset([], [Asset("a.jpg", 5, 5), Asset("a.png", 5, 5), Asset("A.jpeg", 5, 5)])
    report = pf.write(ds, tmp_path / "out", "voc")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.xml")) == ["A.jpeg.xml", "a.png.xml", "a.xml"]
    assert report.count("changed", "XML file names made unique") == 2
    assert sorted(a.file_name for a in pf.read(tmp_path / "out").assets) == ["A.jpeg", "a.jpg", "a.png"]


def test_escaping_of_names(tmp_path: Path) -> None:
    ds = Dataset([], [Asset("a<&>.jpg", 5, 5, [Annotation('x & <y> "z"', box=(0.0, 0.0, 1.0, 1.0),
                                                          attributes={"pose": "a<b"})])])
    pf.write(ds, tmp_path / "out", "voc")
    back = pf.read(tmp_path / "out").assets[0]
    assert back.file_name == "a<&>.jpg"
    assert back.annotations[0].label == 'x & <y> "z"' and back.annotations[0].attributes["pose"] == "a<b"


def test_metadata_of_other_formats_becomes_elements(tmp_path: Path) -> None:
    ds = Dataset([], [Asset("a.jpg", 5, 5, metadata={"camera": {"model": "X", "iso": 100}, "bad key": 1})])
    report = pf.write(ds, tmp_path / "out", "voc")
    assert pf.read(tmp_path / "out").assets[0].metadata == {"camera": {"model": "X", "iso": 100}}
    assert report.count("dropped", "asset metadata entries") == 1


def test_folder_option(tmp_path: Path) -> None:
    ds = Dataset([], [Asset("a.jpg", 5, 5)])
    pf.write(ds, tmp_path / "out", "voc", folder="VOC2012")
    assert "<folder>VOC2012</folder>" in (tmp_path / "out" / "a.xml").read_text()


# ------------------------------------------------------------------------------------ bad input

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<annotation><filename>&lol3;</filename></annotation>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<annotation><filename>&x;</filename></annotation>
"""


@pytest.mark.parametrize("data, message, line", [
    (BILLION_LAUGHS, "DOCTYPE", 2),
    (XXE, "DOCTYPE", 2),
    (XXE.decode().encode("utf-16"), "DOCTYPE", 1),
    (b"<annotation>\n<filename>a.jpg</filename>\n<object>\n</annotation>", "malformed XML", 4),
    (b"", "malformed XML", None),
    (b"<annotation>" * 300 + b"</annotation>" * 300, "malformed XML", 1),
    (_xml(_obj(box=("1", "2", "x", "4"))), "<xmax> is not a finite number", 6),
    (_xml(_obj(box=("1", "2", "nan", "4"))), "<xmax> is not a finite number", 6),
    (_xml(_obj(box=("1", "2", "", "4"))), "<xmax> is not a finite number", 6),
    (_xml(_obj(name="")), "empty <name>", 4),
    (_xml(_obj(more="\n\t\t<name>dog</name>")), "more than one <name>", 4),
    (_xml(_obj().replace("<ymax>40</ymax>", "")), "<bndbox> lacks <ymax>", 6),
    (_xml("\t<object><name>a</name></object>\n"), "object without a <bndbox>", 4),
    (_xml(size="<width>-3</width>"), "<width> must be a non-negative number", 3),
    (_xml(_obj(more="<attributes><attribute><value>1</value></attribute></attributes>")), "CVAT", 5),
])
def test_bad_files_raise_format_error(data: bytes, message: str, line: int | None, tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(data)
    with pytest.raises(pf.FormatError) as info:
        pf.read(path, "voc")
    text = str(info.value)
    assert str(path) in text and message in text
    if line is not None:
        assert f"line {line}" in text


def test_problems_of_many_files_are_reported_together(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"f{i}.xml").write_bytes(_xml(_obj(box=("1", "2", "x", "4"))))
    (tmp_path / "ok.xml").write_bytes(_xml(_obj()))
    with pytest.raises(pf.FormatError) as info:
        pf.read(tmp_path, "voc")
    assert len(info.value.problems) == 3


def test_single_file_with_another_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(b"<annotations><image/></annotations>")
    with pytest.raises(pf.FormatError, match="root element is not <annotation>"):
        pf.read(tmp_path / "a.xml", "voc")
    (tmp_path / "b.xml").write_bytes(_xml(_obj()))
    report = Report()
    assert len(pf.read(tmp_path, "voc", report=report)) == 1
    assert report.count("info", "XML files skipped (root element is not <annotation>)") == 1


# ------------------------------------------------------------------------------------- detection


def test_detection(tmp_path: Path) -> None:
    folder = tmp_path / "whatever_name"
    shutil.copytree(RACCOON / "annotations", folder)
    assert pf.detect(folder) == "voc"
    assert voc.detect(folder / "raccoon-1.xml")[0] > 0.5
    assert pf.detect(RACCOON) == "voc"
    (tmp_path / "other.xml").write_bytes(b'<?xml version="1.0"?><annotations><image/></annotations>')
    assert voc.detect(tmp_path / "other.xml")[0] == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert voc.detect(empty)[0] == 0
    names = [d.format for d in formats.detect_all(FIXTURES / "picsellia_coco_det") if d.confidence > 0]
    assert "voc" not in names


def test_detection_ignores_folder_names(tmp_path: Path) -> None:
    fake = tmp_path / "Annotations"
    fake.mkdir(parents=True)
    (fake / "a.xml").write_bytes(b"<annotations/>")
    confidence, reason = voc.detect(tmp_path)
    assert confidence == 0 and "rooted" in reason


def test_writer_writes_the_same_files(tmp_path: Path) -> None:
    ds = pf.read(RACCOON / "annotations")
    pf.write(ds, tmp_path / "out", "voc")
    _same_tree(RACCOON / "annotations", tmp_path / "out")


@pytest.mark.parametrize("folder", VOC_DIRS)
def test_other_writers_report_voc_data_fields_not_its_layout_hints(folder: Path, tmp_path: Path) -> None:
    ds = pf.read(folder, "voc")
    report = pf.write(ds, tmp_path / "y", "yolo")
    named = {field for e in report.entries if "VOC-only" in e.what
             for field in e.why.split("no place for ", 1)[1].split(", ")}
    assert "depth" in named  # real data is still reported
    assert not named & {"order", "bndbox_order", "size_order", "xml", "filename_made", "raw", "render", "style"}
