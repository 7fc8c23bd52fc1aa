"""Shared plumbing of the JSON formats (COCO, Picsellia): parse, and find the one file of a folder.

A JSON format is given a file, or a folder holding exactly one file of that format (at its top or in
``annotations/``); `detect_file_or_folder` and `resolve_file_or_folder` implement that rule once,
around each format's own `sniff(path) -> (confidence, reason)` of one file's head.

Example:
    >>> from pathlib import Path
    >>> [p.name for p in json_files(Path("fixtures/picsellia_coco_det"))]
    ['annotations.json']
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from ..errors import FormatError, ProblemCollector
from ..inputs import read_input

Sniff = Callable[[Path], tuple[float, str]]
#: a file whose sniff reaches this confidence counts as one of the format's files in a folder
FOLDER_THRESHOLD = 0.5


def load_json(path: Path) -> Any:
    """Parse a JSON file with orjson; NaN/Infinity literals (which orjson refuses) are parsed by the
    standard library so that the reader can name the records that hold them."""
    try:
        data = read_input(path)
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    if not data.strip():
        raise FormatError("empty file", file=path)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        doc = _stdlib_loads(data, path)
        check_json_values(doc, path)
        return doc
    if has_long_digits(data):  # orjson reads an integer over 64 bits as a float: find it exactly
        check_json_values(_stdlib_loads(data, path), path)
    return doc


class _LongInteger:
    """An integer literal kept as text (over 64 bits: never converted, so no digit limit applies)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


#: every digit byte -> "1", any other byte -> " " (bytes.translate is ~10x faster than a regex scan)
_DIGITS = bytes(0x31 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))


def has_long_digits(data: bytes, run: int = 19, chunk: int = 1 << 18) -> bool:
    """Whether `data` holds `run` digits in a row (int64 has 19: anything that long is checked exactly).

    Scanned in chunks (overlapping by ``run - 1`` bytes) so a big file is never copied whole; chunks of
    256 KiB stay in the CPU cache between the translation and the search (twice the speed of 16 MiB).

    Example:
        >>> has_long_digits(b'{"id": 12345678901234567890}'), has_long_digits(b'{"id": 1.5}')
        (True, False)
    """
    needle = b"1" * run
    return any(needle in data[i:i + chunk + run - 1].translate(_DIGITS) for i in range(0, len(data), chunk))
_INT64 = range(-(1 << 63), 1 << 64)  # what orjson reads exactly (int64 and uint64)


def _parse_int(text: str) -> int | _LongInteger:
    if len(text.lstrip("-")) < 19:
        return int(text)
    value = int(text) if len(text) <= 4000 else None
    return value if value is not None and value in _INT64 else _LongInteger(text)


def holds_wide_integer(data: bytes) -> bool:
    """Whether JSON `data` holds an integer outside 64 bits (which orjson would read as a float): a quick
    scan for long digit runs, then an exact parse only when one is found.

    Example:
        >>> holds_wide_integer(b'[123456789012345678901]'), holds_wide_integer(b'[0.000019699999999999998]')
        (True, False)
    """
    if not has_long_digits(data):
        return False
    try:
        doc = json.loads(data, parse_int=_parse_int)
    except (ValueError, RecursionError):
        return False  # not JSON: the caller's parser says so
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, _LongInteger):
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def check_json_values(doc: Any, path: Path) -> None:
    """FormatError naming each record (its JSON path) that holds an integer outside 64 bits or text
    with a lone surrogate (``"\\ud800"``: not Unicode, no file or API can take it)."""
    problems = ProblemCollector(path)
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if _bad_text(k):
                    problems.add(where or "top level", f"key {k!r:.40} holds a lone surrogate (not valid Unicode)")
                stack.append((v, f"{where}.{k}" if where else str(k)))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(node))
        elif isinstance(node, _LongInteger):
            digits = node.text.lstrip("-")
            problems.add(where or "top level", f"integer {node.text[:12]}... ({len(digits):,} digits) is outside "
                                               "64 bits: no format or platform field can hold it")
        elif isinstance(node, str) and _bad_text(node):
            problems.add(where or "top level", f"text {node!r:.40} holds a lone surrogate (not valid Unicode)")
    problems.raise_if_any()


def _bad_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _stdlib_loads(data: bytes, path: Path) -> Any:
    """The standard library's parse (NaN/Infinity literals, integers of any length kept as text)."""
    try:
        return json.loads(data, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", file=path
        ) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"not valid UTF-8 JSON: {exc.reason} at byte {exc.start}", file=path) from None
    except RecursionError:
        raise FormatError("not valid JSON: nested too deeply", file=path) from None


def read_head(path: Path, size: int = 1 << 20) -> bytes:
    """The first `size` bytes of a file (what detection looks at: no full parse)."""
    return read_input(path, size)


def json_head(path: Path, size: int = 1 << 20) -> tuple[bytes | None, str]:
    """``(head, "")`` of a .json file (`read_head`), or ``(None, why)`` when `path` cannot be one: the
    first steps of every JSON format's sniffer.

    Example:
        >>> json_head(Path("fixtures/raccoon_voc/README.md"))
        (None, 'README.md is not a .json file')
    """
    if path.suffix.lower() != ".json":
        return None, f"{path.name} is not a .json file"
    try:
        return read_head(path, size), ""
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"


def json_files(path: Path) -> list[Path]:
    """`path` itself if a file, else the .json files (any case) at the top of the folder and in annotations/."""
    if path.is_file():
        return [path]
    found: list[Path] = []
    for folder in (path, path / "annotations"):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if p.suffix.lower() == ".json" and p.is_file())
    return found


def detect_file_or_folder(path: Path, sniff: Sniff, what: str) -> tuple[float, str]:
    """A file: its sniff. A folder: the sniff of its only `what` file (a little less sure), else 0."""
    if not path.is_dir():
        return sniff(path)
    hits = [(p, v) for p in json_files(path) if (v := sniff(p))[0] >= FOLDER_THRESHOLD]
    if len(hits) == 1:
        p, (confidence, why) = hits[0]
        return confidence * 0.9, f"folder holds one {what} file {p.name}: {why}"
    if hits:
        return 0.0, f"folder holds {len(hits)} {what} files; name one"
    return 0.0, f"no {what} .json file in the folder or its annotations/"


def resolve_file_or_folder(path: Path, sniff: Sniff, what: str) -> Path:
    """The file to read: `path`, or the only `what` file of the folder (FormatError otherwise)."""
    if not path.is_dir():
        return path
    hits = [p for p in json_files(path) if sniff(p)[0] >= FOLDER_THRESHOLD]
    if len(hits) != 1:
        raise FormatError(
            f"expected exactly one {what} .json file in the folder, found {len(hits)}"
            + (f" ({', '.join(p.name for p in hits)})" if hits else ""),
            file=path,
        )
    return hits[0]
