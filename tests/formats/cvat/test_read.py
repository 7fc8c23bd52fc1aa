"""CVAT XML read against an independent plain-Python reading of the same files (xml.etree, numpy)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

import picsellia_formats as pf
from picsellia_formats.errors import FormatError
from tests.conftest import FIXTURES

FILES = {
    "docs example (CVAT's own documentation)": FIXTURES / "cvat/docs_example/annotations.xml",
    "project export (written after CVAT's exporter)": FIXTURES / "cvat/exporter_project/annotations.xml",
}


def _independent(path: Path) -> list[dict]:
    """Per image: name, size, and per shape (tag, label, corners or points or mask pixels)."""
    out = []
    for image in ET.parse(path).getroot().iter("image"):
        w, h = int(image.get("width")), int(image.get("height"))
        shapes = []
        for el in image:
            rec = {"tag": el.tag, "label": el.get("label")}
            if el.tag == "box":
                x0, y0, x1, y1 = (float(el.get(k)) for k in ("xtl", "ytl", "xbr", "ybr"))
                r = math.radians(float(el.get("rotation", "0")))
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                rec["xy"] = [(cx + (x - cx) * math.cos(r) - (y - cy) * math.sin(r),
                              cy + (x - cx) * math.sin(r) + (y - cy) * math.cos(r))
                             for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
            elif el.tag in ("polygon", "polyline", "points"):
                rec["xy"] = [tuple(map(float, p.split(","))) for p in el.get("points").split(";")]
            elif el.tag == "skeleton":
                rec["xy"] = [tuple(map(float, p.get("points").split(","))) for p in el.findall("points")]
            elif el.tag == "mask":
                runs = [int(v) for v in el.get("rle").split(",")]
                left, top, mw, mh = (int(el.get(k)) for k in ("left", "top", "width", "height"))
                flat = []
                for i, n in enumerate(runs):
                    flat += [i % 2] * n
                full = np.zeros((h, w), np.uint8)
                full[top:top + mh, left:left + mw] = np.array(flat, np.uint8).reshape(mh, mw)
                rec["pixels"] = full
            shapes.append(rec)
        out.append({"name": image.get("name"), "size": (w, h), "shapes": shapes})
    return out


def _xy(ann) -> list[tuple[float, float]]:
    flat = (ann.polygon[0] if ann.polygon else ann.line if ann.line else
            [v for i, v in enumerate(ann.keypoints) if i % 3 != 2] if ann.keypoints else
            list(ann.point) if ann.point else None)
    if flat is None and ann.box is not None:
        x, y, w, h = ann.box
        flat = [x, y, x + w, y, x + w, y + h, x, y + h]
    return list(zip(flat[::2], flat[1::2]))


@pytest.mark.parametrize("name", sorted(FILES))
def test_read_equals_an_independent_reading(name: str) -> None:
    path = FILES[name]
    expected = _independent(path)
    ds = pf.read(path)
    assert pf.formats.detect(path) == "cvat"
    assert [a.file_name for a in ds.assets] == [e["name"] for e in expected]
    assert [(a.width, a.height) for a in ds.assets] == [e["size"] for e in expected]
    for asset, exp in zip(ds.assets, expected):
        assert len(asset.annotations) == len(exp["shapes"])
        # shapes in file order; tags (classifications) likewise
        for ann, shape in zip(asset.annotations, exp["shapes"]):
            assert ann.label == shape["label"]
            if shape["tag"] == "tag":
                assert ann.kind == "classification"
            elif shape["tag"] == "mask":
                decoded = coco_mask.decode({"size": [ann.mask.height, ann.mask.width],
                                            "counts": ann.mask.counts.encode()})
                assert (decoded == shape["pixels"]).all()
                assert int(decoded.sum()) > 0
            else:
                got = _xy(ann)
                assert len(got) == len(shape["xy"])
                for (gx, gy), (ex, ey) in zip(got, shape["xy"]):
                    assert abs(gx - ex) <= 0.01 and abs(gy - ey) <= 0.01


def test_docs_example_kinds_labels_and_meta() -> None:
    report = pf.Report()
    ds = pf.read(FILES["docs example (CVAT's own documentation)"], report=report)
    kinds = [a.kind for a in ds.assets[0].annotations]
    assert kinds == ["box", "polygon", "line", "line", "keypoints", "classification", "keypoints", "mask"]
    assert ds.label("s1").keypoints == ["1", "2", "3"]
    skeleton = ds.assets[0].annotations[6]
    assert skeleton.keypoints == [54.47, 94.81, 2, 68.02, 162.34, 2, 125.87, 62.85, 2]
    assert ds.assets[0].annotations[0].extra["cvat"]["z_order"] == 4
    assert report.count("changed", "multi-point 'points' shapes read as keypoints") == 1
    meta = ds.metadata["cvat"]["meta"]
    assert meta[0][0] == "task" and ("labels", None) in meta[0][1]
    assert meta[1] == ("dumped", "2018-09-25 11:38:28.799808+03:00")
    # the mask: 13x15 crop at (707, 888); foreground = the odd runs
    mask = ds.assets[0].annotations[7].mask
    assert (mask.height, mask.width) == (1200, 1600)
    runs = [5, 7, 9, 11, 11, 12, 12, 26, 12, 12, 11, 9, 7, 5]
    assert int(coco_mask.area({"size": [1200, 1600], "counts": mask.counts.encode()})) == sum(runs)


def test_project_export_attributes_occluded_group_source_subset() -> None:
    report = pf.Report()
    ds = pf.read(FILES["project export (written after CVAT's exporter)"], report=report)
    a = ds.assets[0]
    first, rotated = a.annotations[0], a.annotations[1]
    assert first.attributes == {"parked": True, "color": "&other", "occluded": True}  # checkbox -> bool
    assert first.extra["cvat"] == {"source": "manual", "z_order": 1, "group_id": 1}
    assert rotated.kind == "polygon" and rotated.extra["cvat"]["rotation"] == 30.0
    assert report.count("changed", "rotated boxes read as 4-point polygons") == 1
    assert [x.tags for x in ds.assets] == [["train"], ["val"]]
    assert a.extra["cvat"] == {"task_id": "7"}
    assert a.annotations[-1].attributes == {"note": "street lights on"}
    assert ds.assets[1].annotations == []


VIDEO = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>5</id>
      <size>4</size>
      <mode>interpolation</mode>
      <labels>
        <label>
          <name>car</name>
          <attributes>
          </attributes>
        </label>
      </labels>
      <original_size>
        <width>64</width>
        <height>48</height>
      </original_size>
    </task>
  </meta>
  <track id="0" label="car" source="manual">
    <box frame="0" keyframe="1" outside="0" occluded="0" xtl="1.00" ytl="2.00" xbr="11.00" ybr="12.00" z_order="0">
    </box>
    <box frame="1" keyframe="0" outside="0" occluded="1" xtl="2.00" ytl="2.00" xbr="12.00" ybr="12.00" z_order="0">
    </box>
    <box frame="2" keyframe="1" outside="1" occluded="0" xtl="2.00" ytl="2.00" xbr="12.00" ybr="12.00" z_order="0">
    </box>
  </track>
</annotations>
"""


