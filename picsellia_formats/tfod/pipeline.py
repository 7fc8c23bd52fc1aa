"""The ``*_input_reader`` blocks of an OD API ``pipeline.config`` that read what we wrote.

A training split (``train``, ``trainval`` and their aliases in `splits`) is read by
``train_input_reader``; ``val`` and ``test`` by an ``eval_input_reader`` (``eval_input_reader`` is
a repeated field: the first one is what ``model_main_tf2.py`` evaluates, so val comes before test).

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
    >>> reader_for_split("Validation"), reader_for_split("trainval"), reader_for_split("night")
    ('eval_input_reader', 'train_input_reader', None)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..splits import canonical_split, split_order
from .labelmap import escape_text

TRAIN_READER = "train_input_reader"
EVAL_READER = "eval_input_reader"
#: canonical split -> the pipeline.config block that reads it
READER_OF_SPLIT = {"train": TRAIN_READER, "trainval": TRAIN_READER, "val": EVAL_READER, "test": EVAL_READER}


def input_reader_config(input_path: str, label_map_path: str, *, masks: bool = False,
                        reader: str = TRAIN_READER) -> str:
    """One ``*_input_reader { ... }`` block (a double-quoted, escaped protobuf text)."""
    lines = [
        f"{reader} {{",
        f'  label_map_path: "{escape_text(label_map_path)}"',
        "  tf_record_input_reader {",
        f'    input_path: "{escape_text(input_path)}"',
        "  }",
    ]
    if masks:
        lines += ["  load_instance_masks: true", "  mask_type: PNG_MASKS"]
    lines.append("}")
    return "\n".join(lines)


def reader_for_split(split: str | None) -> str | None:
    """``train_input_reader`` for a training split, ``eval_input_reader`` for val and test, None for
    anything else (no split, or a name that is no split)."""
    canonical = canonical_split(split) if split else None
    return READER_OF_SPLIT.get(canonical) if canonical else None


def pipeline_fragment(record_sets: Iterable[Mapping[str, Any]], label_map_path: str, *, masks: bool = False
                      ) -> str:
    """The input readers of several record sets (``{"split", "input_path", "records"}`` each, as
    `write_tfrecords` puts them in ``report.stats["record_sets"]``), train first, then val, test.

    A set that no reader takes (no split, or not a split name) is named in a comment only.

    Example:
        >>> sets = [{"split": "val", "input_path": "v.record", "records": 2},
        ...         {"split": "train", "input_path": "t.record", "records": 8}]
        >>> [line for line in pipeline_fragment(sets, "lm.pbtxt").splitlines() if line.startswith(("train", "eval"))]
        ['train_input_reader {', 'eval_input_reader {']
    """
    blocks = []
    ordered = sorted(record_sets, key=lambda s: split_order(s.get("split") or "~"))
    for record_set in ordered:
        split = record_set.get("split")
        reader = reader_for_split(split)
        count = f"{record_set.get('records', 0):,} images"
        if reader is None:
            blocks.append(f"# {split or 'no split'}: {count} in {record_set['input_path']} "
                          "(not a train, val or test split: no input reader)")
            continue
        blocks.append(f"# {split}: {count}\n"
                      + input_reader_config(str(record_set["input_path"]), label_map_path, masks=masks, reader=reader))
    return "\n".join(blocks) + "\n"
