"""Formats this package recognises but does not read: detection names them instead of mis-reading them.

Each recogniser looks at a file's head (or a sample of a folder's files) and says how sure it is
that the input is that format. `picsellia_formats.formats.detect` refuses an input that one of
them recognises at least as surely as any readable format does, with a message naming the format
("OpenImages CSV is not supported"), rather than reading it as something else or answering "no
known format".

Example:
    >>> refused("fixtures/raccoon_voc/data/test_labels.csv").format
    'TensorFlow object detection CSV'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import FormatError
from ..inputs import read_input

#: how many files of a folder are looked at
SAMPLE = 20
_HEAD = 1 << 16


@dataclass(frozen=True)
class Refusal:
    """An unsupported format recognised in an input, how surely, and why."""

    format: str
    confidence: float
    reason: str

    def message(self, path: str | os.PathLike[str]) -> str:
        return (f"{path}: {self.format} is not supported ({self.reason}); convert it to a supported format "
                "(COCO, Pascal VOC, YOLO, LabelMe, CreateML...) first")


def _head(path: Path) -> bytes:
    try:
        return read_input(path, _HEAD)
    except (OSError, FormatError):
        return b""


def _json(path: Path, head: bytes) -> Refusal | None:
    if path.suffix.lower() != ".json" or not head.lstrip().startswith((b"{", b"[")):
        return None
    if b'"dm_format_version"' in head or (b'"items"' in head and b'"categories"' in head
                                          and b'"label"' in head and b'"labels"' in head):
        return Refusal("Datumaro JSON", 0.95, "has Datumaro's items and categories.label.labels")
    if b'"_via_settings"' in head or b'"_via_img_metadata"' in head or (
            b'"regions"' in head and b'"shape_attributes"' in head):
        return Refusal("VGG Image Annotator (VIA) JSON", 0.95, "has VIA's regions with shape_attributes")
    if b'"classTitle"' in head and b'"objects"' in head:
        return Refusal("Supervisely JSON", 0.95, "has Supervisely's objects with classTitle")
    if b'"imgHeight"' in head and b'"imgWidth"' in head and b'"objects"' in head and b'"polygon"' in head:
        return Refusal("Cityscapes polygons JSON", 0.95, "has imgHeight, imgWidth and objects with polygons")
    return None


def _csv(path: Path, head: bytes) -> Refusal | None:
    if path.suffix.lower() != ".csv":
        return None
    first = head.split(b"\n", 1)[0].strip().lower().replace(b" ", b"")
    cols = first.split(b",")
    if b"imageid" in cols and b"labelname" in cols and b"xmin" in cols:
        return Refusal("OpenImages CSV", 0.95, "header has ImageID, LabelName, XMin...")
    if {b"filename", b"class", b"xmin", b"ymin", b"xmax", b"ymax"} <= set(cols):
        return Refusal("TensorFlow object detection CSV", 0.9, "header has filename, class, xmin, ymin, xmax, ymax")
    return None


_NUM = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_DOTA = re.compile(rf"^(?:{_NUM}\s+){{8}}\S+(?:\s+\d)?$")
_KITTI = re.compile(rf"^[A-Za-z_][\w-]*(?:\s+{_NUM}){{14,15}}$")


def _text_rows(head: bytes) -> list[str] | None:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.splitlines()
    if len(head) == _HEAD and lines:
        lines = lines[:-1]  # maybe cut in the middle
    return [ln.strip() for ln in lines if ln.strip()]


def _txt(path: Path, head: bytes) -> Refusal | None:
    if path.suffix.lower() != ".txt":
        return None
    rows = _text_rows(head)
    if not rows:
        return None
    body = [r for r in rows if not r.startswith(("imagesource:", "gsd:"))]
    if body and all(_DOTA.match(r) for r in body):
        return Refusal("DOTA", 0.95, "rows of 8 corner coordinates, a class name and a difficulty")
    if body and all(_KITTI.match(r) for r in body):
        return Refusal("KITTI", 0.95, "rows of a class name and 14 numbers (truncation, occlusion, alpha, "
                       "box, 3D size, location, rotation)")
    return None


_RECOGNISERS: tuple[Callable[[Path, bytes], Refusal | None], ...] = (_json, _csv, _txt)


def _file(path: Path) -> Refusal | None:
    head = _head(path)
    if not head:
        return None
    for recognise in _RECOGNISERS:
        found = recognise(path, head)
        if found is not None:
            return found
    return None


def _sample(folder: Path) -> list[Path]:
    out: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith((".json", ".csv", ".txt")) and not name.startswith("."):
                out.append(Path(root) / name)
                if len(out) >= SAMPLE:
                    return out
    return out


def refused(path: str | os.PathLike[str]) -> Refusal | None:
    """The unsupported format `path` (a file, or a folder whose sampled files agree) is in, if any."""
    path = Path(path)
    if path.is_file():
        return _file(path)
    if not path.is_dir():
        return None
    files = [p for p in _sample(path) if p.name.lower() not in ("classes.txt", "obj.names", "readme.txt")]
    found = [_file(p) for p in files]
    hits = [f for f in found if f is not None]
    if not hits:
        return None
    first = hits[0]
    if len(hits) == len(found) and all(h.format == first.format for h in hits):
        # beside files of other kinds (a TFRecord beside CSV files, say), a readable format that
        # recognises the folder wins
        sure = first.confidence * 0.95 if not _holds_other_files(path) else 0.5
        return Refusal(first.format, sure, f"every file looked at: {first.reason}")
    return None


def _holds_other_files(folder: Path) -> bool:
    """Files beside the annotations and images (looked at: the first few hundred)."""
    from ..images import is_image

    seen = 0
    for _root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            seen += 1
            if not name.startswith(".") and not name.lower().endswith((".json", ".csv", ".txt")) and not is_image(name):
                return True
            if seen > 500:
                return False
    return False
