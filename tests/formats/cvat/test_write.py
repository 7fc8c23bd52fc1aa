"""CVAT -> CVAT byte-stable, CVAT -> COCO -> CVAT with exactly the reported losses, property round trips
and bad-bytes fuzz of the reader."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import picsellia_formats as pf
from picsellia_formats.errors import FormatError
from picsellia_formats.formats.cvat.geometry import cvat_rle_to_mask, mask_to_cvat_rle
from picsellia_formats.model import Annotation, Asset, Dataset
from tests.conftest import FIXTURES

PROJECT = FIXTURES / "cvat/exporter_project/annotations.xml"
DOCS = FIXTURES / "cvat/docs_example/annotations.xml"


def test_exporter_written_file_is_byte_stable(tmp_path: Path) -> None:
    out = tmp_path / "annotations.xml"
    report = pf.write(pf.read(PROJECT), out, "cvat")
    assert out.read_bytes() == PROJECT.read_bytes()
    assert not report.lossy


def test_docs_example_rewritten_in_exporter_order_then_stable(tmp_path: Path) -> None:
    first, second = tmp_path / "1.xml", tmp_path / "2.xml"
    ds = pf.read(DOCS)
    pf.write(ds, first, "cvat")
    again = pf.read(first)
    anns = ds.assets[0].annotations  # the exporter writes an image's shapes first, then its tags
    assert again.assets[0].annotations == [a for a in anns if a.kind != "classification"] + \
        [a for a in anns if a.kind == "classification"]
    pf.write(again, second, "cvat")
    assert first.read_bytes() == second.read_bytes()
    # the attribute order of every shape is the exporter's: label, source, occluded, geometry, z_order
    box = ET.parse(first).getroot().find("image/box")
    assert list(box.attrib) == ["label", "occluded", "xtl", "ytl", "xbr", "ybr", "z_order"]
    mask = ET.parse(first).getroot().find("image/mask")
    assert list(mask.attrib) == ["label", "source", "occluded", "rle", "left", "top", "width", "height", "z_order"]


def test_through_coco_and_back_loses_exactly_what_the_report_says(tmp_path: Path) -> None:
    ds = pf.read(PROJECT)
    report = pf.write(ds, tmp_path / "c.json", "coco")
    got = {(e.kind, e.what): e.count for e in report.entries if e.kind != "info"}
    assert got == {
        ("dropped", "asset tags"): 2,
        ("dropped", "image-level classifications"): 1,
        ("dropped", "lines"): 1,
        ("dropped", "points"): 1,
        ("dropped", "assets' CVAT-only fields"): 2,      # task_id
        ("dropped", "objects' CVAT-only fields"): 7,     # source, z_order, group_id
        ("dropped", "labels' CVAT-only fields"): 3,      # colour, type, attribute specs
        ("dropped", "dataset's CVAT-only fields"): 1,    # <meta>
    }
    back = pf.read(tmp_path / "c.json")
    out = tmp_path / "back.xml"
    back_report = pf.write(back, out, "cvat")
    assert back_report.count("rounded", "objects' coordinates") == 1
    again = pf.read(out)
    kept = [(a.label, a.kind) for a in again.assets[0].annotations]
    assert kept == [("car", "box"), ("car", "polygon"), ("road", "polygon"), ("car", "mask")]
    before = pf.read(PROJECT).assets[0].annotations
    assert again.assets[0].annotations[0].box == before[0].box
    # the rotated box comes back as its polygon, rounded to CVAT's two decimals, and the report says so
    assert all(abs(a - b) <= 0.005 for a, b in zip(again.assets[0].annotations[1].polygon[0], before[1].polygon[0]))
    assert again.assets[0].annotations[3].mask == before[5].mask
    assert again.assets[0].annotations[0].attributes == before[0].attributes  # COCO keeps attributes


def test_mask_codec_against_plain_runs() -> None:
    runs = [3, 5, 7, 7, 5, 9, 3, 11, 2, 11, 2, 12, 1, 12, 1, 26, 1, 12, 1, 12, 2, 11, 3, 9, 5, 7, 7, 5, 3]
    mask = cvat_rle_to_mask(runs, 707, 888, 13, 15, 1600, 1200)
    assert mask_to_cvat_rle(mask, (707, 888, 13, 15)) == (runs, 707, 888, 13, 15)
    # without a stored box: the tight box of the pixels (this crop has no empty border row or column)
    assert mask_to_cvat_rle(mask)[1:] == (707, 888, 13, 15)


coord = st.floats(0, 500, allow_nan=False).map(lambda v: round(v, 2))


@st.composite
def datasets(draw):
    assets = []
    for i in range(draw(st.integers(1, 3))):
        anns = []
        for _ in range(draw(st.integers(0, 4))):
            label = draw(st.sampled_from(["a", "b c", "é&<"]))
            kind = draw(st.sampled_from(["box", "polygon", "line", "point", "tag"]))
            if kind == "box":
                x, y = draw(coord), draw(coord)
                anns.append(Annotation(label, box=(x, y, draw(coord), draw(coord))))
            elif kind == "polygon":
                n = draw(st.sampled_from([6, 8, 10]))
                anns.append(Annotation(label, polygon=[[draw(coord) for _ in range(n)]]))
            elif kind == "line":
                anns.append(Annotation(label, line=[draw(coord) for _ in range(4)]))
            elif kind == "point":
                anns.append(Annotation(label, point=(draw(coord), draw(coord))))
            else:
                anns.append(Annotation(label, attributes={"note": draw(st.text("ab<&\"'", max_size=5))}))
        assets.append(Asset(f"img{i}.jpg", 640, 480, anns, i))
    ds = Dataset(assets=assets)
    ds.ensure_labels()
    return ds


def _corners(box):  # CVAT stores corners: x + w comes back exactly, w itself to the last bit
    return None if box is None else tuple(round(v, 9) for v in (box[0], box[1], box[0] + box[2], box[1] + box[3]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ds=datasets())
def test_property_round_trip(tmp_path: Path, ds: Dataset) -> None:
    out = tmp_path / "rt.xml"
    pf.write(ds, out, "cvat", overwrite=True)  # hypothesis runs the body many times in one tmp_path
    back = pf.read(out, "cvat")
    assert [a.file_name for a in back.assets] == [a.file_name for a in ds.assets]
    for a, b in zip(ds.assets, back.assets):
        # shapes first, then tags, as CVAT's exporter writes them
        order = [x for x in a.annotations if x.kind != "classification"] + \
                [x for x in a.annotations if x.kind == "classification"]
        def key(x):
            return x.label, x.kind, _corners(x.box), x.polygon, x.line, x.point, dict(x.attributes)
        assert [key(x) for x in order] == [key(y) for y in b.annotations]
    out2 = tmp_path / "rt2.xml"
    pf.write(back, out2, "cvat", overwrite=True)
    assert out2.read_bytes() == out.read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bad_bytes_raise_format_error_only(tmp_path: Path, data: st.DataObject) -> None:
    raw = bytearray(PROJECT.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "dup"]))
        if op == "flip":
            raw[i] = data.draw(st.sampled_from(b'<>"=,;0123456789-.x \n'))
        elif op == "cut":
            del raw[i:i + data.draw(st.integers(1, 40))]
        else:
            raw[i:i] = raw[i:i + 30]
    path = tmp_path / "fuzz.xml"
    path.write_bytes(bytes(raw))
    try:
        pf.read(path, "cvat")
    except FormatError as exc:
        assert str(path) in str(exc)


@pytest.mark.parametrize(("ids", "renumbered"), [
    ([None, None, None], 0),   # YOLO/VOC sources have no ids: nothing was changed
    ([0, 1, 2], 0),            # unique integers: kept
    ([5, 9, 5], 3),            # duplicates: every one is written as its index (0, 1, 2), all differ
    ([0, 1, 1], 1),            # only the last one changes (1 -> 2)
    (["a", None, 2], 1),       # a string id is replaced, a missing one is not a change, 2 stays 2
])
def test_image_ids_renumbered_only_when_changed(tmp_path: Path, ids: list, renumbered: int) -> None:
    ds = Dataset(assets=[Asset(f"{i}.jpg", 10, 10, [], image_id) for i, image_id in enumerate(ids)])
    report = pf.write(ds, tmp_path / "a.xml", "cvat")
    assert report.count("changed", "image ids renumbered") == renumbered
    assert ("renumbered" in str(report)) == bool(renumbered)  # "1 image id renumbered" for one
    written = [im.get("id") for im in ET.parse(tmp_path / "a.xml").getroot().iter("image")]
    assert written == [str(i) for i in ids] if ids == [0, 1, 2] else written == ["0", "1", "2"]
