"""The one split-name table and the two-tags rule."""

from __future__ import annotations

import pytest

from picsellia_formats.errors import FormatError
from picsellia_formats.splits import SplitTagError, canonical_split, is_split_name, split_of, split_order


@pytest.mark.parametrize(("word", "canonical"), [
    ("train", "train"), ("Training", "train"), ("trainval", "trainval"), ("val", "val"), ("VALID", "val"),
    ("validation", "val"), ("eval", "val"), ("dev", "val"), ("test", "test"), ("testing", "test"),
    ("cat", None), ("", None),
])
def test_table(word: str, canonical: str | None) -> None:
    assert canonical_split(word) == canonical
    assert is_split_name(word) is (canonical is not None)


@pytest.mark.parametrize(("tags", "expected"), [
    ([], None), (["cat"], None), (["cat", "Train"], "Train"), (["val", "validation"], "val"),
    (["validation", "val"], "validation"),
])
def test_split_of(tags: list[str], expected: str | None) -> None:
    assert split_of(tags) == expected


@pytest.mark.parametrize("tags", [["train", "test"], ["trainval", "val"], ["cat", "valid", "testing"]])
def test_two_different_splits_are_an_error_naming_the_asset(tags: list[str]) -> None:
    with pytest.raises(SplitTagError, match=r"a\.json: asset 'x\.jpg': tags .* name different splits") as info:
        split_of(tags, asset="x.jpg", file="a.json")
    assert isinstance(info.value, FormatError)


def test_order() -> None:
    assert sorted(["zeta", "test", "valid", "train", "trainval", "alpha"], key=split_order) == [
        "train", "trainval", "valid", "test", "alpha", "zeta"]
