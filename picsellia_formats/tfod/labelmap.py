"""``label_map.pbtxt`` (the OD API's ``StringIntLabelMap`` in protobuf text format): write and read.

Writing: ids from 1 in the dataset's label order; a label named ``background`` gets id 0 (the
only label allowed to). Names are escaped as protobuf's C escapes (quotes, backslashes, control
characters); non-ASCII characters are kept as UTF-8.

Reading accepts every dialect the protobuf text format allows (``item {`` or ``item: {``, ``<>``
delimiters, either quote, adjacent strings, any field order, ``#`` comments, several items on a
line, ``,``/``;`` separators, list syntax, hex and octal ids, the item's other fields) and applies
the OD API's validation (``label_map_util._validate_label_map``: ids >= 0, id 0 only for
``background``), plus what a label map cannot mean twice: duplicate ids, duplicate names, an
item without a name. Every error names the file and the line.

Example:
    >>> text = format_label_map(label_map_items(["cat", "dog"]))
    >>> print(text, end="")
    item {
      id: 1
      name: 'cat'
    }
    item {
      id: 2
      name: 'dog'
    }
    >>> [(i.id, i.name) for i in parse_label_map("item: { name: \\"cat\\" id: 3 } # a comment")]
    [(3, 'cat')]
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from ..errors import FormatError, OptionError, ProblemCollector
from ..inputs import read_input
from ..model import EMPTY, Label

BACKGROUND = "background"
_INT32 = (-(1 << 31), (1 << 31) - 1)
#: LVISFrequency enum of string_int_label_map.proto
_FREQUENCY = {"UNSPECIFIED": 0, "FREQUENT": 1, "COMMON": 2, "RARE": 3}


class LabelMapItem(NamedTuple):
    """One ``item`` of a label map; ``line`` is where it starts (1-based) when read from text,
    ``extra`` its other fields (keypoints, ancestor_ids, frequency, ...)."""

    id: int
    name: str
    display_name: str | None = None
    line: int | None = None
    extra: dict[str, Any] | None = None


# ---------------------------------------------------------------------------------------------- write


def escape_text(text: str) -> str:
    """`text` with protobuf text-format C escapes (quotes, backslash, control characters); UTF-8 kept.

    Example:
        >>> print(escape_text("it's"))
        it\\'s
    """
    out = []
    for ch in text:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "'":
            out.append("\\'")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\{o:03o}")
        else:
            out.append(ch)
    return "".join(out)


def quote(text: str) -> str:
    """A protobuf text-format string literal (single quotes) for `text`.

    Example:
        >>> print(quote("it's a \\"cat\\"\\n"))
        'it\\'s a \\"cat\\"\\n'
    """
    return "'" + escape_text(text) + "'"


def label_map_items(labels: Iterable[Label | str], *, ids: str = "sequential") -> list[LabelMapItem]:
    """Label-map items for `labels` in order.

    ``ids="sequential"``: 1, 2, ... in order, 0 for a label named ``background``.
    ``ids="keep"``: each `Label.id` (COCO category ids, a label map's ids) when they are unique
    integers >= 1 (0 allowed for ``background``); otherwise sequential. Raises OptionError for another
    `ids`, FormatError for a name listed twice.
    A label's display name comes from ``Label.extra["tfod"]["display_name"]`` (a label map read earlier).
    """
    if ids not in ("sequential", "keep"):
        raise OptionError(f"ids must be 'sequential' or 'keep', got {ids!r}")
    labels = [Label(x) if isinstance(x, str) else x for x in labels]
    names = [label.name for label in labels]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise FormatError(f"label {dup!r} is listed twice: a label map gives each name one id")
    chosen: list[int] | None = None
    if ids == "keep":
        kept = [label.id for label in labels]
        if (all(type(i) is int and (i >= 1 or (i == 0 and label.name == BACKGROUND))
                for i, label in zip(kept, labels)) and len(set(kept)) == len(kept)):
            chosen = kept  # type: ignore[assignment]
    if chosen is None:
        chosen = []
        next_id = 1
        for label in labels:
            if label.name == BACKGROUND:
                chosen.append(0)
            else:
                chosen.append(next_id)
                next_id += 1
    out = []
    for label, i in zip(labels, chosen):
        tfod = label.extra.get("tfod") if label.extra else None
        display = tfod.get("display_name") if isinstance(tfod, dict) else None
        out.append(LabelMapItem(i, label.name, display if isinstance(display, str) else None))
    return out


def format_label_map(items: Iterable[LabelMapItem]) -> str:
    """The text of a label map: one ``item { id, name[, display_name] }`` block per item."""
    blocks = []
    for item in items:
        block = f"item {{\n  id: {item.id}\n  name: {quote(item.name)}\n"
        if item.display_name is not None:
            block += f"  display_name: {quote(item.display_name)}\n"
        blocks.append(block + "}\n")
    return "".join(blocks)


def write_label_map(labels: Iterable[Label | str] | Sequence[LabelMapItem], path: str | os.PathLike[str],
                    *, ids: str = "sequential") -> list[LabelMapItem]:
    """Write a label map for `labels` (or ready-made items, or a whole `Dataset`: its labels) to `path`
    (UTF-8); return the items."""
    labels = list(getattr(labels, "labels", labels))
    items = labels if labels and all(isinstance(x, LabelMapItem) for x in labels) else label_map_items(
        labels, ids=ids)  # type: ignore[arg-type]
    Path(path).write_bytes(format_label_map(items).encode("utf-8"))  # type: ignore[arg-type]
    return items  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------- read

_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\f\v]+)
      | (?P<nl>\n)
      | (?P<comment>\#[^\n]*)
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<number>-?(?:0[xX][0-9a-fA-F]+
                     |[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?
                     |\.[0-9]+(?:[eE][+-]?[0-9]+)?)[fF]?(?![A-Za-z0-9_.]))
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[{}<>:\[\],;/.])
    """,
    re.VERBOSE,
)
_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39, '"': 34, "?": 63}


