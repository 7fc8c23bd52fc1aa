"""schema."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from .._json_files import detect_file_or_folder, read_head

NAME = "picsellia"
#: Shape types; the first three are the platform's documented ones, line and point its legacy
#: label tools, mask and keypoints our documented extensions.
SHAPE_TYPES = ("rectangle", "polygon", "classification", "line", "point", "mask", "keypoints")
TYPE_OF_KIND = {"box": "rectangle", "polygon": "polygon", "classification": "classification",
                "line": "line", "point": "point", "mask": "mask", "keypoints": "keypoints"}
KIND_OF_TYPE = {t: k for k, t in TYPE_OF_KIND.items()}
#: Geometry keys in `Annotation.kind` precedence: a shape of one type may also carry the
#: geometries ranked after its own (e.g. the box a COCO file stated beside a polygon).
GEOMETRY_KEYS = ("mask", "polygon", "keypoints", "line", "point", "rectangle")
RANK = {key: i for i, key in enumerate(GEOMETRY_KEYS)}
RANK["classification"] = len(GEOMETRY_KEYS)
FLAG_KEYS = ("is_accepted", "is_reviewed", "is_skipped")
#: `Asset.status` -> (is_accepted, is_reviewed, is_skipped).
STATUS_FLAGS = {
    "PENDING": (False, False, False),
    "SKIPPED": (False, False, True),
    "ACCEPTED": (True, True, False),
    "REFUSED": (False, True, False),
}
SHAPE_KEYS = frozenset(("type", "label", "qa", "id", "part", "attributes", "score", "iscrowd", "area",
                         *GEOMETRY_KEYS))
EXTENSION_KEYS = frozenset(("id", "attributes", "score", "iscrowd", "area"))
ATTR = {"rectangle": "box", "polygon": "polygon", "mask": "mask", "keypoints": "keypoints", "line": "line",
         "point": "point"}
MISSING = object()
CONTINUATION_KEYS = frozenset(("type", "label", "polygon", "part", "id", "qa"))
RECORD_KEYS = frozenset(("internal_picture_id", "external_picture_url", "nb_labels", "time_spent",
                          "annotations", "image_qa", *FLAG_KEYS))
IMAGE_KEYS = frozenset(("internal_picture_id", "external_picture_url", "width", "height", "tags",
                         "metadata"))
CATEGORY_KEYS = frozenset(("name", "group", "keypoints", "skeleton"))
QA_KEYS = frozenset(("type", "question", "answer", "choices", "min", "max"))
TOP_KEYS = ("images", "annotations", "categories")
JOIN_KEYS = ("internal_picture_id", "external_picture_url")
#: optional keys written even when empty, for files that do not say otherwise
DEFAULT_ALWAYS: dict[str, tuple[str, ...]] = {
    "image": (),
    "record": ("internal_picture_id", "external_picture_url", "nb_labels"),
    **{t: ("qa",) for t in SHAPE_TYPES if t != "classification"},
    "classification": (),
}
NUMS = frozenset((int, float))
isfinite = math.isfinite
flatten = chain.from_iterable
XY = itemgetter("x", "y")


def status_from_flags(flags: Mapping[str, Any]) -> str | None:
    """The `Asset.status` that review flags stand for (None when no flag is given).

    Skipped wins, then accepted, then reviewed (= refused); no true flag is PENDING.

    Example:
        >>> status_from_flags({"is_accepted": False, "is_reviewed": True, "is_skipped": False})
        'REFUSED'
        >>> status_from_flags({"is_accepted": True}), status_from_flags({})
        ('ACCEPTED', None)
    """
    if not any(k in flags for k in FLAG_KEYS):
        return None
    if flags.get("is_skipped"):
        return "SKIPPED"
    if flags.get("is_accepted"):
        return "ACCEPTED"
    if flags.get("is_reviewed"):
        return "REFUSED"
    return "PENDING"


def flags_of_status(status: str) -> dict[str, bool]:
    """The three review flags written for `status` (one of ``model.STATUSES``).

    Example:
        >>> flags_of_status("ACCEPTED")
        {'is_accepted': True, 'is_reviewed': True, 'is_skipped': False}
    """
    accepted, reviewed, skipped = STATUS_FLAGS[status]
    return {"is_accepted": accepted, "is_reviewed": reviewed, "is_skipped": skipped}


# --------------------------------------------------------------------------------------------- detect

_SHAPE_TYPE_RE = re.compile(rb'"type"\s*:\s*"(?:rectangle|polygon|classification|line|point|mask|keypoints)"')


def sniff(path: Path) -> tuple[float, str]:
    """Look at the head of a JSON file for Picsellia's keys (no full parse)."""
    if path.suffix.lower() != ".json":
        return 0.0, f"{path.name} is not a .json file"
    head = read_head(path)
    if not head.lstrip().startswith(b"{"):
        return 0.0, "not a JSON object"
    if b'"external_picture_url"' in head or b'"internal_picture_id"' in head:
        return 0.95, "has Picsellia picture keys (external_picture_url / internal_picture_id)"
    if b'"annotations"' in head and b'"label"' in head and _SHAPE_TYPE_RE.search(head):
        if b'"image_id"' in head and b'"category_id"' in head:
            return 0.0, "typed shapes beside COCO image_id/category_id"
        return 0.7, "has per-image annotation lists of typed shapes (rectangle, polygon, ...)"
    return 0.0, "no Picsellia keys (external_picture_url, internal_picture_id, typed shapes) in its head"


def detect(path: Path) -> tuple[float, str]:
    """Confidence that `path` (a .json file, or a folder holding exactly one) is Picsellia JSON."""
    return detect_file_or_folder(path, sniff, "Picsellia")


