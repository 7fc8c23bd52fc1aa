"""The TensorFlow Object Detection API's files, written and read without TensorFlow.

* `labelmap`: ``label_map.pbtxt`` (``StringIntLabelMap`` text format) writer and validating reader.
* `example`: ``tf.train.Example`` encoder/decoder, byte-identical to TensorFlow's deterministic output.
* `tfrecord`: TFRecord framing (CRC-32C), sharded writer with a worker pool, reader into the model.
* `features`: one image <-> the OD API decoder's feature keys.

Example:
    >>> from picsellia_formats.tfod import read_label_map, read_tfrecords
    >>> [item.name for item in read_label_map("fixtures/raccoon_voc/training/object-detection.pbtxt")]
    ['raccoon']
"""

from __future__ import annotations

from .example import decode_example, encode_example
from .labelmap import (
    LabelMapItem,
    format_label_map,
    label_map_items,
    parse_label_map,
    read_label_map,
    write_label_map,
)
from .tfrecord import (
    frame,
    input_path_pattern,
    iter_records,
    read_tfrecords,
    shard_paths,
    split_prefix,
    write_tfrecords,
)

__all__ = [
    "LabelMapItem",
    "decode_example",
    "encode_example",
    "format_label_map",
    "frame",
    "input_path_pattern",
    "iter_records",
    "label_map_items",
    "parse_label_map",
    "read_label_map",
    "read_tfrecords",
    "shard_paths",
    "split_prefix",
    "write_label_map",
    "write_tfrecords",
]
