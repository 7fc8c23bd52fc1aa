"""The COCO reader fed mutated real files: it reads them or raises FormatError, nothing else.

Two kinds of mutation: raw bytes (flips, cuts, insertions) and structural (any node of the
parsed document replaced by another JSON value). Whatever the reader accepts, the writer must
write and pycocotools-style re-reading must accept.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import picsellia_formats as pf
from tests.conftest import COCO_INSTANCE_FILES, COCO_RESULT_FILES

SMALL_FILES = [p for p in [*COCO_INSTANCE_FILES, *COCO_RESULT_FILES] if p.stat().st_size < 120_000]
SOURCES = {p.name: p.read_bytes() for p in SMALL_FILES}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=8,
)


def _read_then_write(data: bytes, tmp: Path) -> None:
    src = tmp / "mutated.json"
    src.write_bytes(data)
    try:
        ds = pf.read(src, "coco")
    except pf.FormatError as exc:
        assert str(src) in str(exc)
        return
    out = tmp / "out.json"
    pf.write(ds, out, "coco", overwrite=True)
    pf.read(out, "coco")


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:6]):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(SOURCES)), data=st.data())
def test_byte_mutations(name: str, data: st.DataObject, tmp_path: Path) -> None:
    raw = bytearray(SOURCES[name])
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if op == "flip":
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[pos:pos + data.draw(st.integers(1, 20))]
        elif op == "insert":
            raw[pos:pos] = data.draw(st.sampled_from([b"NaN", b"-1", b"null", b"[]", b"{}", b'"x"', b",", b"1e999"]))
        else:
            del raw[pos:]
        if not raw:
            raw = bytearray(b"{")
    _read_then_write(bytes(raw), tmp_path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(SOURCES)), data=st.data())
def test_structural_mutations(name: str, data: st.DataObject, tmp_path: Path) -> None:
    doc = orjson.loads(SOURCES[name])
    paths = list(_paths(doc))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        value = data.draw(json_values | st.sampled_from([float("nan"), float("inf"), -1, 0, [], {}]))
        if not path:
            doc = value
            break
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    _read_then_write(json.dumps(doc).encode(), tmp_path)