class _ParseError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    line = 1
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            snippet = text[pos:pos + 20].split("\n")[0]
            if text[pos] in "'\"":
                raise _ParseError(line, f"string not closed on its line: {snippet!r}")
            raise _ParseError(line, f"unexpected text {snippet!r}")
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "nl":
            line += 1
        elif kind not in ("ws", "comment"):
            out.append((kind, value, line))
        pos = m.end()
    return out


def _unescape(literal: str, line: int) -> bytes:
    body = literal[1:-1]
    if "\\" not in body:
        return body.encode("utf-8")
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch != "\\":
            out += ch.encode("utf-8")
            i += 1
            continue
        i += 1
        if i >= n:
            raise _ParseError(line, "string ends with a lone backslash")
        c = body[i]
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
            i += 1
        elif c in "01234567":
            j = i
            while j < n and j < i + 3 and body[j] in "01234567":
                j += 1
            value = int(body[i:j], 8)
            if value > 255:
                raise _ParseError(line, f"octal escape \\{body[i:j]} is out of range")
            out.append(value)
            i = j
        elif c in "xX":
            j = i + 1
            while j < n and j < i + 3 and body[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i + 1:
                raise _ParseError(line, "\\x escape without hex digits")
            out.append(int(body[i + 1:j], 16))
            i = j
        elif c in "uU":
            width = 4 if c == "u" else 8
            digits = body[i + 1:i + 1 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise _ParseError(line, f"\\{c} escape needs {width} hex digits")
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise _ParseError(line, f"\\{c}{digits} is not a valid code point")
            out += chr(code).encode("utf-8")
            i += 1 + width
        else:  # protobuf's Python text format keeps an unknown escape as it stands
            out += ("\\" + c).encode("utf-8")
            i += 1
    return bytes(out)


class _Parser:
    """Recursive-descent parser of the protobuf text format for the StringIntLabelMap schema."""

    #: message name -> {field: (kind, repeated)}; kind is a message name, or int32/string/enum
    SCHEMA: ClassVar[dict[str, dict[str, tuple[str, bool]]]] = {
        "StringIntLabelMap": {"item": ("StringIntLabelMapItem", True)},
        "StringIntLabelMapItem": {
            "name": ("string", False),
            "id": ("int32", False),
            "display_name": ("string", False),
            "keypoints": ("KeypointMap", True),
            "ancestor_ids": ("int32", True),
            "descendant_ids": ("int32", True),
            "frequency": ("enum", False),
            "instance_count": ("int32", False),
        },
        "KeypointMap": {"id": ("int32", False), "label": ("string", False)},
    }

    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def line(self) -> int:
        tok = self.peek()
        if tok is not None:
            return tok[2]
        return self.tokens[-1][2] if self.tokens else 1

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise _ParseError(self.line(), "unexpected end of file")
        self.pos += 1
        return tok

    def accept(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[0] == "punct" and tok[1] == value:
            self.pos += 1
            return True
        return False

    def message(self, name: str, close: str | None, opened: int = 0) -> dict[str, Any]:
        """Fields of a message up to `close` (None: end of input). Values: (value, line)."""
        fields: dict[str, Any] = {}
        schema = self.SCHEMA[name]
        while True:
            tok = self.peek()
            if tok is None:
                if close is None:
                    return fields
                raise _ParseError(opened, f"missing {close!r}: the block opened on this line is not closed")
            if close is not None and tok[0] == "punct" and tok[1] == close:
                self.pos += 1
                return fields
            kind, value, line = self.take()
            if kind == "punct" and value == "[":
                raise _ParseError(line, "extensions and Any fields are not part of a label map")
            if kind != "ident":
                raise _ParseError(line, f"expected a field name, got {value!r}")
            if value not in schema:
                where = "an item" if name == "StringIntLabelMapItem" else (
                    "a label map" if name == "StringIntLabelMap" else "a keypoint")
                raise _ParseError(line, f"{where} has no field named {value!r}")
            field_kind, repeated = schema[value]
            values = self.field_values(value, field_kind, repeated, line)
            if repeated:
                fields.setdefault(value, []).extend(values)
            else:
                fields[value] = values[-1]  # text_format.Merge: the last value wins
            if not self.accept(","):
                self.accept(";")

    def field_values(self, field: str, kind: str, repeated: bool, line: int) -> list[tuple[Any, int]]:
        is_message = kind in self.SCHEMA
        colon = self.accept(":")
        if repeated and (colon or is_message) and self.accept("["):
            values = []
            if self.accept("]"):
                return values
            while True:
                values.append(self.one_value(field, kind, is_message))
                if self.accept("]"):
                    return values
                if not self.accept(","):
                    raise _ParseError(self.line(), f"expected ',' or ']' in the list of {field!r}")
        if not colon and not is_message:
            raise _ParseError(self.line(), f"expected ':' after {field!r}")
        return [self.one_value(field, kind, is_message)]

    def one_value(self, field: str, kind: str, is_message: bool) -> tuple[Any, int]:
        line = self.line()
        if is_message:
            if self.accept("{"):
                return self.message(kind, "}", line), line
            if self.accept("<"):
                return self.message(kind, ">", line), line
            raise _ParseError(line, f"expected '{{' after {field!r}")
        tok_kind, value, tok_line = self.take()
        if kind == "string":
            if tok_kind != "string":
                raise _ParseError(tok_line, f"{field} must be a quoted string, got {value!r}")
            raw = _unescape(value, tok_line)
            while (nxt := self.peek()) is not None and nxt[0] == "string":  # adjacent literals concatenate
                self.pos += 1
                raw += _unescape(nxt[1], nxt[2])
            try:
                return raw.decode("utf-8"), tok_line
            except UnicodeDecodeError:
                raise _ParseError(tok_line, f"{field} is not valid UTF-8") from None
        if kind == "enum":
            if tok_kind == "ident" and value in _FREQUENCY:
                return value, tok_line
            if tok_kind == "number" and _int(value) in _FREQUENCY.values():
                return next(k for k, v in _FREQUENCY.items() if v == _int(value)), tok_line
            raise _ParseError(tok_line, f"{field} must be one of {', '.join(_FREQUENCY)}, got {value!r}")
        if tok_kind != "number":
            raise _ParseError(tok_line, f"{field} must be an integer, got {value!r}")
        number = _int(value)
        if number is None:
            raise _ParseError(tok_line, f"{field} must be an integer, got {value!r}")
        if not _INT32[0] <= number <= _INT32[1]:
            raise _ParseError(tok_line, f"{field} {number} is out of the int32 range")
        return number, tok_line


def _int(text: str) -> int | None:
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("-")
    if body[:2] in ("0x", "0X"):
        return sign * int(body[2:], 16)
    if not body.isdigit():
        return None
    if len(body) > 1 and body[0] == "0":
        if any(c in "89" for c in body):
            return None
        return sign * int(body, 8)
    return sign * int(body)


def parse_label_map(text: str | bytes, file: str | os.PathLike[str] | None = None) -> list[LabelMapItem]:
    """Parse and validate a label map's text; FormatError names the file and line of each problem."""
    name = str(file) if file is not None else "<label map>"
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(f"not UTF-8 text (byte {exc.start}); a label map is protobuf text",
                              file=name) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        top = _Parser(_tokens(text)).message("StringIntLabelMap", None)
    except _ParseError as exc:
        raise FormatError(exc.message, file=name, record=f"line {exc.line}") from None
    except RecursionError:
        raise FormatError("blocks nested too deeply", file=name) from None
    items = []
    problems = ProblemCollector(name)
    ids: dict[int, int] = {}
    names: dict[str, int] = {}
    for fields, line in top.get("item", []):
        record = f"line {line}"
        item_id = fields["id"][0] if "id" in fields else None
        item_name = fields["name"][0] if "name" in fields else None
        display = fields["display_name"][0] if "display_name" in fields else None
        if item_name is None:
            problems.add(record, "item has no name")
            continue
        if item_id is None:
            if BACKGROUND not in (item_name, display):
                problems.add(record, f"item {item_name!r} has no id (id 0 is reserved for 'background')")
                continue
            item_id = 0
        if item_id < 0:
            problems.add(record, f"label map ids must be >= 0, got {item_id} for {item_name!r}")
            continue
        if item_id == 0 and BACKGROUND not in (item_name, display):
            problems.add(record, f"id 0 is reserved for 'background', got {item_name!r}")
            continue
        if item_id in ids:
            problems.add(record, f"duplicate id {item_id} ({item_name!r}; first used on line {ids[item_id]})")
            continue
        if item_name in names:
            problems.add(record, f"duplicate name {item_name!r} (first on line {names[item_name]})")
            continue
        ids[item_id] = line
        names[item_name] = line
        extra = {k: _plain(v) for k, v in fields.items() if k not in ("id", "name", "display_name")}
        items.append(LabelMapItem(item_id, item_name, display, line, extra or None))
    problems.raise_if_any()
    return items


def _plain(value: Any) -> Any:
    """Drop the line numbers the parser keeps beside each value."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int):
        inner = value[0]
        if isinstance(inner, dict):
            return {k: _plain(v) for k, v in inner.items()}
        return inner
    return value


def read_label_map(path: str | os.PathLike[str]) -> list[LabelMapItem]:
    """Read and validate a ``label_map.pbtxt``.

    Example:
        >>> [(i.id, i.name) for i in read_label_map("fixtures/raccoon_voc/training/object-detection.pbtxt")]
        [(1, 'raccoon')]
    """
    try:
        data = read_input(path)
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    return parse_label_map(data, path)


def labels_from_items(items: Iterable[LabelMapItem]) -> list[Label]:
    """Model labels (name, id, display name and other fields under ``extra["tfod"]``) in map order."""
    out = []
    for item in items:
        tfod: dict[str, Any] = {}
        if item.display_name is not None:
            tfod["display_name"] = item.display_name
        if item.extra:
            tfod.update(item.extra)
        out.append(Label(item.name, id=item.id, extra={"tfod": tfod} if tfod else EMPTY))
    return out
