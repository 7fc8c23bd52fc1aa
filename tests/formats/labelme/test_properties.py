"""Hypothesis: generated LabelMe files come back JSON-equal through our reader and writer, and the reader
fed mutated real files (bytes or JSON nodes) reads them or raises a FormatError naming the file."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import picsellia_formats as pf
from tests.formats.labelme.test_read import LABELME_FILES

coord = st.one_of(st.integers(-5000, 5000), st.floats(-5000, 5000, allow_nan=False, allow_infinity=False))
point = st.lists(coord, min_size=2, max_size=2)
# no NUL: refused in any name by every reader (issue 19 item 14)
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1,
                max_size=6)
N_POINTS = {"rectangle": (2, 2), "circle": (2, 2), "point": (1, 1), "line": (2, 2), "linestrip": (2, 6),
            "polygon": (3, 8), "points": (1, 5)}


@st.composite
def shapes(draw: st.DrawFn) -> dict[str, Any]:
    shape_type = draw(st.sampled_from(sorted(N_POINTS)))
    lo, hi = N_POINTS[shape_type]
    shape: dict[str, Any] = {
        "label": draw(names),
        "points": draw(st.lists(point, min_size=lo, max_size=hi)),
        "group_id": draw(st.none() | st.integers(0, 3)),
        "description": draw(st.sampled_from(["", None, "note"])),
        "shape_type": shape_type,
        "flags": draw(st.dictionaries(st.sampled_from(["occluded", "truncated"]), st.booleans(), max_size=2)),
        "mask": None,
    }
    if draw(st.booleans()):
        shape["score"] = draw(st.floats(0, 1))
    if draw(st.booleans()):
        shape["other"] = draw(st.integers(-(2**63), 2**63 - 1))  # beyond 64 bits is refused (issue 19)
    if draw(st.booleans()):  # another tool's key order, or labelme 4's keys
        keys = draw(st.permutations(list(shape)))
        shape = {k: shape[k] for k in keys if k not in ("mask", "description") or draw(st.booleans())}
    return shape


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": draw(st.sampled_from(["4.5.6", "5.5.0"])),
        "flags": draw(st.dictionaries(names, st.booleans(), max_size=3)),
        "shapes": draw(st.lists(shapes(), max_size=6)),
        "imagePath": draw(st.sampled_from(["a.jpg", "../images/a.jpg", "sub\\a.png", "x/../b.jpg"])),
        "imageData": draw(st.sampled_from([None, ""])),
        "imageHeight": draw(st.none() | st.integers(1, 4000)),
        "imageWidth": draw(st.none() | st.integers(1, 4000)),
    }
    if draw(st.booleans()):
        doc["lineColor"] = [0, 255, 0, 128]
    if draw(st.booleans()):
        doc = {k: doc[k] for k in draw(st.permutations(list(doc)))}
    return doc


@settings(max_examples=200, deadline=None)
@given(docs=st.lists(documents(), min_size=1, max_size=3))
def test_generated_files_come_back_json_equal(docs: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "src", Path(tmp) / "out"
        for i, doc in enumerate(docs):
            p = src / f"d{i}" / f"f{i}.json"
            p.parent.mkdir(parents=True)
            p.write_text(json.dumps(doc))
        report = pf.Report()
        ds = pf.read(src, "labelme", report=report)
        pf.write(ds, out, "labelme", report=report)
        assert not report.lossy
        written = {p.relative_to(out).as_posix(): json.loads(p.read_text()) for p in out.rglob("[!.]*.json")}
        assert written == {f"d{i}/f{i}.json": doc for i, doc in enumerate(docs)}


SOURCES = {p.name: p.read_bytes() for p in LABELME_FILES}


def _read_or_named_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "mutated.json"
        src.write_bytes(data)
        try:
            ds = pf.read(src, "labelme")
        except pf.FormatError as exc:
            assert str(src) in str(exc)
            return
        pf.write(ds, Path(tmp) / "out", "labelme")
        pf.read(Path(tmp) / "out", "labelme")


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(SOURCES)), data=st.data())
def test_byte_mutations(name: str, data: st.DataObject) -> None:
    raw = bytearray(SOURCES[name])
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if op == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del raw[pos:pos + data.draw(st.integers(1, 20))]
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del raw[pos:]
        if not raw:
            raw = bytearray(b" ")
    _read_or_named_error(bytes(raw))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Any:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:4]):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(SOURCES)), data=st.data())
def test_structural_mutations(name: str, data: st.DataObject) -> None:
    doc = json.loads(SOURCES[name])
    where = data.draw(st.sampled_from(list(_paths(doc))))
    value = data.draw(json_values)
    if not where:
        doc = value
    else:
        node = doc
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
    _read_or_named_error(json.dumps(doc).encode())
