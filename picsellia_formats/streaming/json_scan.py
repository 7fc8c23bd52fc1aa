"""Walk a big JSON object file without loading it: top-level members, and arrays of objects in chunks.

A top-level array of objects (COCO's ``images``, ``annotations``) is cut into chunks of a few MiB at
element boundaries and each chunk is parsed by orjson at full speed, so memory is one chunk whatever the
file size. A boundary is a ``}`` followed by ``,`` (or the closing ``]``); a candidate is kept only if
``[`` + chunk + ``]`` parses, which cannot happen when the cut falls inside an element or a string, so
nested objects and braces in strings are safe (a wrong candidate costs one failed parse).

Example:
    >>> import json, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.json")
    >>> _ = open(p, "w").write(json.dumps({"info": {"v": 1}, "items": [{"a": i} for i in range(5)]}))
    >>> with JsonFile(p, chunk_size=24) as jf:
    ...     for key, off in jf.members():
    ...         if key == "items":
    ...             print([len(chunk) for chunk, _, _ in jf.array_chunks(off)])
    ...         else:
    ...             print(key, jf.value(off))
    info {'v': 1}
    [2, 2, 1]
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ..errors import FormatError

_WS = b" \t\r\n"
CHUNK_SIZE = 1 << 22
_decoder = json.JSONDecoder()


class Decode:
    """How `JsonFile.array_chunks` parses a chunk: orjson into dicts (the default), or a typed decoder.

    `trailing` returns where a document that parsed but was followed by more bytes ends (the array
    closed inside the chunk), from the decoder's error, else None.
    """

    def loads(self, doc: bytes) -> Any:
        return orjson.loads(doc)

    def records(self, items: list[Any]) -> Any:
        """What `loads` would give for `items` (records parsed by another parser)."""
        return items

    def trailing(self, exc: ValueError, doc: bytes) -> int | None:
        msg = getattr(exc, "msg", "")
        if msg.startswith("unexpected content after document"):  # orjson: a character position
            return len(doc.decode("utf-8", "replace")[:exc.pos].encode("utf-8", "surrogatepass"))  # type: ignore[attr-defined]
        return None


ORJSON = Decode()


class JsonFile:
    """Positioned reads over a JSON file whose top level is an object (`members`, `value`, `array_chunks`)."""

    def __init__(self, path: str | Path, chunk_size: int = CHUNK_SIZE) -> None:
        self.path = Path(path)
        self.chunk_size = chunk_size
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise FormatError(f"cannot read: {exc.strerror or exc}", file=self.path) from None
        self.size = os.fstat(self._fd).st_size
        self._end: int | None = None  # where the value last read by value()/array_chunks() ends

    def __enter__(self) -> JsonFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @property
    def end(self) -> int | None:
        """Where the value last read by `value` or `array_chunks` ends (None before one is read whole)."""
        return self._end

    def read(self, offset: int, n: int) -> bytes:
        return os.pread(self._fd, n, offset)

    def error(self, message: str, offset: int | None = None) -> FormatError:
        where = f" at byte {offset}" if offset is not None else ""
        return FormatError(f"not valid JSON{where}: {message}", file=self.path)

    def _skip_ws(self, offset: int) -> tuple[int, bytes]:
        """Offset and value of the next non-blank byte (b"" at the end of the file)."""
        while True:
            buf = self.read(offset, 4096)
            if not buf:
                return offset, b""
            stripped = buf.lstrip(_WS)
            if stripped:
                offset += len(buf) - len(stripped)
                return offset, stripped[:1]
            offset += len(buf)

    def members(self) -> Iterator[tuple[str, int]]:
        """Yield (key, offset of its value) for each top-level member, in file order.

        The caller must consume each value with `value` or `array_chunks` before asking for the next.
        """
        off, c = self._skip_ws(0)
        if off == 0 and self.read(0, 3) == b"\xef\xbb\xbf":
            off, c = self._skip_ws(3)
        if c == b"":
            raise FormatError("empty file", file=self.path)
        if c != b"{":
            raise FormatError(f"expected a JSON object at the top level, found {c!r}", file=self.path)
        off, c = self._skip_ws(off + 1)
        if c == b"}":
            self._check_trailing(off + 1)
            return
        while True:
            if c != b'"':
                raise self.error("expected a member name", off)
            key, end = self._small_value(off)
            off, c = self._skip_ws(end)
            if c != b":":
                raise self.error("expected ':' after a member name", off)
            off, _ = self._skip_ws(off + 1)
            self._end = None
            yield key, off
            if self._end is None:
                raise RuntimeError("members(): the value was not consumed")
            off, c = self._skip_ws(self._end)
            if c == b"}":
                self._check_trailing(off + 1)
                return
            if c != b",":
                raise self.error("expected ',' or '}' after a member", off)
            off, c = self._skip_ws(off + 1)

    def _check_trailing(self, offset: int) -> None:
        off, c = self._skip_ws(offset)
        if c:
            raise self.error("extra data after the top-level object", off)

    def value(self, offset: int) -> Any:
        """Parse the (small) value at `offset` whole."""
        obj, self._end = self._small_value(offset)
        return obj

    def _small_value(self, offset: int) -> tuple[Any, int]:
        window = 1 << 16
        while True:
            buf = self.read(offset, window)
            text = buf.decode("utf-8", "replace")
            try:
                _, end_char = _decoder.raw_decode(text)
            except json.JSONDecodeError as exc:
                if offset + len(buf) < self.size:
                    window *= 4
                    continue
                raise self.error(exc.msg, offset + len(text[:exc.pos].encode("utf-8", "surrogatepass"))) from None
            except RecursionError:
                raise self.error("nested too deeply", offset) from None
            end = offset + len(text[:end_char].encode("utf-8", "surrogatepass"))
            raw = self.read(offset, end - offset)
            try:
                return orjson.loads(raw), end
            except orjson.JSONDecodeError:
                try:  # NaN/Infinity literals: the standard library parses them (the reader then names them)
                    return json.loads(raw), end
                except (ValueError, RecursionError) as exc:
                    raise self.error(str(exc), offset) from None

    def array_chunks(self, offset: int, decode: Decode | None = None) -> Iterator[tuple[Any, int, int]]:
        """Yield (elements, start, end) chunks of the array at `offset`; `start`/`end` are the bytes parsed.

        `decode` turns ``[`` + chunk + ``]`` into the chunk's value (default: orjson, a list of dicts);
        it must raise ValueError on malformed JSON. Arrays whose elements are not objects are parsed
        whole by the default decoder (one chunk).
        """
        decode = decode or ORJSON
        off, c = self._skip_ws(offset)
        if c != b"[":
            raise RuntimeError("array_chunks() needs an array")
        pos, c = self._skip_ws(off + 1)
        if c == b"]":
            self._end = pos + 1
            return
        if c != b"{":
            obj = self.value(off)
            yield decode.records(obj), off, self._end  # type: ignore[misc]
            return
        size = self.chunk_size
        while True:
            buf = self.read(pos, size)
            hi = len(buf)
            found = False
            while True:
                p = buf.rfind(b"}", 0, hi)
                if p < 0:
                    break
                q = p + 1
                while q < len(buf) and buf[q] in _WS:
                    q += 1
                nxt = buf[q:q + 1]
                if nxt == b"," or nxt == b"]":
                    doc = b"[" + buf[:p + 1] + b"]"
                    try:
                        items = decode.loads(doc)
                    except ValueError as exc:
                        items = None
                        stop = decode.trailing(exc, doc)
                        if stop is not None:
                            # the array closed before this candidate: cut at its closing bracket
                            head = doc[:stop].rstrip(_WS)
                            items = self._try(decode, head)
                            if items is not None:
                                q = len(head) - 2  # the array's ']' in buf coordinates (doc = '[' + buf)
                                p = q - 1
                                nxt = b"]"
                                found = True
                                break
                        if nxt == b"]" and pos + len(buf) >= self.size:
                            items = self._fallback(buf[:p + 1])
                            if items is not None:
                                items = decode.records(items)
                    if items is not None:
                        found = True
                        break
                hi = p
            if not found:
                if pos + len(buf) >= self.size:
                    self._raise_bad_array(buf, pos)
                size *= 2
                continue
            yield items, pos, pos + p + 1
            if nxt == b"]":
                self._end = pos + q + 1
                return
            pos, c = self._skip_ws(pos + q + 1)
            if c != b"{":
                if c == b"":
                    raise self.error("unexpected end of file inside an array", pos)
                raise self.error("an array mixes objects and other values", pos)
            size = self.chunk_size

    @staticmethod
    def _try(decode: Decode, doc: bytes) -> Any:
        if not doc.endswith(b"]"):
            return None
        try:
            return decode.loads(doc)
        except ValueError:
            return None

    def _fallback(self, body: bytes) -> list[Any] | None:
        try:
            return json.loads(b"[" + body + b"]")
        except (ValueError, RecursionError):
            return None

    def _raise_bad_array(self, buf: bytes, pos: int) -> None:
        try:
            orjson.loads(b"[" + buf)
        except orjson.JSONDecodeError as exc:
            raise self.error(exc.msg, pos + max(exc.pos - 1, 0)) from None
        raise self.error("unterminated array", pos)
