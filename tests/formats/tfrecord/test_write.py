"""Writing TFRecords: TensorFlow reads what we write, byte for byte what it would write."""

from __future__ import annotations

import hashlib
import io
import struct

import numpy as np
import pytest
from PIL import Image

from picsellia_formats.errors import FormatError, LossyConversionError, OutputExistsError
from picsellia_formats.formats.tfrecord.example import decode_example, encode_example
from picsellia_formats.formats.tfrecord.read import read_tfrecords
from picsellia_formats.formats.tfrecord.records import frame, iter_records
from picsellia_formats.formats.tfrecord.write import write_tfrecords
from picsellia_formats.masks import polygon_to_mask, rle_to_mask
from picsellia_formats.model import Annotation, Asset, Dataset, Label
from picsellia_formats.report import Report
from picsellia_formats.tfod.labelmap import label_map_items

from .conftest import EXIF_OPS, FIXTURES, RACCOON, parse_records

F32 = np.float32


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]



def test_shards_named_and_filled_round_robin(written):
    _, _, paths, _ = written
    assert [p.name for p in paths] == [f"train.record-0000{i}-of-00003" for i in range(3)]
    per_shard = [[d for _, d in iter_records(p)] for p in paths]
    assert [len(s) for s in per_shard] == [2, 2, 2]
    # record i of the data set is in shard i % 3: source ids 1, 4 | 2, 5 | 3, 6
    from picsellia_formats.formats.tfrecord.example import decode_example

    ids = [[decode_example(d)["image/source_id"][1][0] for d in s] for s in per_shard]
    assert ids == [[b"1", b"4"], [b"2", b"5"], [b"3", b"6"]]


def test_tensorflow_parses_every_record_with_the_decoder_spec(tf, written):
    dataset, images, paths, _ = written
    items = {i.name: i.id for i in label_map_items(dataset.labels)}
    rows = parse_records(tf, paths, masks=True)
    by_id = {r["image/source_id"].decode(): r for r in rows}
    assert len(rows) == len(dataset)
    for asset in dataset.assets:
        row = by_id[str(asset.id)]
        data = (images / asset.file_name).read_bytes()
        assert row["image/encoded"] == data  # passed through untouched
        assert row["image/key/sha256"].decode() == hashlib.sha256(data).hexdigest()
        assert row["image/format"] == (b"png" if asset.file_name.endswith(".png") else b"jpeg")
        assert row["image/filename"].decode() == asset.file_name
        image = tf.io.decode_image(row["image/encoded"], channels=3).numpy()
        assert image.shape[:2] == (row["image/height"], row["image/width"])
        objects = [a for a in asset.annotations if a.kind != "classification"]
        assert list(row["image/object/class/text"]) == [a.label.encode() for a in objects]
        assert list(row["image/object/class/label"]) == [items[a.label] for a in objects]
        assert len(row["image/object/mask"]) == len(objects)
        classes = [a.label for a in asset.annotations if a.kind == "classification"]
        assert [t.decode() for t in row["image/class/text"]] == classes
        assert list(row["image/class/label"]) == [items[c] for c in classes]


def _stored_boxes(row):
    h, w = row["image/height"], row["image/width"]
    return [(x0 * w, y0 * h, x1 * w, y1 * h) for x0, y0, x1, y1 in zip(
        row["image/object/bbox/xmin"], row["image/object/bbox/ymin"],
        row["image/object/bbox/xmax"], row["image/object/bbox/ymax"])]


def test_boxes_cover_the_painted_objects_in_what_tensorflow_decodes(tf, written):
    """Each object's box was painted into the displayed image in its own colour: in the pixels
    TensorFlow decodes (stored frame, EXIF ignored), the colour's extent is the box we wrote."""
    from picsellia_formats.shapes import annotation_bbox

    from .conftest import COLOURS, PAINTED

    dataset, _, paths, _ = written
    rows = {r["image/source_id"].decode(): r for r in parse_records(tf, paths, masks=True)}
    checked = 0
    for asset in dataset.assets:
        row = rows[str(asset.id)]
        pixels = tf.io.decode_image(row["image/encoded"], channels=3).numpy().astype(int)
        objects = [a for a in asset.annotations if a.kind != "classification"]
        for k, (ann, box) in enumerate(zip(objects, _stored_boxes(row))):
            painted_boxes = PAINTED.get(asset.file_name, [])
            if k >= len(painted_boxes) or tuple(annotation_bbox(ann)) != painted_boxes[k]:
                continue  # not painted as it is (a multi-part polygon)
            colour = np.array(COLOURS[k % len(COLOURS)])
            hit = np.abs(pixels - colour).sum(axis=2) < 90
            ys, xs = np.nonzero(hit)
            painted = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert np.allclose(box, painted, atol=1.01), (asset.file_name, ann, box, painted)
            checked += 1
    assert checked == 6


