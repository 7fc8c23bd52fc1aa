"""The ``tfrecord`` registry format: detect, read and write through the common API."""

from __future__ import annotations

import picsellia_formats as pf
from picsellia_formats.formats.tfrecord.records import iter_records
from picsellia_formats.outputs import MARKER
from tests.conftest import FIXTURES

RACCOON = FIXTURES / "raccoon_voc"


def test_detected_by_its_framing_not_its_name(tmp_path):
    assert pf.detect(RACCOON / "data" / "test.record") == "tfrecord"
    renamed = tmp_path / "whatever.bin"
    renamed.write_bytes((RACCOON / "data" / "test.record").read_bytes()[:5000])
    assert pf.formats.detect_all(renamed)[0].format == "tfrecord"
    assert dict((d.format, d.confidence) for d in pf.formats.detect_all(RACCOON / "images"))["tfrecord"] == 0


def test_convert_voc_to_tfrecord_folder_and_back_to_coco(tmp_path):
    voc = pf.read(RACCOON / "annotations", "voc")
    have = {p.name for p in (RACCOON / "images").iterdir()}
    voc.assets = [a for a in voc.assets if a.file_name in have]
    report = pf.write(voc, tmp_path / "tf", "tfrecord", images=RACCOON / "images", shards=2)
    assert sorted(p.name for p in (tmp_path / "tf").iterdir() if p.name != MARKER) == [
        "data.record-00000-of-00002", "data.record-00001-of-00002", "label_map.pbtxt"]
    assert report.stats["records"] == 40
    assert pf.detect(tmp_path / "tf") == "tfrecord"
    report = pf.convert(tmp_path / "tf", tmp_path / "coco.json", "coco")
    assert report.stats["assets"] == 40 and report.stats["annotations"] == 44
    back = pf.read(tmp_path / "coco.json")
    boxes = {a.file_name: sorted(x.box for x in a.annotations) for a in back.assets}
    assert boxes == {a.file_name: sorted(tuple(map(float, x.box)) for x in a.annotations) for a in voc.assets}


def test_split_by_tag_writes_one_set_per_split(tmp_path):
    ds = pf.read(RACCOON / "data" / "test.record")
    for i, asset in enumerate(ds.assets):
        asset.tags = ["train"] if i % 2 else ["val"]
    # the records carry their images: extract them to write again
    pf.read(RACCOON / "data" / "test.record", extract_images=tmp_path / "img")
    pf.write(ds, tmp_path / "tf", "tfrecord", images=tmp_path / "img", split_by_tag=True)
    assert sorted(p.name for p in (tmp_path / "tf").iterdir()
                  if p.name != MARKER) == ["label_map.pbtxt", "train.record", "val.record"]
    assert len(list(iter_records(tmp_path / "tf" / "train.record"))) == 4
    back = pf.read(tmp_path / "tf")
    assert sorted(a.tags[0] for a in back.assets) == ["train"] * 4 + ["val"] * 4


def test_label_map_beside_the_records_names_the_classes(tmp_path):
    from picsellia_formats.formats.tfrecord.example import decode_example, encode_example
    from picsellia_formats.formats.tfrecord.records import frame

    records = []
    for _, data in iter_records(RACCOON / "data" / "test.record"):
        features = decode_example(data)
        del features["image/object/class/text"]
        records.append(frame(encode_example(features)))
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "x.record").write_bytes(b"".join(records))
    (folder / "map.pbtxt").write_text("item { id: 1 name: 'procyon' }")
    ds = pf.read(folder)
    assert ds.label_names == ["procyon"] and ds.num_annotations == 9
    ds = pf.read(folder / "x.record", "tfrecord", label_map=RACCOON / "training" / "object-detection.pbtxt")
    assert ds.label_names == ["raccoon"]
