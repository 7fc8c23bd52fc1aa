"""``tfrecord SRC OUT_PREFIX``: records, label map, and the pipeline.config lines."""

from __future__ import annotations

import shutil

import pytest

from picsellia_formats.formats.tfrecord.read import read_tfrecords
from picsellia_formats.formats.tfrecord.records import iter_records
from picsellia_formats.tfod.labelmap import read_label_map
from tests.conftest import FIXTURES, run_cli

RACCOON = FIXTURES / "raccoon_voc"


def _voc_with_images(tmp_path):
    """The 40 raccoon images that are bundled, with their XMLs, in one folder."""
    folder = tmp_path / "voc"
    folder.mkdir()
    for image in (RACCOON / "images").iterdir():
        shutil.copy(image, folder / image.name)
        shutil.copy(RACCOON / "annotations" / f"{image.stem}.xml", folder / f"{image.stem}.xml")
    return folder


def test_voc_folder_to_sharded_records_with_masks(tmp_path):
    src = _voc_with_images(tmp_path)
    prefix = tmp_path / "out" / "train.record"
    result = run_cli("tfrecord", src, prefix, "--shards", "4", "--masks")
    assert result.code == 0, result.err
    shards = sorted((tmp_path / "out").glob("train.record-*"))
    assert [p.name for p in shards] == [f"train.record-0000{i}-of-00004" for i in range(4)]
    assert sum(len(list(iter_records(p))) for p in shards) == 40
    label_map = tmp_path / "out" / "label_map.pbtxt"
    assert [i.name for i in read_label_map(label_map)] == ["raccoon"]
    assert f'input_path: "{(tmp_path / "out").resolve()}/train.record-?????-of-00004"' in result.out
    assert f'label_map_path: "{label_map.resolve()}"' in result.out
    assert "load_instance_masks: true" in result.out and "mask_type: PNG_MASKS" in result.out
    assert "44 boxes written as rectangular masks" in result.err
    assert read_tfrecords(shards).num_annotations == 44


def test_missing_images_exit_2_or_are_skipped(tmp_path):
    prefix = tmp_path / "out" / "r.record"
    result = run_cli("tfrecord", RACCOON / "annotations", prefix, "--images", RACCOON / "images")
    assert result.code == 2
    assert "image file not found" in result.err and "... and" in result.err
    assert not prefix.exists()
    result = run_cli("tfrecord", RACCOON / "annotations", prefix, "--images", RACCOON / "images",
                     "--skip-missing-images", "--label-map", tmp_path / "lm.pbtxt")
    assert result.code == 0, result.err
    assert "160 images whose file is missing dropped" in result.err
    assert "173 objects on images whose file is missing dropped" in result.err
    assert "40 of 200 images, 44 of 217 objects" in result.err
    assert "load_instance_masks" not in result.out
    assert len(list(iter_records(prefix))) == 40 and (tmp_path / "lm.pbtxt").exists()


def test_split_by_tag_prints_a_reader_per_split(tmp_path):
    import picsellia_formats as pf

    src = _voc_with_images(tmp_path)
    ds = pf.read(src, "voc")
    for i, asset in enumerate(ds.assets):
        asset.tags = ["train" if i % 4 else "val"]
    pf.write(ds, tmp_path / "p.json", "picsellia")  # a format that keeps tags
    result = run_cli("tfrecord", tmp_path / "p.json", tmp_path / "out" / "data.record", "--images", src,
                     "--split-by-tag")
    assert result.code == 0, result.err
    assert "train_input_reader {" in result.out and "eval_input_reader {" in result.out
    assert len(list(iter_records(tmp_path / "out" / "data-train.record"))) == 30
    assert len(list(iter_records(tmp_path / "out" / "data-val.record"))) == 10


def test_strict_refuses_and_writes_nothing(tmp_path):
    src = _voc_with_images(tmp_path)
    result = run_cli("tfrecord", src, tmp_path / "out" / "t.record", "--masks", "--strict")
    assert result.code == 1
    assert not (tmp_path / "out" / "t.record").exists()


def _readers(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines() if line.endswith("_input_reader {") and line[0] != " "]


