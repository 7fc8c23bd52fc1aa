"""The split: deal a dataset's images into train/val/test (any names) balanced by object counts.

`problem` states it (per-class object counts, targets, floors), `greedy` solves any size fast,
`exact` solves small sets as a mixed-integer program (HiGHS), `result` holds and reports the
assignment, `run` is the entry point. Importing this package is light: numpy and scipy load when
`split` runs; `SplitResult` lives in `picsellia_formats.stratify.result`.

Example:
    >>> from picsellia_formats.stratify import normalise_ratios
    >>> normalise_ratios({"train": 0.75, "val": 0.25})
    (['train', 'val'], [0.75, 0.25])
"""

from __future__ import annotations

from .run import AUTO_EXACT_MAX, AUTO_NODE_LIMIT, METHODS, normalise_ratios, split, split_table

__all__ = ["AUTO_EXACT_MAX", "AUTO_NODE_LIMIT", "METHODS", "normalise_ratios", "split", "split_table"]
