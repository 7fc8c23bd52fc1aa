"""What every writer shares: the byte and JSON output helpers.

Example:
    >>> import io
    >>> f = io.BytesIO()
    >>> write_json_array(f, chunks(iter([{"a": 1}, {"a": 2}]), size=1))
    >>> f.getvalue()
    b'[{"a":1},{"a":2}]'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def write_bytes(path: str, data: bytes) -> None:
    """One file in one open/write/close, without the buffered-io layer (100k small files)."""
    fd = os.open(path, _CREATE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def dumps(value: Any) -> bytes:
    """orjson, or the standard library for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def chunks(items: Iterator[dict[str, Any]], size: int = 20000) -> Iterator[list[dict[str, Any]]]:
    """`items` in lists of `size` (the last one shorter)."""
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_json_array(f: BinaryIO, batches: Iterator[list[dict[str, Any]]]) -> None:
    """Stream a JSON array batch by batch (bounded memory on the output side)."""
    write = f.write
    write(b"[")
    first = True
    for batch in batches:
        if batch:
            if not first:
                write(b",")
            write(memoryview(dumps(batch))[1:-1])  # the batch's items without its brackets, not copied
            first = False
    write(b"]")
