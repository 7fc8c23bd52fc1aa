"""Put image files into an output: copied, hard-linked (copy where the file system refuses), symlinked.

`ImagePlacer` is used by the split output (`stratify.output`) for the layouts whose writer does not
place images itself (COCO ``images/<split>/``, VOC ``JPEGImages/``). It counts what it did, so the
report can say how many hard links fell back to copies, and why.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "a.jpg").write_bytes(b"x")
    >>> placer = ImagePlacer("hardlink")
    >>> placer.put(root / "a.jpg", root / "out" / "a.jpg")
    >>> (root / "out" / "a.jpg").read_bytes(), placer.counts["hardlink"] + placer.counts["copy"]
    (b'x', 1)
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

from ..errors import FormatError, OptionError
from ..images import ImageIndex
from ..model import Dataset
from ..report import Report

#: ``--images-mode`` values: how image files reach the output.
IMAGE_MODES = ("copy", "hardlink", "symlink", "none")


class ImagePlacer:
    """Place image files by one `mode` of `IMAGE_MODES`; `counts` tallies copies, links and fallbacks."""

    def __init__(self, mode: str) -> None:
        if mode not in IMAGE_MODES:
            raise OptionError(f"images mode must be one of {', '.join(IMAGE_MODES)}, got {mode!r}")
        self.mode = mode
        self.counts: Counter[str] = Counter()
        self.fallback_reason = ""

    def put(self, src: Path, dst: Path) -> None:
        """Place `src` at `dst` (its folders made); a hard link that fails is a copy, counted."""
        if self.mode == "none":
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        if self.mode == "hardlink":
            try:
                os.link(src, dst)
                self.counts["hardlink"] += 1
                return
            except OSError as exc:  # another file system, no link support, link count limit
                self.fallback_reason = self.fallback_reason or (exc.strerror or type(exc).__name__)
                self.counts["fallback"] += 1
        elif self.mode == "symlink":
            os.symlink(os.path.abspath(src), dst)
            self.counts["symlink"] += 1
            return
        shutil.copyfile(src, dst)
        self.counts["copy"] += 1

    def report_to(self, report: Report) -> None:
        """Say how the images were placed (and how many hard links fell back to copies)."""
        placed = self.counts["copy"] + self.counts["hardlink"] + self.counts["symlink"]
        if placed:
            how = ", ".join(f"{n:,} {k}" + ("" if k == "copy" else "ed") for k, n in
                            (("hardlink", self.counts["hardlink"]), ("symlink", self.counts["symlink"]),
                             ("copy", self.counts["copy"] - self.counts["fallback"])) if n)
            report.info(f"images placed in the output ({how})", placed)
        if self.counts["fallback"]:
            report.info("images copied: the file system refused links", self.counts["fallback"],
                        why=self.fallback_reason or "the file system refused the link")


def drop_missing_images(dataset: Dataset, images: str | os.PathLike[str], skip: bool, report: Report) -> Dataset:
    """`dataset` when every asset's image file is under `images`; else a FormatError naming the missing
    files and ``--skip-missing-images``, or with `skip` the dataset without them (reported, counted).

    Example:
        >>> from picsellia_formats.model import Asset
        >>> ds = Dataset(assets=[Asset("raccoon-105.jpg"), Asset("nowhere.jpg")])
        >>> r = Report()
        >>> [a.file_name for a in drop_missing_images(ds, "fixtures/raccoon_voc/images", True, r).assets]
        ['raccoon-105.jpg']
    """
    index = ImageIndex(images)
    missing = [a.file_name for a in dataset.assets if index.find(a.file_name) is None]
    if not missing:
        return dataset
    missing_images(len(missing), missing[:5], index.folder, skip, report)
    gone = set(missing)
    return Dataset(labels=list(dataset.labels), assets=[a for a in dataset.assets if a.file_name not in gone],
                   metadata=dict(dataset.metadata))


def missing_images(count: int, first: list[str], folder: Path, skip: bool, report: Report) -> None:
    """`count` image files not found under `folder` (`first`: the first names, up to 5): a FormatError
    naming them and ``--skip-missing-images``, or with `skip` the report's line for leaving them out.

    Example:
        >>> r = Report()
        >>> missing_images(2, ["a.jpg", "b.jpg"], Path("images"), True, r)
        >>> print(r)
        2 images whose file is missing, left out of the output dropped (--skip-missing-images)
    """
    if not count:
        return
    if not skip:
        shown = ", ".join(repr(m) for m in first[:5]) + (" ..." if count > 5 else "")
        raise FormatError(f"{count:,} image files not found: {shown}; --skip-missing-images "
                          "(skip_missing_images=True) leaves such images out of the output", file=folder)
    report.dropped("images whose file is missing, left out of the output", count, "--skip-missing-images",
                   example=first[0])
