"""``tf.train.Example`` encoded and decoded by hand, byte-identical to TensorFlow.

A feature map is ``{key: (kind, values)}`` with ``kind`` one of ``"bytes"``, ``"float"``,
``"int64"``. `encode_example` writes exactly what TensorFlow's
``tf.train.Example(...).SerializeToString(deterministic=True)`` writes (protobuf on the upb
backend): map entries sorted by key bytes, a key that is a prefix of another after it; packed
float32 and int64 lists; floats rounded to float32 the way a C cast does (beyond the float32
range: infinity). `decode_example` reads any valid serialisation (packed or not, any order,
unknown fields skipped) and raises `ValueError` on anything else.

Example:
    >>> data = encode_example({"image/height": ("int64", [2]), "image/format": ("bytes", [b"png"])})
    >>> data.hex()[:40]
    '0a300a170a0c696d6167652f666f726d61741207'
    >>> decode_example(data)
    {'image/format': ('bytes', [b'png']), 'image/height': ('int64', [2])}
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import FormatError

Feature = tuple[str, Sequence[Any]]
KINDS = ("bytes", "float", "int64")

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_FLT_PACK = struct.Struct("<f").pack
_ORDER_CACHE: dict[tuple[str, ...], list[tuple[str, bytes]]] = {}
_PREFIX_CACHE: dict[str, bytes] = {}


def _varint(n: int) -> bytes:
    """Protobuf varint of a non-negative integer < 2**64."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


#: varints of 0 .. 16383 (lengths and small ints), looked up instead of computed
_VARINTS = tuple(_varint(i) for i in range(1 << 14))
_NV = 1 << 14


def _len(n: int) -> bytes:
    return _VARINTS[n] if n < _NV else _varint(n)


def _sort_key(key: bytes) -> tuple[int, ...]:
    # upb's deterministic map order: by bytes, but a key sorts *after* the keys it is a prefix of
    return (*key, 256)


def entry_prefix(key: str) -> bytes:
    """The bytes of a ``Features.feature`` map entry up to its value's length: ``0a len key 12``."""
    prefix = _PREFIX_CACHE.get(key)
    if prefix is None:
        kb = key.encode("utf-8")
        prefix = b"\x0a" + _len(len(kb)) + kb + b"\x12"
        if len(_PREFIX_CACHE) < 65536:
            _PREFIX_CACHE[key] = prefix
    return prefix


