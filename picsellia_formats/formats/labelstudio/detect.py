"""Recognise a Label Studio JSON export: a task list (or one task) with ``data`` and ``annotations``.

Example:
    >>> detect(Path("fixtures/labelstudio/export_obb/data_obb.json"))[0]
    0.9
"""

from __future__ import annotations

import re
from pathlib import Path

from .._json_files import detect_file_or_folder, json_head, resolve_file_or_folder

_TASK_KEYS = re.compile(rb'"(annotations|predictions|completions)"\s*:\s*\[')
_DATA = re.compile(rb'"data"\s*:\s*\{')


def sniff(path: Path) -> tuple[float, str]:
    """Confidence that one .json file is a Label Studio export, from its head."""
    head, why = json_head(path, 1 << 16)
    if head is None:
        return 0.0, why
    head = head.lstrip()
    if head[:1] not in (b"[", b"{"):
        return 0.0, "not a JSON list or object"
    if not (_TASK_KEYS.search(head) and _DATA.search(head)):
        return 0.0, "no task with 'data' and 'annotations'/'predictions'"
    if head[:1] == b"[":
        return 0.9, "Label Studio JSON export (task list with data and annotations)"
    if b'"images"' in head or b'"categories"' in head:
        return 0.0, "a JSON object with images/categories (COCO-like)"
    return 0.7, "one Label Studio task (data and annotations)"


def detect(path: Path) -> tuple[float, str]:
    return detect_file_or_folder(path, sniff, "Label Studio")


def resolve(path: Path) -> Path:
    return resolve_file_or_folder(path, sniff, "Label Studio")
