"""detect."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

from ...errors import FormatError
from ...inputs import read_input

XML_SUFFIX = ".xml"
_HEAD = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>)?\s*(?:<!--.*?-->\s*)*<(?:\w+:)?annotation[\s>/]",
                   re.DOTALL)
isfinite = math.isfinite
_floor = math.floor


# --------------------------------------------------------------------------------------------- detect


def walk_files(folder: Path | str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(relative folder prefix ending in "/", entry) of every file under `folder`, hidden folders
    skipped, unreadable folders passed over (os.scandir: no stat per file)."""
    stack = [("", str(folder))]
    root = os.path.realpath(folder)
    linked = {root}
    while stack:
        prefix, d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.is_dir():
                if e.name.startswith("."):
                    continue
                if e.is_symlink():  # followed once, unless it points at the folder or above (a loop)
                    real = os.path.realpath(e.path)
                    if real in linked or root.startswith(real + os.sep):
                        continue
                    linked.add(real)
                stack.append((prefix + e.name + "/", e.path))
            else:
                yield prefix, e


def _xml_files(folder: Path) -> list[tuple[str, str]]:
    """(relative stem, path) of every .xml file under `folder`, sorted by relative path."""
    out = [(prefix + e.name[:-4], e.path) for prefix, e in walk_files(folder)
           if e.name[-4:].lower() == XML_SUFFIX and not e.is_dir()]  # FIFOs and dangling links: refused by name on read
    out.sort()
    return out


def _has_xml(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:  # closed even when any() stops early (else a ResourceWarning line)
            return any(e.name[-4:].lower() == XML_SUFFIX and e.is_file() for e in entries)
    except OSError:
        return False


def _child(folder: Path, name: str, exact: bool = False) -> Path | None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return None
    for e in entries:
        if (e.name == name if exact else e.name.lower() == name.lower()) and e.is_dir():
            return Path(e.path)
    return None


class _Source:
    """Where the XML files, images and split lists of an input are."""

    def __init__(self, kind: str, ann_dir: Path, files: list[tuple[str, str]], image_dir: Path | None,
                 sets_dir: Path | None) -> None:
        self.kind = kind
        self.ann_dir = ann_dir
        self.files = files
        self.image_dir = image_dir
        self.sets_dir = sets_dir


def locate(path: Path) -> _Source:
    if path.is_file():
        return _Source("file", path.parent, [(path.stem, str(path))], None, None)
    if not path.is_dir():
        raise FormatError("no such file or folder", file=path)
    ann = _child(path, "Annotations", exact=True)
    if ann is None and not _has_xml(path) and is_segmentation_only(path):
        return _Source("segmentation", path, [], path / "JPEGImages", _image_sets(path))
    if ann is not None and not _has_xml(path):
        sets = path / "ImageSets" / "Main"
        jpeg = path / "JPEGImages"
        return _Source("devkit", ann, _xml_files(ann), jpeg if jpeg.is_dir() else None,
                       sets if sets.is_dir() else None)
    if not _has_xml(path):
        sub = _child(path, "annotations")
        if sub is not None and _has_xml(sub):
            return _Source("folder", sub, _xml_files(sub), None, None)
    files = _xml_files(path)
    if not files:
        raise FormatError("no .xml file in the folder (nor in an Annotations/ child)", file=path)
    return _Source("folder", path, files, None, None)


def _image_sets(root: Path) -> Path | None:
    sets = root / "ImageSets" / "Segmentation"
    if not sets.is_dir():
        sets = root / "ImageSets" / "Main"
    return sets if sets.is_dir() else None


def is_segmentation_only(path: Path) -> bool:
    """A devkit without ``Annotations/`` (labelme2voc's output): ``JPEGImages/`` and at least one
    of ``SegmentationClass/``/``SegmentationObject/`` holding a PNG."""
    if not (path / "JPEGImages").is_dir():
        return False
    for name in ("SegmentationObject", "SegmentationClass"):
        folder = path / name
        if folder.is_dir() and any(p.suffix.lower() == ".png" for p in folder.iterdir()):
            return True
    return False


def _sniff(path: Path) -> bool:
    try:
        head = read_input(path, 4096)
    except (OSError, FormatError):
        return False
    return _HEAD.match(head) is not None


def detect(path: Path) -> tuple[float, str]:
    """Confidence that `path` is Pascal VOC: an XML file whose root is ``<annotation>``, or a folder
    (or its Annotations/ child) of such files (a few are sampled; folder names alone decide nothing)."""
    if path.is_file():
        if path.suffix.lower() != XML_SUFFIX:
            return 0.0, f"{path.name} is not an .xml file"
        if _sniff(path):
            return 0.9, "an XML file whose root is <annotation>"
        return 0.0, "an XML file whose root is not <annotation>"
    try:
        src = locate(path)
    except (FormatError, OSError):
        return 0.0, "no .xml file in the folder or its Annotations/ child"
    if src.kind == "segmentation":
        return 0.8, "a devkit without Annotations/: JPEGImages/ and segmentation PNGs (labelme2voc)"
    files = src.files
    if not files:  # an empty sample proves nothing (a YOLO dataset may have an Annotations/ folder)
        where = f" in {src.ann_dir.name}/" if src.ann_dir != path else ""
        return 0.0, f"no .xml file{where}"
    step = max(1, len(files) // 5)
    sample = [Path(p) for _, p in files[::step][:5]]
    hits = sum(_sniff(p) for p in sample)
    where = "" if src.ann_dir == path else f" in {src.ann_dir.name}/"
    if hits == len(sample):
        layout = " (devkit layout)" if src.kind == "devkit" else ""
        return 0.85, f"{len(files)} .xml files{where}, {hits} sampled all rooted at <annotation>{layout}"
    if hits:
        return 0.4, f"{hits} of {len(sample)} sampled .xml files{where} are rooted at <annotation>"
    return 0.0, f"none of {len(sample)} sampled .xml files{where} is rooted at <annotation>"


