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

from ..errors import FormatError

Sniff = Callable[[Path], tuple[float, str]]
#: a file whose sniff reaches this confidence counts as one of the format's files in a folder
FOLDER_THRESHOLD = 0.5


def load_json(path: Path) -> Any:
    """Parse a JSON file with orjson; NaN/Infinity literals (which orjson refuses) are parsed by the
    standard library so that the reader can name the records that hold them."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
    if not data.strip():
        raise FormatError("empty file", file=path)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data)
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
    with open(path, "rb") as f:
        return f.read(size)


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