def test_boxes_clamped_and_counted(tf, written):
    _, _, paths, report = written
    rows = {r["image/source_id"].decode(): r for r in parse_records(tf, paths)}
    row = rows["1"]
    assert row["image/object/bbox/xmax"][1] == 1.0 and row["image/object/bbox/ymax"][1] == 1.0
    assert row["image/object/bbox/xmin"][1] == F32(40 / 64)
    assert report.count("approximated", "boxes clamped to the image") == 1
    for key in ("xmin", "xmax", "ymin", "ymax"):
        values = np.concatenate([r[f"image/object/bbox/{key}"] for r in rows.values()])
        assert ((values >= 0) & (values <= 1)).all()


def test_masks_equal_the_source_shapes(tf, written):
    """PNG masks decoded by TensorFlow, turned to the displayed frame with Pillow's own EXIF
    transpose, equal pycocotools' rasterisation of the source polygon / RLE."""
    dataset, _, paths, _ = written
    rows = {r["image/source_id"].decode(): r for r in parse_records(tf, paths, masks=True)}
    compared = 0
    for asset in dataset.assets:
        row = rows[str(asset.id)]
        orientation = 6 if asset.file_name == "rot6.jpg" else 1
        objects = [a for a in asset.annotations if a.kind != "classification"]
        for ann, png in zip(objects, row["image/object/mask"]):
            stored = tf.io.decode_png(png, channels=1).numpy()[..., 0]
            assert stored.shape == (row["image/height"], row["image/width"])
            im = Image.fromarray((stored > 0).astype(np.uint8))
            if orientation != 1:
                im = im.transpose(EXIF_OPS[orientation])
            shown = np.asarray(im)
            if ann.polygon is not None:
                expected = polygon_to_mask(ann.polygon, asset.height, asset.width)
            elif ann.mask is not None:
                expected = rle_to_mask(ann.mask)
            else:
                x, y, w, h = ann.box
                expected = np.zeros((asset.height, asset.width), np.uint8)
                expected[int(y):int(y + h), int(x):int(x + w)] = 1
            assert (shown.astype(bool) == expected.astype(bool)).all(), (asset.file_name, ann)
            compared += 1
    assert compared == 8


def test_crowd_area_and_pascal_fields(tf, written):
    _, _, paths, _ = written
    rows = {r["image/source_id"].decode(): r for r in parse_records(tf, paths)}
    assert list(rows["2"]["image/object/is_crowd"]) == [0, 1]
    assert rows["2"]["image/object/area"][1] == 48.0
    assert list(rows["4"]["image/object/difficult"]) == [1]
    from picsellia_formats.formats.tfrecord.example import decode_example

    raw = {decode_example(d)["image/source_id"][1][0]: decode_example(d) for p in paths for _, d in iter_records(p)}
    assert raw[b"4"]["image/object/truncated"] == ("int64", [1])
    assert raw[b"4"]["image/object/view"] == ("bytes", [b"Left"])
    assert raw[b"3"]["image/object/bbox/xmin"] == ("float", [])  # an empty image keeps empty lists


def test_exif_rotation_reported(written):
    _, _, _, report = written
    assert report.count("changed", "boxes and masks of EXIF-rotated images written in the stored pixel frame") == 1
    assert report.count("approximated", "boxes written as rectangular masks") == 4


