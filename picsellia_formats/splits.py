"""The one table of split names (train / val / test and their aliases) and the rule for split tags.

Every format that reads split folders or writes per-split sets, and the split itself, ask this
module; nothing else lists split words. Names compare case-insensitively.

One rule for an asset carrying several split tags: tags that name the same split (``val`` and
``validation``) are one split, the first tag as written; tags that name different splits
(``train`` and ``test``) are an error naming the asset and the tags, never a silent pick.

Example:
    >>> canonical_split("Validation")
    'val'
    >>> split_of(["cat", "valid"])
    'valid'
    >>> sorted(["test", "train", "val"], key=split_order)
    ['train', 'val', 'test']
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import FormatError

#: Every word taken for a split (lower case) -> the split it means.
SPLIT_NAMES: dict[str, str] = {
    "train": "train", "training": "train",
    "trainval": "trainval",
    "val": "val", "valid": "val", "validation": "val", "eval": "val", "evaluation": "val", "dev": "val",
    "test": "test", "testing": "test",
}
#: Canonical splits in their conventional order.
CANONICAL_ORDER = ("train", "trainval", "val", "test")
_RANK = {name: i for i, name in enumerate(CANONICAL_ORDER)}


class SplitTagError(FormatError):
    """An asset carries tags naming two different splits."""


def canonical_split(name: str) -> str | None:
    """The split a word names (``train``, ``trainval``, ``val`` or ``test``), or None."""
    return SPLIT_NAMES.get(name.lower())


def is_split_name(name: str) -> bool:
    """Whether `name` (any case) names a split."""
    return name.lower() in SPLIT_NAMES


def split_order(name: str) -> tuple[int, str]:
    """Sort key: train, trainval, val, test, then any other name alphabetically."""
    canonical = canonical_split(name)
    return (_RANK[canonical] if canonical else len(_RANK), name)


def split_of(tags: Iterable[str], *, asset: str | None = None, file: str | None = None) -> str | None:
    """The split tag of an asset (as written), None without one.

    Raises SplitTagError naming the asset and the tags when they name different splits.
    """
    found = [t for t in tags if t.lower() in SPLIT_NAMES]
    if not found:
        return None
    if len({SPLIT_NAMES[t.lower()] for t in found}) > 1:
        record = f"asset {asset!r}" if asset is not None else None
        raise SplitTagError(f"tags {found} name different splits; keep one split tag per asset",
                            file=file, record=record)
    return found[0]
