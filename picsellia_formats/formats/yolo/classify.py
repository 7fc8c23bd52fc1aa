"""Ultralytics classification datasets: ``<split>/<class>/<image>``, no label files.

Read: each image becomes an asset named ``<class>/<file>`` tagged with its split, holding one image-level
classification (an annotation without geometry) of its class. Written: the images copied (or linked)
into ``<split>/<class>/`` for each asset's one classification (Ultralytics reads one class per image).

Example:
    >>> ds = read_classify(Path("fixtures/real_exports/ultralytics_classify"))
    >>> [(a.file_name, a.tags, a.annotations[0].label) for a in ds.assets][:1]
    [('n01440764/a.JPEG', ['train'], 'n01440764')]
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ...errors import FormatError, OptionError
from ...images import IMAGE_EXTENSIONS, ImageIndex, image_size
from ...model import Annotation, Asset, Dataset, Label
from ...report import Report
from ...splits import canonical_split, split_of, split_order


def _children(folder: Path) -> list[os.DirEntry[str]]:
    try:
        return sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []


def classify_layout(root: Path) -> dict[str, dict[str, list[Path]]] | None:
    """``{split: {class: [images]}}`` when `root` is a classification dataset, else None.

    Every child folder must name a split and hold only class folders of images (no .txt anywhere).
    """
    if not root.is_dir():
        return None
    out: dict[str, dict[str, list[Path]]] = {}
    for split_dir in _children(root):
        if split_dir.name.startswith("."):
            continue
        if not split_dir.is_dir():
            if split_dir.name.lower().endswith((".txt", ".yaml", ".yml", ".json", ".xml")):
                return None
            continue
        if canonical_split(split_dir.name) is None:
            return None
        classes: dict[str, list[Path]] = {}
        for cls in _children(Path(split_dir.path)):
            if not cls.is_dir():
                return None
            files = _children(Path(cls.path))
            if any(not f.is_file() or os.path.splitext(f.name)[1].lower() not in IMAGE_EXTENSIONS for f in files):
                return None
            classes[cls.name] = [Path(f.path) for f in files]
        if not classes:
            return None
        out[split_dir.name] = classes
    return out if out and any(imgs for c in out.values() for imgs in c.values()) else None


def read_classify(root: Path, layout: dict[str, dict[str, list[Path]]] | None = None) -> Dataset:
    """A classification dataset folder as image-level classifications (see the module doc)."""
    layout = layout if layout is not None else classify_layout(root)
    if layout is None:
        raise FormatError("not a classification dataset (<split>/<class>/<images>)", file=root)
    names = sorted({c for classes in layout.values() for c in classes})
    assets = []
    for split in sorted(layout, key=split_order):
        for cls in sorted(layout[split]):
            for img in layout[split][cls]:
                w, h = image_size(img)
                assets.append(Asset(f"{cls}/{img.name}", w, h, [Annotation(cls)], tags=[split]))
    return Dataset([Label(n) for n in names], assets, {"yolo": {"task": "classify", "splits":
                                                                 sorted(layout, key=split_order)}})


def write_classify(dataset: Dataset, out: Path, images: Path | None, mode: str, report: Report) -> None:
    """Copy (``mode="copy"``), hard-link (``"link"``) or symlink each asset's image into ``<split>/<class>/``.

    Raises OptionError without `images` (a classification dataset is its images).
    """
    if images is None or mode == "none":
        raise OptionError("YOLO classify output is folders of images: pass --images (the folder of the image "
                          "files) and do not use --yolo-images none")
    index = ImageIndex(images)
    no_class = several = missing = copied = 0
    taken: set[str] = set()
    for asset in dataset.assets:
        classes = [a.label for a in asset.annotations if a.box is None and a.polygon is None and a.mask is None
                   and a.keypoints is None and a.line is None and a.point is None]
        # objects with geometry: reported from the format's declaration (formats.yolo.holds_for)
        if not classes:
            no_class += 1
            continue
        several += len(set(classes)) > 1
        split = split_of(asset.tags, asset=asset.file_name) or "train"
        src = index.find(asset.file_name, split)
        if src is None:
            missing += 1
            continue
        base = Path(asset.file_name.replace("\\", "/")).name
        rel = f"{split}/{classes[0]}/{base}"
        stem, ext = os.path.splitext(rel)
        i = 2
        while rel in taken:
            rel = f"{stem}_{i}{ext}"
            i += 1
        taken.add(rel)
        copied += not put_image(src, str(out / rel), mode)
    report.info("images copied: the file system refused links", copied)
    report.dropped("images without an image-level class", no_class, "a classify dataset files each image "
                   "under its class")
    report.dropped("image classes beyond the first", several, "Ultralytics classify holds one class per image")
    if missing:
        raise FormatError(f"{missing} images not found under {images}", file=images)


def put_image(src: Path, dst: str, mode: str) -> bool:
    """Put the image `src` at `dst`: ``copy``, ``link`` (a hard link) or ``symlink`` (absolute).

    Returns False when a link was asked but the file system refused it and the file was copied instead.
    """
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if mode in ("link", "symlink"):
        try:
            if mode == "link":
                os.link(src, dst)
            else:
                os.symlink(os.path.abspath(src), dst)
            return True
        except OSError:
            shutil.copyfile(src, dst)
            return False
    shutil.copyfile(src, dst)
    return True
