"""The ``input_reader`` lines of an OD API ``pipeline.config`` that read what we wrote.

Example:
    >>> print(input_reader_config("/data/train.record-?????-of-00004", "/data/label_map.pbtxt", masks=True))
    train_input_reader {
      label_map_path: "/data/label_map.pbtxt"
      tf_record_input_reader {
        input_path: "/data/train.record-?????-of-00004"
      }
      load_instance_masks: true
      mask_type: PNG_MASKS
    }
"""

from __future__ import annotations

from .labelmap import _escape

#: split name (lower case) -> the pipeline.config block that reads it
READER_OF_SPLIT = {"train": "train_input_reader", "training": "train_input_reader"}


def input_reader_config(input_path: str, label_map_path: str, *, masks: bool = False,
                        reader: str = "train_input_reader") -> str:
    """One ``*_input_reader { ... }`` block (a double-quoted, escaped protobuf text)."""
    lines = [
        f"{reader} {{",
        f'  label_map_path: "{_escape(label_map_path)}"',
        "  tf_record_input_reader {",
        f'    input_path: "{_escape(input_path)}"',
        "  }",
    ]
    if masks:
        lines += ["  load_instance_masks: true", "  mask_type: PNG_MASKS"]
    lines.append("}")
    return "\n".join(lines)


def reader_for_split(split: str | None) -> str:
    """``train_input_reader`` for a training split (or no split), ``eval_input_reader`` otherwise."""
    if split is None:
        return "train_input_reader"
    return READER_OF_SPLIT.get(split.lower(), "eval_input_reader")
