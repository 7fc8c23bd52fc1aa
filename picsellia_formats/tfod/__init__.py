"""The TensorFlow Object Detection API's files that are not a data format, written without TensorFlow.

* `labelmap`: ``label_map.pbtxt`` (``StringIntLabelMap`` text format) writer and validating reader.
* `pipeline`: the ``*_input_reader`` blocks of a ``pipeline.config`` and the per-split output
  (`write_split_tfrecords`: shards + label map + pipeline fragment for a split dataset).

The TFRecord format itself is `picsellia_formats.formats.tfrecord`; its reader and writer are
re-exported here, where the documentation has always shown them.

Example:
    >>> from picsellia_formats.tfod import read_label_map, read_tfrecords
    >>> [item.name for item in read_label_map("fixtures/raccoon_voc/training/object-detection.pbtxt")]
    ['raccoon']
"""

from __future__ import annotations

from .labelmap import (
    LabelMapItem,
    format_label_map,
    label_map_items,
    parse_label_map,
    read_label_map,
    write_label_map,
)

#: the TFRecord names re-exported here, loaded on first use (the format's modules import `labelmap`)
_LAZY = {
    "decode_example": "example", "encode_example": "example", "read_tfrecords": "read", "frame": "records",
    "input_path_pattern": "records", "iter_records": "records", "shard_paths": "records",
    "split_prefix": "records", "write_tfrecords": "write", "write_split_tfrecords": None,
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module = _LAZY[name]
        where = f"{__name__}.split_output" if module is None else f"picsellia_formats.formats.tfrecord.{module}"
        value = getattr(importlib.import_module(where), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "write_split_tfrecords",
    "write_tfrecords",
]
