"""Where a VOC dataset's images and splits are: image files (through `ImageIndex`), split folders,
``ImageSets`` lists, and the images of a segmentation-only devkit.

Example:
    >>> file_stem("a/b.jpg")
    'a/b'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...images import IMAGE_EXTENSIONS, BrokenImage, ImageIndex, size_or_broken
from ...model import Asset
from ...report import Report
from ...splits import is_split_name, split_of
from .detect import walk_files


def file_stem(name: str) -> str:
    """``a/b.jpg`` -> ``a/b`` (only the last component's last suffix goes)."""
    slash = max(name.rfind("/"), name.rfind("\\"))
    dot = name.rfind(".")
    return name[:dot] if dot > slash + 1 else name


def read_image_sets(sets_dir: Path, by_stem: dict[str, Asset], report: Report) -> None:
    class_lists = unknown = 0
    for path in sorted(p for p in sets_dir.iterdir() if p.suffix.lower() == ".txt" and p.is_file()):
        try:
            rows = [line.split() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
        except OSError as exc:
            raise FormatError(f"cannot read: {exc.strerror or exc}", file=path) from None
        rows = [r for r in rows if r]
        if any(len(r) != 1 for r in rows):
            class_lists += 1
            continue
        tag = path.stem
        for (image_id,) in rows:
            asset = by_stem.get(image_id)
            if asset is None:
                unknown += 1
                continue
            if tag not in asset.tags:
                asset.tags.append(tag)
    if class_lists:
        report.info("ImageSets/Main per-class lists ignored", class_lists,
                    "they restate which images hold each class; the objects say it")
    if unknown:
        report.info("ImageSets/Main ids without an XML or image ignored", unknown)


def attach_images(keyed: list[tuple[str, Asset]], index: ImageIndex, report: Report,
                   include_unlabelled: bool, broken: list[BrokenImage] | None = None) -> list[tuple[str, Asset]]:
    """Fill missing sizes from image headers (files found by `index`); with `include_unlabelled`,
    add the images no XML names as assets with no objects (otherwise only count them).
    A header that cannot be read raises FormatError, or, when `broken` is a list, is noted there and
    the asset kept without a size."""
    used: set[Path] = set()
    filled = ambiguous = 0
    for rel, asset in keyed:
        name = asset.file_name or rel
        folder = rel.rpartition("/")[0]
        if folder and "/" not in name.replace("\\", "/"):
            name = f"{folder}/{name}"  # images beside their XMLs in a sub-folder (Roboflow's split folders)
        match = index.lookup(name, split_tag(asset))
        found = match.path
        if found is None:
            ambiguous += match.ambiguous
            continue
        used.add(found)
        if not asset.file_name:
            asset.file_name = found.relative_to(index.folder).as_posix()
            asset.extra["voc"]["filename_made"] = asset.file_name
        if not asset.width or not asset.height:
            size = size_or_broken(found, asset.file_name, broken, left_out=False)
            if size is not None:
                asset.width, asset.height = size
                filled += 1
    if filled:
        report.info("image sizes taken from the image headers (missing or zero in the XML)", filled)
    if ambiguous:
        report.info("XML files whose image name fits several image files (sizes not read)", ambiguous)
    if not include_unlabelled:  # counted without listing them (listing costs a Path per image)
        prefix = os.path.join(os.fspath(index.folder), "")
        unread = len(index) - sum(1 for p in used if os.fspath(p).startswith(prefix))
        if unread > 0:
            report.info("images without an XML not read", unread, "a dataset is what its XML files declare; "
                        "include_unlabelled (--include-unlabelled) adds them")
        return keyed
    extra = [p for p in index if p not in used]
    if not extra:
        return keyed
    for p in extra:
        rel = p.relative_to(index.folder).as_posix()
        w, h = size_or_broken(p, rel, broken, left_out=False) or (None, None)
        keyed.append((file_stem(rel), Asset(rel, w, h, [])))
    report.info("images without an XML read as assets with no objects", len(extra), "include_unlabelled")
    keyed.sort(key=lambda item: item[0])
    return keyed


def split_tag(asset: Asset) -> str | None:
    try:
        return split_of(asset.tags)
    except FormatError:
        return None


def tag_split_folders(keyed: list[tuple[str, Asset]]) -> None:
    """XMLs under a folder naming a split (``train/x.xml``) get that split as a tag."""
    for rel, asset in keyed:
        folder = rel.partition("/")[0] if "/" in rel else None
        if folder and is_split_name(folder) and folder not in asset.tags:
            asset.tags.append(folder)


def images_beside(folder: Path) -> Iterable[str]:
    return (e.name for _, e in walk_files(folder) if e.name[e.name.rfind("."):].lower() in IMAGE_EXTENSIONS)


def image_assets(src: Any, image_dir: Path | None) -> list[tuple[str, Asset]]:
    """The assets of a segmentation-only devkit: one per image of ``JPEGImages/`` (in the
    ``ImageSets`` lists when there are some), keyed by its stem."""
    if image_dir is None or not image_dir.is_dir():
        raise FormatError("a VOC devkit without Annotations/ needs its JPEGImages/ folder", file=src.ann_dir)
    listed: set[str] | None = None
    if src.sets_dir is not None:
        listed = set()
        for p in src.sets_dir.glob("*.txt"):
            listed.update(line.split()[0] for line in p.read_text(errors="replace").splitlines() if line.split())
    out = []
    for p in ImageIndex(image_dir):
        rel = p.relative_to(image_dir).as_posix()
        stem = file_stem(rel)
        if listed is None or stem in listed:
            out.append((stem, Asset(rel, None, None, [], extra={"voc": {}})))
    return out


def add_listed_images(keyed: list[tuple[str, Asset]], sets_dir: Path, index: ImageIndex,
                      report: Report, broken: list[BrokenImage] | None = None) -> list[tuple[str, Asset]]:
    """Add, as assets with no objects, the images that an ``ImageSets`` split list declares but no
    XML describes (the devkit's negatives): they are part of the dataset the lists declare
    (`broken`: as in `attach_images`)."""
    have = {rel for rel, _ in keyed}
    added = 0
    for path in sorted(p for p in sets_dir.iterdir() if p.suffix.lower() == ".txt" and p.is_file()):
        rows = [line.split() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
        rows = [r for r in rows if r]
        if any(len(r) != 1 for r in rows):
            continue  # a per-class list, not a split list
        for (image_id,) in rows:
            if image_id in have:
                continue
            found = index.lookup(image_id).path
            if found is None:
                continue
            rel = found.relative_to(index.folder).as_posix()
            w, h = size_or_broken(found, rel, broken, left_out=False) or (None, None)
            keyed.append((image_id, Asset(rel, w, h, [])))
            have.add(image_id)
            added += 1
    if added:
        report.info("images listed in ImageSets without an XML read as assets with no objects", added)
        keyed.sort(key=lambda item: item[0])
    return keyed
