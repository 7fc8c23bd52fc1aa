"""The VOC reader fed mutated real files: it reads them or raises FormatError, nothing else.

Whatever it accepts, the writer writes, the reader reads back, and a second write gives the same
bytes as the first (the writer's output is a fixed point of read + write).
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import picsellia_formats as pf
from tests.conftest import FIXTURES

SOURCES = {p.name: p.read_bytes() for p in [
    *sorted((FIXTURES / "raccoon_voc" / "annotations").glob("raccoon-1*.xml"))[:4],
    *sorted((FIXTURES / "voc_toy_cats" / "gts_vocpascal_format").glob("*.xml")),
]}
TOKENS = [b"<", b">", b"</", b"/>", b"&", b"&amp;", b"&#0;", b"\x00", b"\xff", b"-1", b"1e309", b"nan", b"3.5",
          b"<object>", b"</object>", b"<name>dog</name>", b"<bndbox>", b"<xmin>2</xmin>", b"<size>",
          b"<attributes><attribute><name>k</name><value>v</value></attribute></attributes>", b"\r\n",
          "é".encode(), b"<![CDATA[x]]>", b"<!-- c -->", b"<?pi x?>", b' a="1"', b"<!DOCTYPE a>",
          b'<object id="1">', b'<bndbox k="v">', b"<name>a</name><part><name>hand</name></part>"]


def _read_write_read(data: bytes, tmp: Path) -> None:
    src = tmp / "mutated.xml"
    src.write_bytes(data)
    try:
        ds = pf.read(src, "voc")
    except pf.FormatError as exc:
        assert str(src) in str(exc)
        return
    out1 = tmp / "out1"
    pf.write(ds, out1, "voc")
    again = pf.read(out1, "voc")
    assert again.num_annotations == ds.num_annotations
    out2 = tmp / "out2"
    pf.write(again, out2, "voc")
    files1 = sorted(p.name for p in out1.iterdir() if p.suffix == ".xml")
    assert files1 == sorted(p.name for p in out2.iterdir() if p.suffix == ".xml")
    for name in files1:
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes()
    if data in SOURCES.values():
        assert (out1 / files1[0]).read_bytes() == data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(SOURCES)), data=st.data())
def test_byte_mutations(name: str, data: st.DataObject, tmp_path: Path) -> None:
    raw = bytearray(SOURCES[name])
    for _ in range(data.draw(st.integers(0, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate", "token"]))
        if op == "flip":
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[pos:pos + data.draw(st.integers(1, 20))]
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
        elif op == "token":
            raw[pos:pos] = data.draw(st.sampled_from(TOKENS))
        else:
            del raw[pos:]
        if not raw:
            raw = bytearray(b"<")
    _read_write_read(bytes(raw), tmp_path)


_ELEMENT = re.compile(rb"<(\w+)>[^<]*</\1>")
_OPENING = re.compile(rb"<(\w+)>")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(SOURCES)), data=st.data())
def test_element_mutations(name: str, data: st.DataObject, tmp_path: Path) -> None:
    """Leaf elements dropped, duplicated, renamed or given another text; XML attributes added."""
    raw = SOURCES[name]
    for _ in range(data.draw(st.integers(1, 3))):
        if data.draw(st.booleans()):
            m = data.draw(st.sampled_from(list(_OPENING.finditer(raw))))
            attr = data.draw(st.sampled_from([b' a="1"', b' id="x&amp;y"', b" k='v'", b' verified="yes"']))
            raw = raw[:m.end() - 1] + attr + raw[m.end() - 1:]
            continue
        leaves = list(_ELEMENT.finditer(raw))
        m = data.draw(st.sampled_from(leaves))
        tag = m.group(1)
        op = data.draw(st.sampled_from(["drop", "duplicate", "rename", "text"]))
        if op == "drop":
            new = b""
        elif op == "duplicate":
            new = m.group(0) * 2
        elif op == "rename":
            other = data.draw(st.sampled_from([b"name", b"xmin", b"width", b"pose", b"difficult", b"foo",
                                               b"filename", b"object", b"size"]))
            new = m.group(0).replace(b"<" + tag + b">", b"<" + other + b">").replace(
                b"</" + tag + b">", b"</" + other + b">")
        else:
            text = data.draw(st.text(alphabet="0123456789.-e abc<&é", max_size=6))
            new = b"<" + tag + b">" + text.encode() + b"</" + tag + b">"
        raw = raw[:m.start()] + new + raw[m.end():]
    _read_write_read(raw, tmp_path)
