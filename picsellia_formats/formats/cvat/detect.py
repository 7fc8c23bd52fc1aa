"""Recognise a CVAT XML 1.1 file (root ``<annotations>`` holding ``<version>`` / ``<meta>`` / ``<image>``).

Example:
    >>> detect(Path("fixtures/cvat/docs_example/annotations.xml"))[0]
    0.95
"""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import FormatError
from ...inputs import read_input

_ROOT = re.compile(rb"<annotations\s*>")
_CHILD = re.compile(rb"<(version|meta|image|track)[\s>]")


def sniff(path: Path) -> tuple[float, str]:
    """Confidence that one file is CVAT XML, from its first 64 KiB."""
    if path.suffix.lower() != ".xml":
        return 0.0, "not a .xml file"
    head = read_input(path, 1 << 16)
    root = _ROOT.search(head)
    if root is None:
        return 0.0, "no <annotations> root element"
    child = _CHILD.search(head, root.end())
    if child is None:
        return 0.0, "<annotations> without <version>, <meta>, <image> or <track>"
    if b"<track" in head and b"<image" not in head:
        return 0.95, "CVAT for video XML (<annotations> with <track>s)"
    return 0.95, "CVAT XML (<annotations> with <version>/<meta>/<image>)"


def _candidates(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".xml")


def detect(path: Path) -> tuple[float, str]:
    """A file: its sniff. A folder: its only CVAT .xml file (e.g. ``annotations.xml``)."""
    if not path.is_dir():
        return sniff(path)
    hits = [p for p in _candidates(path) if sniff(p)[0] > 0]
    if len(hits) == 1:
        return 0.9, f"folder holds one CVAT XML file {hits[0].name}"
    return 0.0, (f"folder holds {len(hits)} CVAT XML files; name one" if hits else "no CVAT .xml file in the folder")


def resolve(path: Path) -> Path:
    """The file to read: `path`, or the only CVAT .xml file of a folder."""
    if not path.is_dir():
        return path
    hits = [p for p in _candidates(path) if sniff(p)[0] > 0]
    if len(hits) != 1:
        raise FormatError(f"expected exactly one CVAT .xml file in the folder, found {len(hits)}", file=path)
    return hits[0]