def test_shards_byte_identical_to_tensorflow_writer(tf, written, tmp_path):
    """TensorFlow re-serialises each of our Examples deterministically and writes the same shards
    with tf.io.TFRecordWriter: same sha256."""
    _, _, paths, _ = written
    n = len(paths)
    records = [d for p in paths for _, d in iter_records(p)]
    # de-interleave back into data-set order: shard k holds records k, k + n, ...
    per_shard = [[d for _, d in iter_records(p)] for p in paths]
    ordered = [per_shard[i % n][i // n] for i in range(len(records))]
    tf_paths = [tmp_path / p.name for p in paths]
    writers = [tf.io.TFRecordWriter(str(p)) for p in tf_paths]
    for i, data in enumerate(ordered):
        example = tf.train.Example.FromString(data)
        serialised = example.SerializeToString(deterministic=True)
        assert serialised == data
        writers[i % n].write(serialised)
    for w in writers:
        w.close()
    for ours, theirs in zip(paths, tf_paths):
        assert hashlib.sha256(ours.read_bytes()).hexdigest() == hashlib.sha256(theirs.read_bytes()).hexdigest()


def test_output_is_deterministic(synthetic, tmp_path):
    dataset, images = synthetic
    a = write_tfrecords(dataset, tmp_path / "a.record", images=images, masks=True, progress=False, workers=0)
    b = write_tfrecords(dataset, tmp_path / "b.record", images=images, masks=True, progress=False, workers=2)
    assert a[0].read_bytes() == b[0].read_bytes()


def test_voc_to_tfrecord_to_voc_keeps_every_box(tmp_path):
    import picsellia_formats as pf

    voc = pf.read(RACCOON / "annotations", "voc")
    have = {p.name for p in (RACCOON / "images").iterdir()}
    voc.assets = [a for a in voc.assets if a.file_name in have]
    assert len(voc) == 40
    paths = write_tfrecords(voc, tmp_path / "r.record", images=RACCOON / "images", progress=False)
    back = read_tfrecords(paths)
    pf.write(back, tmp_path / "voc", "voc")
    again = {a.file_name: a for a in pf.read(tmp_path / "voc", "voc").assets}
    boxes = 0
    for src in voc.assets:
        got = again[src.file_name]
        assert (got.width, got.height) == (src.width, src.height)
        for s, g in zip(src.annotations, got.annotations):
            for a, b, size in zip(s.box, g.box, (src.width, src.height) * 2):
                assert abs(a - b) <= abs(_f32(a / size) * size - a) + 1e-9  # within float32
            assert g.attributes == s.attributes
            boxes += 1
    assert boxes == 44


def test_tfrecord_to_tfrecord_keeps_unknown_features(tmp_path, synthetic):
    dataset, images = synthetic
    first = write_tfrecords(dataset, tmp_path / "1.record", images=images, progress=False)
    from picsellia_formats.formats.tfrecord.example import decode_example

    # add custom keys to every record, read, write again: they survive
    records = [decode_example(d) for _, d in iter_records(first[0])]
    for features in records:
        n = len(features["image/object/bbox/xmin"][1])
        features["image/object/weight"] = ("float", [0.5] * n)
        features["image/custom"] = ("int64", [42])
    (tmp_path / "2.record").write_bytes(b"".join(frame(encode_example(f)) for f in records))
    ds = read_tfrecords(tmp_path / "2.record")
    third = write_tfrecords(ds, tmp_path / "3.record", images=images, progress=False)
    again = [decode_example(d) for _, d in iter_records(third[0])]
    for before, after in zip(records, again):
        assert after["image/custom"] == ("int64", [42])
        assert after["image/object/weight"] == before["image/object/weight"]


def test_missing_images_listed_or_skipped(synthetic, tmp_path):
    dataset, images = synthetic
    ds = Dataset(dataset.labels, [*dataset.assets, Asset("nowhere.jpg", 10, 10, [])])
    with pytest.raises(FormatError, match=r"'nowhere\.jpg': image file not found"):
        write_tfrecords(ds, tmp_path / "x.record", images=images, progress=False)
    assert not list(tmp_path.iterdir())  # nothing left behind
    report = Report()
    paths = write_tfrecords(ds, tmp_path / "x.record", images=images, progress=False, skip_missing=True,
                            report=report)
    assert report.count("dropped", "images whose file is missing") == 1
    assert len(list(iter_records(paths[0]))) == len(dataset)


def test_strict_refuses_lossy_output_and_writes_nothing(synthetic, tmp_path):
    dataset, images = synthetic
    with pytest.raises(LossyConversionError):
        write_tfrecords(dataset, tmp_path / "s.record", images=images, progress=False, strict=True)
    assert not list(tmp_path.iterdir())


def test_names_escaping_the_images_folder_never_read_outside_it(tmp_path):
    """``..`` in a file name is matched inside the images folder only (the `ImageIndex` policy)."""
    images = tmp_path / "images"
    images.mkdir()
    (tmp_path / "etc").mkdir()
    Image.new("RGB", (10, 10)).save(tmp_path / "etc" / "passwd.jpg")
    ds = Dataset([Label("cat")], [Asset("../etc/passwd.jpg", 10, 10, [])])
    with pytest.raises(FormatError, match=r"'\.\./etc/passwd\.jpg': image file not found"):
        write_tfrecords(ds, tmp_path / "u.record", images=images, progress=False)


def test_split_by_tag(synthetic, tmp_path):
    dataset, images = synthetic
    tags = [["train"], ["train", "night"], ["val"], ["TEST"], [], ["val"]]
    ds = Dataset(dataset.labels, [Asset(a.file_name, a.width, a.height, a.annotations, a.id, t)
                                  for a, t in zip(dataset.assets, tags)])
    report = Report()
    paths = write_tfrecords(ds, tmp_path / "d.record", images=images, split_by_tag=True, progress=False,
                            report=report)
    assert [p.name for p in paths] == ["d-train.record", "d-val.record", "d-TEST.record", "d-untagged.record"]
    assert [len(list(iter_records(p))) for p in paths] == [2, 2, 1, 1]
    back = read_tfrecords(tmp_path)
    assert sorted(a.tags[0] if a.tags else "-" for a in back.assets) == ["-", "TEST", "train", "train", "val", "val"]
    assert [s["split"] for s in report.stats["record_sets"]] == ["train", "val", "TEST", "untagged"]
    ds.assets[0].tags = ["train", "val"]
    with pytest.raises(FormatError, match="name different splits"):
        write_tfrecords(ds, tmp_path / "e.record", images=images, split_by_tag=True, progress=False)


def test_size_mismatch_and_other_image_types_reported(tmp_path):
    Image.new("RGB", (20, 10)).save(tmp_path / "a.bmp")
    Image.new("RGB", (20, 10)).save(tmp_path / "b.jpg")
    ds = Dataset([Label("x")], [
        Asset("a.bmp", 20, 10, [Annotation("x", box=(0.0, 0.0, 10.0, 5.0))]),
        Asset("b.jpg", 40, 20, [Annotation("x", box=(0.0, 0.0, 20.0, 10.0))]),
    ])
    report = Report()
    paths = write_tfrecords(ds, tmp_path / "o.record", images=tmp_path, progress=False, report=report)
    assert report.count("info", "bmp images passed through") == 1
    assert report.count("info", "images whose file size differs from the annotated size") == 1
    from picsellia_formats.formats.tfrecord.example import decode_example

    rec = [decode_example(d) for _, d in iter_records(paths[0])]
    assert rec[0]["image/format"] == ("bytes", [b"bmp"])
    assert rec[1]["image/width"] == ("int64", [20]) and rec[1]["image/object/bbox/xmax"] == ("float", [0.5])


def test_exif_image_annotated_on_stored_pixels_written_as_is(tmp_path):
    stored = Image.new("RGB", (60, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "r.jpg", exif=exif.tobytes())
    ds = Dataset([Label("x")], [Asset("r.jpg", 60, 40, [Annotation("x", box=(6.0, 4.0, 12.0, 8.0))])])
    report = Report()
    paths = write_tfrecords(ds, tmp_path / "o.record", images=tmp_path, progress=False, report=report)
    from picsellia_formats.formats.tfrecord.example import decode_example

    rec = decode_example(next(iter_records(paths[0]))[1])
    assert rec["image/object/bbox/xmin"] == ("float", [_f32(0.1)])
    assert report.count("info") == 1


def test_image_bytes_not_reencoded_for_png_with_alpha(tmp_path):
    buf = io.BytesIO()
    Image.new("RGBA", (7, 5), (1, 2, 3, 4)).save(buf, "PNG")
    (tmp_path / "p.png").write_bytes(buf.getvalue())
    ds = Dataset([Label("x")], [Asset("p.png", None, None, [Annotation("x", box=(1.0, 1.0, 2.0, 2.0))])])
    paths = write_tfrecords(ds, tmp_path / "o.record", images=tmp_path, progress=False)
    from picsellia_formats.formats.tfrecord.example import decode_example

    rec = decode_example(next(iter_records(paths[0]))[1])
    assert rec["image/encoded"] == ("bytes", [buf.getvalue()])
    assert rec["image/width"] == ("int64", [7]) and rec["image/format"] == ("bytes", [b"png"])


# ------------------------------------------------------------------- images that cannot be packed


def _truncated_copy(tmp_path, dataset, images, name="a.jpg"):
    """A copy of the synthetic images folder where `name` is cut in half."""
    import shutil

    folder = tmp_path / "imgs"
    shutil.copytree(images, folder)
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    return folder


def test_broken_image_refused_naming_it_and_the_option(synthetic, tmp_path):
    dataset, images = synthetic
    folder = _truncated_copy(tmp_path, dataset, images)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FormatError) as info:
        write_tfrecords(dataset, out / "x.record", images=folder, progress=False)
    text = str(info.value)
    assert str(folder / "a.jpg") in text and "does not decode" in text and "--skip-broken-images" in text
    assert ".tmp-pf" not in text
    assert not list(out.iterdir())  # nothing written, no temporary file left


def test_broken_image_skipped_and_reported_with_counts(tf, synthetic, tmp_path):
    dataset, images = synthetic
    folder = _truncated_copy(tmp_path, dataset, images)
    report = Report()
    paths = write_tfrecords(dataset, tmp_path / "x.record", images=folder, progress=False, skip_broken=True,
                            report=report, shards=2)
    broken = next(a for a in dataset.assets if a.file_name == "a.jpg")
    assert report.count("dropped", "images that do not decode") == 1
    assert report.count("dropped", "objects on images that do not decode") == len(broken.annotations)
    assert "'a.jpg'" in str(report)
    rows = parse_records(tf, paths)
    assert len(rows) == len(dataset) - 1
    assert b"a.jpg" not in {r["image/filename"] for r in rows}
    for row in rows:  # what is packed decodes in TensorFlow
        tf.io.decode_image(row["image/encoded"], channels=3, expand_animations=False)


def test_decode_check_can_be_turned_off(synthetic, tmp_path):
    dataset, images = synthetic
    folder = _truncated_copy(tmp_path, dataset, images)
    paths = write_tfrecords(dataset, tmp_path / "x.record", images=folder, progress=False, check_decode="none")
    assert len(list(iter_records(paths[0]))) == len(dataset)
    with pytest.raises(ValueError, match="check_decode must be one of"):
        write_tfrecords(dataset, tmp_path / "y.record", images=folder, progress=False, check_decode="quick")


def test_rerun_with_fewer_shards_leaves_no_stale_shard(synthetic, tmp_path):
    dataset, images = synthetic
    out = tmp_path / "out"
    write_tfrecords(dataset, out / "t.record", images=images, shards=4, progress=False)
    (out / "t.record-notes.txt").write_text("kept")  # not ours: never touched
    with pytest.raises(OutputExistsError, match="--overwrite"):  # an existing set is never replaced silently
        write_tfrecords(dataset, out / "t.record", images=images, shards=2, progress=False)
    assert len(list(out.glob("t.record-*-of-00004"))) == 4
    report = Report()
    paths = write_tfrecords(dataset, out / "t.record", images=images, shards=2, progress=False, report=report,
                            overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted([*(p.name for p in paths), "t.record-notes.txt"])
    assert report.count("info", "files of an earlier record set at the same prefix removed") == 4
    assert len(read_tfrecords(out / "t.record-00000-of-00002").assets) + len(
        read_tfrecords(out / "t.record-00001-of-00002").assets) == len(dataset)
    write_tfrecords(dataset, out / "t.record", images=images, shards=1, progress=False, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["t.record", "t.record-notes.txt"]


def test_tfrecord_to_tfrecord_reuses_the_embedded_images(tf, tmp_path):
    src = RACCOON / "data" / "test.record"
    ds = read_tfrecords(src)
    paths = write_tfrecords(ds, tmp_path / "again.record", images=src, progress=False, masks=True)
    before = {r["image/filename"]: r["image/encoded"] for r in parse_records(tf, [src])}
    after = parse_records(tf, paths, masks=True)
    assert len(after) == len(before) == 8
    assert all(r["image/encoded"] == before[r["image/filename"]] for r in after)


def test_split_hint_picks_the_image_of_the_assets_split(tmp_path):
    import picsellia_formats as pf

    src = FIXTURES / "real_exports" / "yolo_same_name_two_splits"
    ds = pf.read(src, images=src / "images")
    paths = write_tfrecords(ds, tmp_path / "{split}.record", images=src / "images", split_by_tag=True,
                            progress=False)
    for path in paths:
        split = path.name.split(".")[0]
        ((_, data),) = iter_records(path)
        encoded = decode_example(data)["image/encoded"][1][0]
        on_disk = [p for p in (src / "images").rglob("*") if p.is_file() and split in p.parts]
        assert [p.read_bytes() for p in on_disk] == [encoded]
