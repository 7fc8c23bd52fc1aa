"""The pipeline.config input readers: a train reader for training splits only, eval readers for val/test."""

from __future__ import annotations

import pytest

from picsellia_formats.tfod.pipeline import EVAL_READER, TRAIN_READER, pipeline_fragment, reader_for_split


@pytest.mark.parametrize(("split", "reader"), [
    ("train", TRAIN_READER), ("Training", TRAIN_READER), ("trainval", TRAIN_READER),
    ("val", EVAL_READER), ("valid", EVAL_READER), ("validation", EVAL_READER), ("eval", EVAL_READER),
    ("test", EVAL_READER), ("TEST", EVAL_READER), ("testing", EVAL_READER),
    (None, None), ("", None), ("untagged", None), ("night", None),
])
def test_reader_for_split(split, reader):
    assert reader_for_split(split) == reader


def _blocks(text: str) -> list[tuple[str, str]]:
    """``(reader, input_path)`` of every block of a fragment."""
    out = []
    reader = None
    for line in text.splitlines():
        if line.endswith("_input_reader {") and not line.startswith(" "):
            reader = line.split()[0]
        elif line.strip().startswith("input_path:"):
            out.append((reader, line.split('"')[1]))
    return out


def test_fragment_names_each_split_in_its_reader_train_first():
    sets = [{"split": "test", "input_path": "/d/test.record-?????-of-00002", "records": 3},
            {"split": "untagged", "input_path": "/d/untagged.record", "records": 1},
            {"split": "val", "input_path": "/d/val.record-?????-of-00002", "records": 5},
            {"split": "train", "input_path": "/d/train.record-?????-of-00002", "records": 20}]
    text = pipeline_fragment(sets, "/d/label_map.pbtxt", masks=True)
    assert _blocks(text) == [(TRAIN_READER, "/d/train.record-?????-of-00002"),
                             (EVAL_READER, "/d/val.record-?????-of-00002"),
                             (EVAL_READER, "/d/test.record-?????-of-00002")]
    assert text.count('label_map_path: "/d/label_map.pbtxt"') == 3
    assert text.count("mask_type: PNG_MASKS") == 3
    assert "# untagged: 1 images in /d/untagged.record (not a train, val or test split: no input reader)" in text


def test_a_val_set_alone_gets_no_train_reader():
    text = pipeline_fragment([{"split": "val", "input_path": "v.record", "records": 2}], "lm.pbtxt")
    assert TRAIN_READER not in text and _blocks(text) == [(EVAL_READER, "v.record")]
