"""Mutated real COCO files: validate returns a report or raises FormatError, nothing else; fix never fails."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picsellia_formats.errors import FormatError
from picsellia_formats.validation import fix, validate
from tests.conftest import FIXTURES

SOURCE = json.loads((FIXTURES / "sahi_coco" / "coco_utils" / "combined_coco.json").read_text())
VALUES = st.one_of(st.just(math.nan), st.just(math.inf), st.just(-1), st.just(0), st.just(1e12), st.none(),
                   st.just("x"), st.just([]), st.just([1, 2]), st.just({}), st.integers(-5, 5),
                   st.floats(-1e4, 1e4, allow_nan=False))


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:12]):
            out += _paths(v, (*prefix, i))
    return out


PATHS = [p for p in _paths(SOURCE) if p[0] in ("images", "annotations", "categories")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=4))
def test_mutated_coco_validates_or_is_unreadable(tmp_path_factory, edits) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(json.dumps(SOURCE))
    for path, value in edits:
        node = doc
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue
    folder: Path = tmp_path_factory.mktemp("fuzz")
    src = folder / "a.json"
    src.write_text(json.dumps(doc, allow_nan=True))
    try:
        report = validate(src, FIXTURES / "sahi_coco" / "coco_utils", format="coco", workers=0)
    except FormatError:
        return
    fixed, _ = fix(report)
    validate(fixed, FIXTURES / "sahi_coco" / "coco_utils", workers=0)
