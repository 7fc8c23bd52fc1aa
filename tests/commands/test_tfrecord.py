"""``tfrecord SRC OUT_PREFIX``: records, label map, and the pipeline.config lines."""

from __future__ import annotations

import shutil

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
