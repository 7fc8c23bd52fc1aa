"""A seeded mutator for annotation files: bytes, numbers, names, nesting and shapes.

Every mutation is a pure function of ``(data, rng)``, so a failing case is replayed from its seed
(`tests/fuzz/test_readers.py` prints it). The mutations are the red-team pass's (issue 19):
byte flips and cuts, huge and over-long numbers, NaN/inf, NUL and lone surrogates in names,
values over 64 bits, deep nesting, and documents of the wrong shape.

Example:
    >>> import random
    >>> out = mutate(b'{"a": [1, 2.5, "x"]}', "json", random.Random(1))
    >>> isinstance(out, bytes)
    True
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable

NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
#: replacements for a number in the text (JSON, XML, YOLO rows, YAML alike)
HOSTILE_NUMBERS: tuple[bytes, ...] = (
    b"9" * 4400,                      # over Python's 4,300-digit int limit
    b"1" + b"0" * 5000 + b".5",       # a float literal longer than any real one
    str(2**64 + 1).encode(),          # over 64 bits
    str(-(2**63) - 1).encode(),
    b"1e999", b"-1e999", b"1e-999",   # outside float
    b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf", b".inf", b"-.inf",
    b"0x10", b"1_000", b"\xd9\xa3",   # hex, underscores, an Arabic-Indic digit
    b"-0", b"4294967296", b"18446744073709551616", b"100000000",
)
#: pieces put inside a name or any text value
HOSTILE_TEXT: tuple[bytes, ...] = (
    b"\x00", b"\\u0000", b"\\ud800", b"\\udfff", b"\xed\xa0\x80", b"\xff\xfe", b"a/../../x",
    b"/etc/passwd", b"x" * 300, b"\xc3", b"&#0;", b"&#xD800;", b"\r\n", b"\t",
)


def _flip(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def _cut(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randint(1, 64):]


def _insert_bytes(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data) + 1)
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return data[:i] + junk + data[i:]


def _number(data: bytes, rng: random.Random) -> bytes:
    hits = list(NUMBER.finditer(data))
    if not hits:
        return _insert_bytes(data, rng)
    for m in rng.sample(hits, 1):
        return data[: m.start()] + rng.choice(HOSTILE_NUMBERS) + data[m.end():]
    return data


def _text(data: bytes, rng: random.Random) -> bytes:
    quotes = [m.start() + 1 for m in re.finditer(rb'"(?=[A-Za-z0-9_./-])|>(?=[A-Za-z0-9_./-])', data)]
    i = rng.choice(quotes) if quotes else rng.randrange(len(data) + 1)
    return data[:i] + rng.choice(HOSTILE_TEXT) + data[i:]


def _nest(data: bytes, rng: random.Random, kind: str) -> bytes:
    depth = rng.choice((200, 5000, 100_000))
    if kind == "json":
        at = [m.start() + 1 for m in re.finditer(rb":\s*", data)] or [0]
        i = rng.choice(at)
        return data[:i] + b"[" * depth + b"1" + b"]" * depth + b"," + data[i:] if i else b"[" * depth + b"]" * depth
    if kind == "xml":
        at = [m.end() for m in re.finditer(rb"<object>|<annotations>|<image[^>]*>", data)] or [0]
        i = rng.choice(at)
        return data[:i] + b"<a>" * depth + b"</a>" * depth + data[i:]
    return data + b"\n" + b"[" * depth + b"\n"


def _shape(data: bytes, rng: random.Random) -> bytes:
    """Parse the JSON and replace one node (or the whole document) by a value of another type."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return _flip(data, rng)
    others: list[object] = [None, 0, -1, 1.5, "", "x", [], {}, [[]], {"": None}, True, [None], 2**70,
                            float("nan"), float("inf"), "\ud800", "a\x00b", [1, 2, 3]]
    nodes: list[tuple[object, object]] = []

    def walk(node: object) -> None:
        if len(nodes) > 4000:
            return
        if isinstance(node, dict):
            for k in list(node):
                nodes.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for i in range(min(len(node), 30)):
                nodes.append((node, i))
                walk(node[i])

    walk(doc)
    if not nodes or rng.random() < 0.05:
        doc = rng.choice(others)
    else:
        for _ in range(rng.randint(1, 3)):
            parent, key = rng.choice(nodes)
            op = rng.random()
            try:
                if op < 0.7:
                    parent[key] = rng.choice(others)  # type: ignore[index]
                elif isinstance(parent, dict):
                    del parent[key]
                else:
                    parent[key] = [parent[key], parent[key]]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                pass
    try:
        text = json.dumps(doc, ensure_ascii=rng.random() < 0.5, allow_nan=True)
    except RecursionError:
        return _flip(data, rng)
    return text.encode("utf-8", "surrogatepass")


def _xml_shape(data: bytes, rng: random.Random) -> bytes:
    """Swap, drop or duplicate an element, or replace the root, without a parser."""
    tags = list(re.finditer(rb"<([A-Za-z_][\w.-]*)[^>]*>([^<]*)</\1>", data))
    if not tags or rng.random() < 0.05:
        return rng.choice((b"<root/>", b"<?xml version='1.0'?><annotation><object/></annotation>",
                           b"<annotations><image/></annotations>", b"<x>" + data + b"</x>"))
    m = rng.choice(tags)
    op = rng.random()
    if op < 0.3:
        return data[: m.start()] + data[m.end():]
    if op < 0.6:
        return data[: m.end()] + m.group(0) + data[m.end():]
    inner = rng.choice((b"", b"<b>1</b>", b"-5", b"abc", b"1e999", b"9" * 4400, b"\xed\xa0\x80"))
    return data[: m.start(2)] + inner + data[m.end(2):]


def _by_kind(kind: str) -> list[tuple[float, Callable[[bytes, random.Random], bytes]]]:
    common = [(3, _flip), (1, _truncate), (1, _cut), (1, _insert_bytes), (3, _number), (2, _text),
              (1, lambda d, r: _nest(d, r, kind))]
    if kind == "json":
        return [*common, (4, _shape)]
    if kind == "xml":
        return [*common, (3, _xml_shape)]
    return common


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """One or two mutations of `data` (a ``json``, ``xml`` or ``text`` file; ``binary`` only flips
    and cuts), chosen by `rng`."""
    if kind == "binary":
        ops = [(3, _flip), (1, _truncate), (1, _cut), (1, _insert_bytes)]
    else:
        ops = _by_kind(kind)
    weights = [w for w, _ in ops]
    for _ in range(1 if rng.random() < 0.7 else 2):
        if not data:
            break
        _, op = rng.choices(ops, weights)[0]
        data = op(data, rng)
    return data