def test_video_tracks_read_as_frames_or_refused(tmp_path: Path) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text(VIDEO)
    report = pf.Report()
    ds = pf.read(path, report=report)
    assert [a.file_name for a in ds.assets] == [f"frame_{i:06d}.PNG" for i in range(4)]
    assert [(a.width, a.height) for a in ds.assets] == [(64, 48)] * 4
    assert [len(a.annotations) for a in ds.assets] == [1, 1, 0, 0]
    assert ds.assets[1].annotations[0].attributes == {"occluded": True}
    assert ds.assets[1].annotations[0].extra["cvat"]["track_id"] == 0
    assert report.count("changed", "video tracks read as objects on per-frame images") == 1
    with pytest.raises(FormatError, match="tracks are refused"):
        pf.read(path, tracks="refuse")
    out = tmp_path / "out.xml"
    wreport = pf.write(ds, out, "cvat")
    assert wreport.count("dropped", "video track ids") == 2


@pytest.mark.parametrize(("snippet", "message"), [
    ('<box label="a" xtl="x" ytl="0" xbr="1" ybr="1"/>', "xtl='x' is not a number"),
    ('<box label="a" ytl="0" xbr="1" ybr="1"/>', "lacks 'xtl'"),
    ('<polygon label="a" points="1,2;3"/>', "is not 'x,y'"),
    ('<mask label="a" rle="1, 2" left="0" top="0" width="2" height="2"/>', "add up to 3"),
    ('<mask label="a" rle="4" left="9" top="0" width="2" height="2"/>', "outside the 10x10 image"),
    ('<ellipse label="a" cx="1" cy="1" rx="1" ry="1"/>', "ellipse shapes are not supported"),
    ('<cuboid label="a"/>', "cuboid shapes are not supported"),
    ('<skeleton label="a"/>', "declares no points"),
    ('<box xtl="0" ytl="0" xbr="1" ybr="1"/>', "lacks 'label'"),
    ('<box label="a" occluded="2" xtl="0" ytl="0" xbr="1" ybr="1"/>', "occluded='2'"),
])
def test_bad_records_name_file_and_record(tmp_path: Path, snippet: str, message: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(f'<annotations><version>1.1</version><image id="3" name="a.jpg" width="10" height="10">'
                    f'{snippet}</image></annotations>')
    with pytest.raises(FormatError) as err:
        pf.read(path, "cvat")
    text = str(err.value)
    assert str(path) in text and "image id=3" in text and message in text


def test_entities_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><annotations><version>1.1</version>'
                    '</annotations>')
    with pytest.raises(FormatError, match="DOCTYPE"):
        pf.read(path, "cvat")