def test_a_val_split_run_prints_an_eval_reader_only(tmp_path):
    """``split`` then ``tfrecord S/val val.record``: the val records are an eval input, never a train one."""
    import picsellia_formats as pf

    src = _voc_with_images(tmp_path)
    ds = pf.read(src, "voc")
    for name, keep in (("train", lambda i: i % 4), ("val", lambda i: not i % 4)):
        part = pf.Dataset(ds.labels, [a for i, a in enumerate(ds.assets) if keep(i)])
        pf.write(part, tmp_path / "S" / name, "voc")
    result = run_cli("tfrecord", tmp_path / "S" / "val", tmp_path / "out" / "v.record", "--images", src)
    assert result.code == 0, result.err
    assert _readers(result.out) == ["eval_input_reader"]
    result = run_cli("tfrecord", tmp_path / "S" / "train", tmp_path / "out" / "t.record", "--images", src)
    assert _readers(result.out) == ["train_input_reader"]
    result = run_cli("tfrecord", tmp_path / "S" / "train", tmp_path / "out" / "test.record", "--images", src,
                     "--label-map", tmp_path / "out" / "lm2.pbtxt")
    assert _readers(result.out) == ["eval_input_reader"]  # the output name says test


def test_truncated_jpeg_refused_with_its_name_and_the_way_out(tmp_path):
    src = FIXTURES / "real_exports" / "truncated_jpeg"
    out = tmp_path / "out" / "data.record"
    result = run_cli("tfrecord", src / "annotations.json", out)
    assert result.code == 2, result.err
    assert "cut.jpg" in result.err and "does not decode" in result.err and "--skip-broken-images" in result.err
    assert ".tmp-pf" not in result.err and "Traceback" not in result.err
    assert not out.exists() and not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp-pf")]
    result = run_cli("tfrecord", src / "annotations.json", out, "--skip-broken-images")
    assert result.code == 0, result.err
    assert "1 image that does not decode dropped" in result.err and "'cut.jpg'" in result.err
    assert "1 object on images that do not decode dropped" in result.err
    assert [a.file_name for a in read_tfrecords(out).assets] == ["ok.jpg"]


def test_convert_to_tfrecord_refuses_the_truncated_jpeg_too(tmp_path):
    src = FIXTURES / "real_exports" / "truncated_jpeg"
    result = run_cli("convert", src / "annotations.json", tmp_path / "o", "--to", "tfrecord", "--images",
                     src / "images")
    assert result.code == 2 and "cut.jpg" in result.err and "--skip-broken-images" in result.err
    result = run_cli("convert", src / "annotations.json", tmp_path / "o", "--to", "tfrecord", "--images",
                     src / "images", "--skip-broken-images")
    assert result.code == 0, result.err
    assert len(list(iter_records(tmp_path / "o" / "data.record"))) == 1


def test_tfrecord_to_tfrecord_needs_no_images_folder(tmp_path):
    src = RACCOON / "data" / "test.record"
    result = run_cli("tfrecord", src, tmp_path / "again.record", "--shards", "2")
    assert result.code == 0, result.err
    assert sum(1 for p in tmp_path.glob("again.record-*") for _ in iter_records(p)) == 8
    result = run_cli("convert", src, tmp_path / "conv", "--to", "tfrecord")
    assert result.code == 0, result.err
    before = {a.file_name: a for a in read_tfrecords(src).assets}
    after = read_tfrecords(tmp_path / "conv" / "data.record")
    assert {a.file_name: [x.box for x in a.annotations] for a in after.assets} == {
        n: [x.box for x in a.annotations] for n, a in before.items()}


def _bomb_png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("size", "extra"), [
    ((2147483647, 2147483647), []),
    ((2147483647, 2147483647), ["--max-pixels", "0"]),
    ((65535, 65535), []),
    ((65535, 65535), ["--max-pixels", "0"]),
])
def test_pixel_bomb_headers_refused_before_anything_is_allocated(tmp_path, size, extra):
    """A 68-byte PNG claiming 2147483647² pixels once killed ``tfrecord --masks`` (SIGSEGV in
    pycocotools); a 65535² one allocated GiBs. Run under a 1.5 GiB address-space limit."""
    import json
    import resource
    import subprocess
    import sys

    (tmp_path / "images").mkdir()
    data = _bomb_png(*size)
    (tmp_path / "images" / "bomb.png").write_bytes(data)
    assert len(data) < 70
    coco = {"images": [{"id": 1, "file_name": "bomb.png", "width": size[0], "height": size[1]}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25,
                             "iscrowd": 0, "segmentation": [[1, 1, 6, 1, 6, 6, 1, 6]]}]}
    (tmp_path / "ann.json").write_text(json.dumps(coco))

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))

    proc = subprocess.run([sys.executable, "-m", "picsellia_formats", "tfrecord", str(tmp_path / "ann.json"),
                           str(tmp_path / "out" / "b.record"), "--images", str(tmp_path / "images"), "--masks",
                           "--workers", "0", *extra], capture_output=True, text=True, timeout=120, preexec_fn=limit,
                          cwd=FIXTURES.parent)
    assert proc.returncode == 2, proc.stderr
    assert "bomb.png" in proc.stderr and "--skip-broken-images" in proc.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
