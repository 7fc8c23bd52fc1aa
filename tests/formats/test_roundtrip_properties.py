"""Property-based round trips: generated datasets through every writer and back.

Each format must give back what it can hold, exactly (COCO, Picsellia JSON), to within 0.01 px (YOLO's
normalised text) or rounded to whole pixels with the rounding counted in the report (VOC); what it cannot
hold must be in the report, never silently gone.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO

import picsellia_formats as pf
from picsellia_formats.formats.yolo.merge import join_parts
from picsellia_formats.masks import mask_to_rle
from picsellia_formats.model import QA, Annotation, Asset, Dataset, Label, Mask
from picsellia_formats.shapes import annotation_bbox

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_NAME_CHARS = st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="_-é日")
label_names = st.lists(st.text(_NAME_CHARS, min_size=1, max_size=8), min_size=1, max_size=4, unique=True)


@st.composite
def coordinates(draw: st.DrawFn, limit: int, integers: bool) -> float:
    if integers:
        return float(draw(st.integers(0, limit)))
    return draw(st.floats(0, limit, allow_nan=False, allow_infinity=False, width=32))


@st.composite
def boxes(draw: st.DrawFn, w: int, h: int, integers: bool) -> tuple[float, float, float, float]:
    x0, x1 = sorted((draw(coordinates(w, integers)), draw(coordinates(w, integers))))
    y0, y1 = sorted((draw(coordinates(h, integers)), draw(coordinates(h, integers))))
    return (x0, y0, x1 - x0, y1 - y0)


@st.composite
def polygons(draw: st.DrawFn, w: int, h: int, integers: bool) -> list[list[float]]:
    parts = []
    for _ in range(draw(st.integers(1, 2))):
        n = draw(st.integers(3, 6))
        parts.append([draw(coordinates(w if i % 2 == 0 else h, integers)) for i in range(2 * n)])
    return parts


@st.composite
def datasets(draw: st.DrawFn, integers: bool = False, shapes: tuple[str, ...] = ("box", "polygon")) -> Dataset:
    names = draw(label_names)
    assets = []
    for i in range(draw(st.integers(0, 4))):
        w, h = draw(st.integers(1, 4096)), draw(st.integers(1, 4096))
        anns = []
        for _ in range(draw(st.integers(0, 4))):
            label = draw(st.sampled_from(names))
            if draw(st.sampled_from(shapes)) == "box":
                anns.append(Annotation(label, box=draw(boxes(w, h, integers))))
            else:
                anns.append(Annotation(label, polygon=draw(polygons(w, h, integers))))
        stem = draw(st.text(_NAME_CHARS, min_size=1, max_size=6))
        assets.append(Asset(f"{i}_{stem}.jpg", w, h, anns))
    return Dataset([Label(n) for n in names], assets)


def _geometry(ann: Annotation) -> tuple[str, Any]:
    if ann.polygon is not None:
        return ("polygon", ann.polygon)
    return ("box", tuple(ann.box) if ann.box is not None else None)


def _view(ds: Dataset) -> list[tuple[str, int | None, int | None, list[tuple[str, tuple[str, Any]]]]]:
    return [(a.file_name, a.width, a.height, [(ann.label, _geometry(ann)) for ann in a.annotations])
            for a in ds.assets]


def _round_trip(ds: Dataset, fmt: str, name: str) -> tuple[Dataset, pf.Report]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        report = pf.write(ds, out, fmt)
        back = pf.read(out, fmt)
        if fmt == "coco" and ds.assets:
            COCO(str(out))  # the reference reader loads what we wrote
    return back, report


@pytest.mark.parametrize("fmt", ["coco", "picsellia"])
@SETTINGS
@given(datasets())
def test_json_formats_give_back_every_box_and_polygon_exactly(fmt: str, ds: Dataset) -> None:
    back, report = _round_trip(ds, fmt, "a.json")
    assert not report.lossy, str(report)
    assert [label.name for label in back.labels] == [label.name for label in ds.labels]
    assert _view(back) == _view(ds)


@SETTINGS
@given(datasets(), st.sampled_from(["detect", "segment"]))
def test_yolo_keeps_every_object_to_a_hundredth_of_a_pixel(ds: Dataset, task: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = pf.write(ds, Path(tmp) / "y", "yolo", task=task)
        back = pf.read(Path(tmp) / "y", "yolo")
    assert [label.name for label in back.labels] == [label.name for label in ds.labels]
    anns = [ann for a in ds.assets for ann in a.annotations]
    polys = [ann for ann in anns if ann.polygon is not None]
    if task == "detect":
        assert report.count("approximated", "polygons written as boxes") == len(polys)
    else:
        assert report.count("changed", "boxes written as 4-point polygons") == len(anns) - len(polys)
        assert report.count("approximated", "multi-part polygons written as one ring joined by zero-width bridges") == \
            sum(len(ann.polygon) > 1 for ann in polys)
    by_name = {a.file_name: a for a in back.assets}
    assert len(by_name) == len(ds.assets)
    for asset in ds.assets:
        got = by_name[asset.file_name]
        assert (got.width, got.height) == (asset.width, asset.height)
        expected = [part for ann in asset.annotations for part in _yolo_rows(ann, task)]
        have = [(ann.label, ann.box if ann.polygon is None else ann.polygon[0]) for ann in got.annotations]
        assert [label for label, _ in have] == [label for label, _ in expected]
        assert all(_close(h, e) for (_, h), (_, e) in zip(have, expected)), (have, expected)


def _yolo_rows(ann: Annotation, task: str) -> list[tuple[str, list[float]]]:
    """What a YOLO row keeps of `ann`: its box (detect), else its polygon as one ring (parts joined by
    zero-width bridges, as Ultralytics does; a box as 4 corners)."""
    if task == "detect":
        return [(ann.label, list(annotation_bbox(ann)))]
    if ann.polygon is None:
        x, y, w, h = ann.box
        return [(ann.label, [x, y, x + w, y, x + w, y + h, x, y + h])]
    return [(ann.label, join_parts(ann.polygon))]


@SETTINGS
@given(datasets(shapes=("box",)))
def test_voc_keeps_whole_pixel_boxes_and_counts_what_it_rounds(ds: Dataset) -> None:
    assume(ds.assets)  # a VOC dataset is its XML files: with no asset there is nothing to read back
    back, report = _round_trip(ds, "voc", "v")
    by_name = {a.file_name: a for a in back.assets}
    rounded = 0
    for asset in ds.assets:
        got = by_name[asset.file_name]
        assert (got.width, got.height) == (asset.width, asset.height)
        for want, have in zip(asset.annotations, got.annotations, strict=True):
            x, y, w, h = want.box
            corners = (x, y, x + w, y + h)
            rounded += any(c != math.floor(c) for c in corners)
            hx, hy, hw, hh = have.box
            assert have.label == want.label
            assert all(abs(a - b) <= 0.5 for a, b in zip((hx, hy, hx + hw, hy + hh), corners))
    assert report.count("rounded", "boxes with non-integer corners") == rounded


@SETTINGS
@given(datasets(integers=True), st.sampled_from(["coco", "voc", "yolo", "picsellia"]))
def test_whole_pixel_boxes_survive_every_format(ds: Dataset, fmt: str) -> None:
    ds = Dataset(ds.labels, [Asset(a.file_name, a.width, a.height,
                                   [Annotation(ann.label, box=annotation_bbox(ann))
                                    for ann in a.annotations]) for a in ds.assets])
    assume(ds.assets or fmt != "voc")
    name = {"coco": "a.json", "picsellia": "a.json"}.get(fmt, "out")
    back, report = _round_trip(ds, fmt, name)
    assert report.count("rounded") == 0
    by_name = {a.file_name: a for a in back.assets}
    for asset in ds.assets:
        got = by_name[asset.file_name]
        assert [(ann.label, *map(round, ann.box, [6] * 4)) for ann in got.annotations] == \
            [(ann.label, *map(float, ann.box)) for ann in asset.annotations]


@SETTINGS
@given(st.lists(st.sampled_from(["text", "single", "multiple", "range"]), min_size=1, max_size=4),
       st.sampled_from(["coco", "voc", "yolo"]))
def test_q_and_a_a_format_cannot_hold_is_reported_never_silently_lost(kinds: list[str], fmt: str) -> None:
    qa = [{"text": QA("text", "note", "ok"),
           "single": QA("select", "colour", "red", choices=["red", "blue"]),
           "multiple": QA("mc", "parts", ["a"], choices=["a", "b"]),
           "range": QA("range", "age", 3, min=0, max=10)}[k] for k in kinds]
    ds = Dataset([Label("a")], [Asset("x.jpg", 10, 10, [Annotation("a", box=(1, 1, 2, 2))], qa=qa)])
    name = "a.json" if fmt == "coco" else "out"
    back, report = _round_trip(ds, fmt, name)
    assert sum(len(a.qa) for a in back.assets) == 0
    assert report.count("dropped", "image Q&A answers") == len(qa)


@st.composite
def masks(draw: st.DrawFn, h: int, w: int) -> Mask:
    bits = draw(st.lists(st.booleans(), min_size=h * w, max_size=h * w))
    return mask_to_rle(np.array(bits, dtype=np.uint8).reshape(h, w), compressed=draw(st.booleans()))


@st.composite
def mask_datasets(draw: st.DrawFn) -> Dataset:
    assets = []
    for i in range(draw(st.integers(1, 3))):
        h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
        anns = [Annotation("m", mask=draw(masks(h, w)), iscrowd=draw(st.integers(0, 1)))
                for _ in range(draw(st.integers(0, 3)))]
        assets.append(Asset(f"{i}.png", w, h, anns))
    return Dataset([Label("m")], assets)


@SETTINGS
@given(mask_datasets(), st.sampled_from(["coco", "picsellia"]))
def test_masks_come_back_byte_identical(ds: Dataset, fmt: str) -> None:
    back, report = _round_trip(ds, fmt, "a.json")
    assert not report.lossy, str(report)
    assert [[(ann.mask, ann.iscrowd) for ann in a.annotations] for a in back.assets] == \
        [[(ann.mask, ann.iscrowd) for ann in a.annotations] for a in ds.assets]


def _close(a: Any, b: Any, tol: float = 0.01) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) < tol for x, y in zip(a, b))
