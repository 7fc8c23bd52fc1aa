"""`write_split_tfrecords`: a split dataset as the TF OD API trains on it; TensorFlow reads every shard."""

from __future__ import annotations

import pytest

from picsellia_formats.errors import FormatError
from picsellia_formats.model import Asset, Dataset
from picsellia_formats.report import Report
from picsellia_formats.tfod import read_label_map, write_split_tfrecords
from picsellia_formats.tfod.pipeline import EVAL_READER, TRAIN_READER
from tests.formats.tfrecord.conftest import parse_records
from tests.tfod.test_pipeline import _blocks


def _tagged(dataset: Dataset, tags: list[list[str]]) -> Dataset:
    return Dataset(dataset.labels, [Asset(a.file_name, a.width, a.height, a.annotations, a.id, t)
                                    for a, t in zip(dataset.assets, tags)])


def test_split_dataset_written_for_the_od_api(tf, synthetic, tmp_path):
    dataset, images = synthetic
    tags = [["train"], ["Training", "night"], ["valid"], ["test"], ["train"], ["validation"]]
    ds = _tagged(dataset, tags)
    report = Report()
    out = write_split_tfrecords(ds, tmp_path / "tf", images=images, shards=2, masks=True, progress=False,
                                report=report)
    names = sorted(p.name for p in (tmp_path / "tf").iterdir())
    assert names == ["label_map.pbtxt", "pipeline_input_readers.config",
                     "test.record-00000-of-00002", "test.record-00001-of-00002",
                     "train.record-00000-of-00002", "train.record-00001-of-00002",
                     "val.record-00000-of-00002", "val.record-00001-of-00002"]
    counts = {"train": 3, "val": 2, "test": 1}
    for split, n in counts.items():
        shards = sorted((tmp_path / "tf").glob(f"{split}.record-*"))
        rows = parse_records(tf, shards, masks=True)  # the OD API decoder's feature spec
        assert len(rows) == n
    text = out.pipeline.read_text()
    blocks = _blocks(text)
    assert [r for r, _ in blocks] == [TRAIN_READER, EVAL_READER, EVAL_READER]
    for (_, pattern), split in zip(blocks, ["train", "val", "test"]):
        assert sorted(tf.io.gfile.glob(pattern)) == sorted(str(p.resolve()) for p in
                                                           (tmp_path / "tf").glob(f"{split}.record-*"))
    assert text.count(f'label_map_path: "{out.label_map.resolve()}"') == 3
    assert "load_instance_masks: true" in text
    assert [i.name for i in read_label_map(out.label_map)] == [label.name for label in dataset.labels]
    assert [(s["split"], s["records"]) for s in out.record_sets] == list(counts.items())


def test_one_shard_still_gets_the_od_api_shard_names_and_relative_paths(synthetic, tmp_path):
    dataset, images = synthetic
    ds = _tagged(dataset, [["train"]] * 4 + [["val"]] * 2)
    out = write_split_tfrecords(ds, tmp_path, images=images, progress=False, absolute_paths=False)
    assert sorted(p.name for p in out.records) == ["train.record-00000-of-00001", "val.record-00000-of-00001"]
    assert _blocks(out.pipeline.read_text()) == [(TRAIN_READER, "train.record-?????-of-00001"),
                                                 (EVAL_READER, "val.record-?????-of-00001")]


def test_untagged_images_are_reported_and_read_by_no_reader(synthetic, tmp_path):
    dataset, images = synthetic
    ds = _tagged(dataset, [["train"]] * 5 + [[]])
    report = Report()
    out = write_split_tfrecords(ds, tmp_path, images=images, progress=False, report=report)
    assert report.count("info", "images without a split tag written to the 'untagged' set") == 1
    assert "# untagged: 1 images" in out.pipeline.read_text()


def test_two_split_tags_on_one_image_are_refused(synthetic, tmp_path):
    dataset, images = synthetic
    ds = _tagged(dataset, [["train", "test"]] + [["train"]] * 5)
    with pytest.raises(FormatError, match="name different splits"):
        write_split_tfrecords(ds, tmp_path / "o", images=images, progress=False)
    assert not (tmp_path / "o" / "label_map.pbtxt").exists()