def _ordered_keys(keys: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """``(key, entry prefix)`` in upb's deterministic order."""
    order = _ORDER_CACHE.get(keys)
    if order is None:
        order = sorted(((k, entry_prefix(k)) for k in keys), key=lambda kp: _sort_key(kp[0].encode("utf-8")))
        if len(_ORDER_CACHE) < 4096:  # bounded: a few key sets repeat over a whole data set
            _ORDER_CACHE[keys] = order
    return order


def pack_floats(values: Sequence[float]) -> bytes:
    """Little-endian float32 of each value, rounded as C's ``(float)`` cast (out of range: ±inf)."""
    try:
        return struct.pack(f"<{len(values)}f", *values)
    except OverflowError:
        out = []
        for v in values:
            try:
                out.append(_FLT_PACK(v))
            except OverflowError:
                out.append(_FLT_PACK(math.copysign(math.inf, v)))
        return b"".join(out)


def _pack_ints(values: Sequence[int]) -> bytes:
    if not values:
        return b""
    if min(values) >= 0 and max(values) < 128:
        return bytes(values)
    parts = []
    for v in values:
        if not _INT64_MIN <= v <= _INT64_MAX:
            raise FormatError(f"int64 feature value out of range: {v}")
        parts.append(_len(v) if v >= 0 else _varint(v + (1 << 64)))
    return b"".join(parts)


def add_entry(pieces: list[bytes], prefix: bytes, kind: str, values: Sequence[Any]) -> int:
    """Append the pieces of one map entry (``Features.feature[key] = kind list of values``) to
    `pieces`, `prefix` being `entry_prefix` of the key; return the number of bytes appended."""
    if kind == "bytes":
        if len(values) == 1:  # the common scalar: no list of pieces to build
            v = values[0]
            n = len(v)
            vl = _VARINTS[n] if n < _NV else _varint(n)
            inner = 1 + len(vl) + n
            il = _VARINTS[inner] if inner < _NV else _varint(inner)
            flen = 1 + len(il) + inner
            fl = _VARINTS[flen] if flen < _NV else _varint(flen)
            elen = len(prefix) + len(fl) + flen
            el = _VARINTS[elen] if elen < _NV else _varint(elen)
            pieces += (b"\x0a", el, prefix, fl, b"\x0a", il, b"\x0a", vl, v)
            return 1 + len(el) + elen
        body = []
        inner = 0
        for v in values:
            n = len(v)
            vl = _VARINTS[n] if n < _NV else _varint(n)
            body += (b"\x0a", vl, v)
            inner += 1 + len(vl) + n
        il = _VARINTS[inner] if inner < _NV else _varint(inner)
        flen = 1 + len(il) + inner
        fl = _VARINTS[flen] if flen < _NV else _varint(flen)
        elen = len(prefix) + len(fl) + flen
        el = _VARINTS[elen] if elen < _NV else _varint(elen)
        pieces += (b"\x0a", el, prefix, fl, b"\x0a", il)
        pieces += body
        return 1 + len(el) + elen
    if kind == "float":
        packed = pack_floats(values)
        tag = b"\x12"
    elif kind == "int64":
        packed = _pack_ints(values)
        tag = b"\x1a"
    else:
        raise FormatError(f"feature kind must be one of {', '.join(KINDS)}, got {kind!r}")
    n = len(packed)
    if values:
        pl = _VARINTS[n] if n < _NV else _varint(n)
        inner = 1 + len(pl) + n
        il = _VARINTS[inner] if inner < _NV else _varint(inner)
        flen = 1 + len(il) + inner
        fl = _VARINTS[flen] if flen < _NV else _varint(flen)
        elen = len(prefix) + len(fl) + flen
        el = _VARINTS[elen] if elen < _NV else _varint(elen)
        pieces += (b"\x0a", el, prefix, fl, tag, il, b"\x0a", pl, packed)
    else:  # an empty packed list writes no inner field: `12 00` / `1a 00`
        elen = len(prefix) + 3
        el = _VARINTS[elen]
        pieces += (b"\x0a", el, prefix, b"\x02", tag, b"\x00")
    return 1 + len(el) + elen


def finish(pieces: list[bytes], body_len: int) -> bytes:
    """The serialised Example whose map entries are `pieces` (`body_len` bytes in all)."""
    return b"".join([b"\x0a", _len(body_len), *pieces])


def encode_feature(kind: str, values: Sequence[Any]) -> bytes:
    """The serialised ``tf.train.Feature`` holding `values` as a `kind` list."""
    pieces: list[bytes] = []
    add_entry(pieces, b"", kind, values)
    data = b"".join(pieces)
    _, pos = _read_varint(data, 1, len(data))  # skip the entry header and the feature's length
    _, pos = _read_varint(data, pos, len(data))
    return data[pos:]


def encode_example(features: Mapping[str, Feature]) -> bytes:
    """Serialise a feature map as TensorFlow's ``SerializeToString(deterministic=True)`` does.

    Bytes values must be ``bytes`` (encode text first); int64 values within int64.

    Example:
        >>> encode_example({"a": ("float", [])}).hex()
        '0a090a070a016112021200'
    """
    pieces: list[bytes] = []
    total = 0
    for key, prefix in _ordered_keys(tuple(features)):
        kind, values = features[key]
        total += add_entry(pieces, prefix, kind, values)
    return finish(pieces, total)


# ---------------------------------------------------------------------------------------------- decode


def _read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise FormatError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            if shift >= 63 and result >= 1 << 64:
                raise FormatError("varint longer than 64 bits")
            return result, pos
        shift += 7
        if shift >= 70:
            raise FormatError("varint longer than 10 bytes")


def _fields(data: bytes, pos: int, end: int):
    """Yield ``(field number, wire type, value)``: an int for varints, ``(start, stop)`` for
    length-delimited fields, raw bytes for fixed32/fixed64."""
    while pos < end:
        tag, pos = _read_varint(data, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise FormatError("field number 0")
        if wire == 0:
            value, pos = _read_varint(data, pos, end)
            yield number, wire, value
        elif wire == 2:
            size, pos = _read_varint(data, pos, end)
            if size > end - pos:
                raise FormatError("length-delimited field runs past the end")
            yield number, wire, (pos, pos + size)
            pos += size
        elif wire == 5:
            if pos + 4 > end:
                raise FormatError("truncated fixed32")
            yield number, wire, data[pos:pos + 4]
            pos += 4
        elif wire == 1:
            if pos + 8 > end:
                raise FormatError("truncated fixed64")
            yield number, wire, data[pos:pos + 8]
            pos += 8
        else:
            raise FormatError(f"unsupported wire type {wire}")


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _decode_list(data: bytes, start: int, stop: int, kind: str, values: list[Any]) -> None:
    for number, wire, value in _fields(data, start, stop):
        if number != 1:
            continue
        if kind == "bytes":
            if wire != 2:
                raise FormatError("bytes_list value is not length-delimited")
            values.append(data[value[0]:value[1]])
        elif kind == "float":
            if wire == 2:
                a, b = value
                if (b - a) % 4:
                    raise FormatError("packed float_list length is not a multiple of 4")
                values.extend(struct.unpack_from(f"<{(b - a) // 4}f", data, a))
            elif wire == 5:
                values.append(struct.unpack("<f", value)[0])
            else:
                raise FormatError("float_list value has the wrong wire type")
        else:
            if wire == 2:
                a, b = value
                while a < b:
                    v, a = _read_varint(data, a, b)
                    values.append(_signed(v))
            elif wire == 0:
                values.append(_signed(value))
            else:
                raise FormatError("int64_list value has the wrong wire type")


def _decode_feature(data: bytes, start: int, stop: int) -> Feature:
    kind: str | None = None
    values: list[Any] = []
    for number, wire, value in _fields(data, start, stop):
        if 1 <= number <= 3:
            if wire != 2:
                raise FormatError("feature list is not length-delimited")
            new_kind = KINDS[number - 1]
            if new_kind != kind:  # a oneof: the last kind set wins
                kind, values = new_kind, []
            _decode_list(data, value[0], value[1], kind, values)
    return (kind or "none", values)


def decode_example(data: bytes) -> dict[str, Feature]:
    """The feature map of a serialised ``tf.train.Example``; ValueError if it is not one.

    A feature with no list set has kind ``"none"``. Keys are decoded as UTF-8.
    """
    data = bytes(data)
    out: dict[str, Feature] = {}
    end = len(data)
    for number, wire, value in _fields(data, 0, end):
        if number != 1:
            continue
        if wire != 2:
            raise FormatError("Example.features is not length-delimited")
        for fnum, fwire, entry in _fields(data, value[0], value[1]):
            if fnum != 1:
                continue
            if fwire != 2:
                raise FormatError("Features.feature entry is not length-delimited")
            key = b""
            feature: Feature = ("none", [])
            for enum, ewire, evalue in _fields(data, entry[0], entry[1]):
                if ewire != 2 or enum not in (1, 2):
                    if enum in (1, 2):
                        raise FormatError("feature map entry field has the wrong wire type")
                    continue
                if enum == 1:
                    key = data[evalue[0]:evalue[1]]
                else:
                    feature = _decode_feature(data, evalue[0], evalue[1])
            try:
                name = key.decode("utf-8")
            except UnicodeDecodeError:
                raise FormatError(f"feature key {key!r} is not UTF-8") from None
            out[name] = feature
    return out
