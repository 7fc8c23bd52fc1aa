"""Reading OD API TFRecords back into the model (our records, the raccoon fixture, hand-made ones)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from picsellia_formats.errors import FormatError
from picsellia_formats.formats.tfrecord.example import encode_example
from picsellia_formats.formats.tfrecord.read import read_tfrecords
from picsellia_formats.formats.tfrecord.records import frame
from picsellia_formats.masks import rle_to_mask
from picsellia_formats.report import Report

from .conftest import RACCOON

F32 = np.float32


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]



def test_round_trip_through_our_reader(written):
    dataset, _, paths, _ = written
    back = read_tfrecords(paths)
    assert [a.file_name for a in back.assets] == [a.file_name for a in dataset.assets]  # shards de-interleaved
    assert [a.id for a in back.assets] == [a.id for a in dataset.assets]
    assert back.label_names == ["cat", "dog", "bird"]
    for src, got in zip(dataset.assets, back.assets):
        assert (got.width, got.height) == (src.width, src.height)
        objects = [a for a in src.annotations if a.kind != "classification"]
        got_objects = [a for a in got.annotations if a.kind != "classification"]
        assert [a.label for a in got_objects] == [a.label for a in objects]
        for s, g in zip(objects, got_objects):
            from picsellia_formats.shapes import annotation_bbox

            x, y, w, h = annotation_bbox(s)
            x1, y1 = min(x + w, src.width), min(y + h, src.height)
            assert g.box == pytest.approx((x, y, x1 - x, y1 - y), abs=1e-4)
            assert g.mask is not None and g.iscrowd == s.iscrowd
        assert [a.label for a in got.annotations if a.kind == "classification"] == [
            a.label for a in src.annotations if a.kind == "classification"]
    assert back.assets[3].annotations[0].attributes == {"pose": "Left", "truncated": 1, "difficult": 1}


def test_raccoon_test_record_matches_the_voc_files():
    """The bundled test.record (written by the raccoon repo's generate_tfrecord.py) reads into the
    same 8 images and 9 boxes as the VOC XMLs."""
    import picsellia_formats as pf

    ds = read_tfrecords(RACCOON / "data" / "test.record")
    assert (len(ds), ds.num_annotations, ds.label_names) == (8, 9, ["raccoon"])
    voc = {a.file_name: a for a in pf.read(RACCOON / "annotations", "voc").assets}
    for asset in ds.assets:
        ref = voc[asset.file_name]
        assert (asset.width, asset.height) == (ref.width, ref.height)
        assert sorted(a.box for a in asset.annotations) == sorted(a.box for a in ref.annotations)
        assert all(a.label == "raccoon" for a in asset.annotations)


def test_records_without_image_bytes_or_objects(tmp_path):
    path = tmp_path / "bare.record"
    no_image = encode_example({
        "image/height": ("int64", [100]), "image/width": ("int64", [200]),
        "image/filename": ("bytes", [b"x.jpg"]), "image/source_id": ("bytes", [b"7"]),
        "image/object/bbox/xmin": ("float", [0.1]), "image/object/bbox/xmax": ("float", [0.5]),
        "image/object/bbox/ymin": ("float", [0.2]), "image/object/bbox/ymax": ("float", [0.6]),
        "image/object/class/label": ("int64", [2]),
    })
    empty = encode_example({"image/height": ("int64", [10]), "image/width": ("int64", [10]),
                            "image/filename": ("bytes", [b"y.jpg"])})
    path.write_bytes(frame(no_image) + frame(empty) + frame(encode_example({})))
    from picsellia_formats.tfod.labelmap import LabelMapItem

    report = Report()
    ds = read_tfrecords(path, label_map=[LabelMapItem(1, "a"), LabelMapItem(2, "b")], report=report)
    assert [a.file_name for a in ds.assets] == ["x.jpg", "y.jpg", "record-000002"]
    assert ds.assets[0].id == 7
    assert ds.assets[0].annotations[0].label == "b"
    assert ds.assets[0].annotations[0].box == pytest.approx((20.0, 20.0, 80.0, 40.0))
    assert ds.assets[1].annotations == [] and ds.assets[2].width is None
    assert report.count("info", "records without image bytes") == 3


def test_numerical_masks_and_unknown_features_are_read(tmp_path):
    mask = np.zeros((2, 3), np.float32)
    mask[1, 1:] = 1.0
    data = encode_example({
        "image/height": ("int64", [2]), "image/width": ("int64", [3]),
        "image/object/bbox/xmin": ("float", [1 / 3]), "image/object/bbox/xmax": ("float", [1.0]),
        "image/object/bbox/ymin": ("float", [0.5]), "image/object/bbox/ymax": ("float", [1.0]),
        "image/object/class/text": ("bytes", [b"c"]),
        "image/object/mask": ("float", mask.ravel().tolist()),
        "image/object/group_of": ("int64", [1]),
        "image/custom": ("bytes", [b"kept"]),
    })
    (tmp_path / "m.record").write_bytes(frame(data))
    ds = read_tfrecords(tmp_path / "m.record")
    ann = ds.assets[0].annotations[0]
    assert (rle_to_mask(ann.mask) == mask.astype(np.uint8)).all()
    assert ann.box == (1.0, 1.0, 2.0, 1.0)
    assert ann.extra["tfod"]["features"] == {"image/object/group_of": ("int64", [1])}
    assert ds.assets[0].extra["tfod"]["features"] == {"image/custom": ("bytes", [b"kept"])}


def test_reader_error_names_file_and_record(tmp_path):
    good = frame(encode_example({"image/height": ("int64", [1])}))
    bad = frame(encode_example({"image/object/bbox/xmin": ("float", [0.1]), "image/height": ("int64", [4]),
                                "image/width": ("int64", [4]), "image/object/class/text": ("bytes", [b"a"])}))
    (tmp_path / "x.record").write_bytes(good + bad)
    with pytest.raises(FormatError, match=r"x.record: record 1 \(byte 41\): image/object/bbox/xmax has 0 values"):
        read_tfrecords(tmp_path / "x.record")
    (tmp_path / "y.record").write_bytes(good[:-1])
    with pytest.raises(FormatError, match=r"y.record: record 0 \(byte 0\): record of 25 bytes runs past the end"):
        read_tfrecords(tmp_path / "y.record")
    corrupt = bytearray(good)
    corrupt[14] ^= 1
    (tmp_path / "z.record").write_bytes(bytes(corrupt))
    with pytest.raises(FormatError, match="data CRC mismatch"):
        read_tfrecords(tmp_path / "z.record")


def test_extract_images(tmp_path):
    ds = read_tfrecords(RACCOON / "data" / "test.record", extract_images=tmp_path / "img")
    for asset in ds.assets:
        assert (tmp_path / "img" / asset.file_name).read_bytes() == (RACCOON / "images" / asset.file_name).read_bytes()


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
@pytest.mark.parametrize("key", ["image/object/bbox/xmin", "image/object/bbox/ymax"])
def test_non_finite_box_is_a_format_error_naming_file_and_record(tmp_path, key, value):
    features = {"image/width": ("int64", [10]), "image/height": ("int64", [10]),
                "image/object/class/text": ("bytes", [b"cat"])}
    for k, v in (("image/object/bbox/xmin", 0.1), ("image/object/bbox/xmax", 0.5),
                 ("image/object/bbox/ymin", 0.1), ("image/object/bbox/ymax", 0.5)):
        features[k] = ("float", [value if k == key else v])
    path = tmp_path / "bad.record"
    path.write_bytes(frame(encode_example({"image/width": ("int64", [10])})) + frame(encode_example(features)))
    with pytest.raises(FormatError) as info:
        read_tfrecords(path)
    assert info.value.lines() == [f"{path}: record 1 (byte 40): {key}[0] is {value}: a box coordinate must be "
                                  "a finite number"]


def test_non_finite_box_exits_2_in_the_cli(tmp_path):
    from tests.conftest import run_cli

    features = {"image/width": ("int64", [10]), "image/height": ("int64", [10]),
                "image/object/bbox/xmin": ("float", [0.1]), "image/object/bbox/xmax": ("float", [float("inf")]),
                "image/object/bbox/ymin": ("float", [0.1]), "image/object/bbox/ymax": ("float", [0.5]),
                "image/object/class/text": ("bytes", [b"cat"])}
    path = tmp_path / "inf.record"
    path.write_bytes(frame(encode_example(features)))
    result = run_cli("convert", path, tmp_path / "out.json", "--to", "coco")
    assert result.code == 2, result.err
    assert f"{path}: record 0 (byte 0): image/object/bbox/xmax[0] is inf" in result.err
