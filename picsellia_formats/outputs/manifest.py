"""The marker that makes an output folder recognisably ours: ``.picsellia-formats.json`` at its root.

It names the kind of output (``split``, ``yolo``, ``rasterise``...) and a fingerprint of what was
written: the number of files and a SHA-256 over their sorted relative paths and sizes (no dates and
no content hashes: the marker is deterministic, and checking it costs one walk of the folder, not a
read of the images). A folder whose files no longer match (the user added, removed or resized a
file) is no longer treated as ours.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.txt").write_text("x")
    >>> write_marker(d, "yolo")["files"]
    1
    >>> read_marker(d)["kind"], is_intact(d, read_marker(d))
    ('yolo', True)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import orjson

MARKER = ".picsellia-formats.json"
TOOL = "picsellia-formats"


def fingerprint(folder: str | os.PathLike[str]) -> tuple[int, str]:
    """``(file count, digest)`` of the files (and links) under `folder`, the root marker excepted."""
    digest = hashlib.sha256()
    count = 0
    stack = [(Path(folder), "")]
    while stack:
        path, rel = stack.pop()
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        subdirs = []
        for entry in entries:
            name = f"{rel}{entry.name}"
            if not rel and entry.name == MARKER:
                continue
            if entry.is_dir(follow_symlinks=False):
                subdirs.append((Path(entry.path), f"{name}/"))
                continue
            size = entry.stat(follow_symlinks=False).st_size
            digest.update(f"{name}\0{size}\n".encode("utf-8", "surrogateescape"))
            count += 1
        stack.extend(reversed(subdirs))
    return count, digest.hexdigest()


def write_marker(folder: str | os.PathLike[str], kind: str) -> dict[str, Any]:
    """Write the marker of the finished output `folder` (of `kind`); return its content."""
    count, digest = fingerprint(folder)
    content = {"tool": TOOL, "version": 1, "kind": kind, "files": count, "digest": digest}
    (Path(folder) / MARKER).write_bytes(orjson.dumps(content, option=orjson.OPT_INDENT_2) + b"\n")
    return content


def read_marker(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The marker of `folder`, or None (absent, unreadable or not ours)."""
    path = Path(folder) / MARKER
    try:
        if not path.is_file() or path.stat().st_size > 65536:
            return None
        content = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(content, dict) or content.get("tool") != TOOL or not isinstance(content.get("kind"), str):
        return None
    return content


def is_intact(folder: str | os.PathLike[str], marker: dict[str, Any]) -> bool:
    """The files of `folder` are exactly those its marker describes."""
    return fingerprint(folder) == (marker.get("files"), marker.get("digest"))
