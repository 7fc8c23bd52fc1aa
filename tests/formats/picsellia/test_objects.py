"""The shape -> object parser of the Picsellia JSON reader: multi-part polygons, undeclared labels, bad shapes."""

from __future__ import annotations

import pytest

from picsellia_formats.formats.picsellia.objects import ObjectReader, Presence
from picsellia_formats.formats.picsellia.parse import Bad
from picsellia_formats.model import Asset

SQUARE = [{"x": 0, "y": 0}, {"x": 4, "y": 0}, {"x": 4, "y": 4}, {"x": 0, "y": 4}]


def _read(shapes: list, labels: set[str] | None = None) -> tuple[Asset, ObjectReader]:
    objects = ObjectReader(Presence(), set(labels or ()), [])
    asset = Asset("a.jpg")
    objects.read(shapes, asset, "annotations[0]")
    return asset, objects


def test_parts_join_into_one_object_and_undeclared_labels_are_listed_once() -> None:
    asset, objects = _read([
        {"type": "polygon", "label": "lake", "polygon": {"geometry": SQUARE}, "part": 0},
        {"type": "polygon", "label": "lake", "polygon": {"geometry": SQUARE}, "part": 1},
        {"type": "point", "label": "tree", "point": {"x": 1, "y": 2}},
    ], labels={"tree"})
    assert [a.kind for a in asset.annotations] == ["polygon", "point"]
    assert len(asset.annotations[0].polygon) == 2
    assert asset.annotations[0].extra == {}  # the part marker is dropped once a second part joins
    assert objects.undeclared == ["lake"] and objects.label_names == {"lake", "tree"}


@pytest.mark.parametrize(("shapes", "message"), [
    ([{"type": "circle", "label": "x"}], "is not one of"),
    ([{"type": "point", "label": 3, "point": {"x": 1, "y": 2}}], "label must be a string"),
    ([{"type": "polygon", "label": "x", "polygon": {"geometry": SQUARE}, "part": 1}], "does not follow"),
    ([{"type": "rectangle", "label": "x"}], "lacks its 'rectangle' object"),
    (["not a shape"], "must be a shape object"),
])
def test_bad_shapes_name_the_shape(shapes: list, message: str) -> None:
    with pytest.raises(Bad, match=message) as info:
        _read(shapes)
    assert str(info.value).startswith("annotations[0]")
