"""write."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import FormatError, OptionError
from ...images import ImageIndex, image_size
from ...io_utils import safe_relative_path
from ...model import Annotation, Asset, Dataset, Label
from ...report import Report
from ...shapes import annotation_bbox
from ...splits import split_of
from .._writer import write_bytes
from .detect import XML_SUFFIX
from .layout import file_stem
from .render import (
    Counts,
    corner_texts,
    render_asset,
)

# ---------------------------------------------------------------------------------------------- write

#: kinds that VOC cannot write, not even as a box (reported from FORMAT.holds, as every other loss
#: of a kind, field or flag VOC has no place for)
_DROP = frozenset(("line", "point", "classification"))


def _objects(asset: Asset, shift: float, counts: Counts) -> list[tuple[Annotation, tuple[str, ...]]]:
    out = []
    for ann in asset.annotations:
        box = ann.box
        if (ann.mask is not None or ann.polygon is not None or ann.keypoints is not None or box is None
                or ann.line is not None or ann.point is not None):
            if ann.kind in _DROP:
                continue
            if box is None:
                box = annotation_bbox(ann)
            if box is None:
                counts.no_box += 1
                continue
        corners = corner_texts(box, ann.extra, shift, counts)
        if corners is not None:
            out.append((ann, corners))
    return out


def _xml_name(asset: Asset, taken: set[str], counts: dict[str, int]) -> str:
    """The XML path (relative, without .xml) of an asset: its stem, made safe and unique."""
    voc = asset.extra.get("voc") if asset.extra else None
    stem = voc.get("xml") if voc else None
    name = asset.file_name
    if stem is None:
        if "/" in name or "\\" in name or ":" in name or name in (".", "..") or "\x00" in name:
            try:
                name = safe_relative_path(name).as_posix()
            except ValueError:
                base = name.replace("\\", "/").rstrip("/").rpartition("/")[2]
                try:
                    name = safe_relative_path(base).as_posix() if base not in ("", ".", "..") else ""
                except ValueError:
                    name = ""
                counts["unsafe"] = counts.get("unsafe", 0) + 1
                if not name:
                    name = f"image_{len(taken) + 1}"
        stem = file_stem(name)
    else:
        try:
            stem = safe_relative_path(stem).as_posix()
        except ValueError:
            stem = file_stem(name.replace("\\", "/").rpartition("/")[2]) or f"image_{len(taken) + 1}"
            counts["unsafe"] = counts.get("unsafe", 0) + 1
    key = stem.casefold()
    if key in taken:
        candidates = (c for cs in ([name], (f"{stem}_{i}" for i in range(2, len(taken) + 3))) for c in cs)
        for c in candidates:
            if c.casefold() not in taken:
                stem = c
                break
        key = stem.casefold()
        counts["renamed"] = counts.get("renamed", 0) + 1
    taken.add(key)
    return stem


class VocFolder:
    """Pascal VOC XML written one asset at a time: `add` writes the asset's XML (and its segmentation
    PNGs), `close` writes ``ImageSets/Main/<tag>.txt`` and the report entries. Held per asset: its XML
    name, case-folded (names kept apart); the image ids of each tag are spooled to a file beside the output.

    Example:
        >>> import tempfile
        >>> from picsellia_formats.model import Annotation
        >>> out = Path(tempfile.mkdtemp())
        >>> w = VocFolder(out, [Label("cat")], {}, report=Report())
        >>> w.add(Asset("a.jpg", 10, 10, [Annotation("cat", box=(0, 0, 5, 5))]))
        >>> w.close(); sorted(p.name for p in out.iterdir())
        ['a.xml']
    """

    def __init__(self, out: Path, labels: list[Label], metadata: dict[str, Any], *, report: Report,
                 images: str | Path | None = None, one_based: bool = False, layout: str | None = None,
                 folder: str | None = None, segmentation: bool | None = None) -> None:
        described = Dataset(metadata=metadata)  # the options' defaults come from the source's metadata
        segmentation = writes_segmentation(described, segmentation)
        layout = layout if layout is not None else default_layout(described)
        if layout not in ("flat", "devkit"):
            raise OptionError(f"layout must be flat or devkit, got {layout!r}")
        self.out, self.labels, self.report, self.layout, self.folder = out, labels, report, layout, folder
        self.ann_dir = out / "Annotations" if layout == "devkit" else out
        self.ann_dir.mkdir(parents=True, exist_ok=True)
        self.base = str(self.ann_dir) + os.sep
        self.images = images
        self.shift = 1.0 if one_based else 0.0
        self.counts = Counts()
        self.names: dict[str, int] = {}
        self.taken: set[str] = set()
        self.made: set[str] = set()
        self.lookup: ImageIndex | None = None
        self.sets = TagLists(out)
        self.segmentation: Any = None
        if segmentation:
            from .segmentation import SegmentationWriter

            self.segmentation = SegmentationWriter(out, labels, report)

    def add(self, asset: Asset) -> None:
        """Write one asset's XML (and PNGs when segmentation is written)."""
        if asset.width is None or asset.height is None:
            if self.images is not None:
                if self.lookup is None:
                    self.lookup = ImageIndex(self.images)
                found = self.lookup.lookup(asset.file_name, _split(asset)).path
                if found is not None:
                    w, h = image_size(found)
                    asset = _sized(asset, w, h)
        counts = self.counts
        objects = _objects(asset, self.shift, counts)
        stem = _xml_name(asset, self.taken, self.names)
        if asset.tags:
            self.sets.add(asset.tags, stem)
        if "/" in stem:
            parent = stem.rpartition("/")[0]
            if parent not in self.made:
                (self.ann_dir / parent).mkdir(parents=True, exist_ok=True)
                self.made.add(parent)
        if self.segmentation is not None:
            self.segmentation.add(asset, stem, [ann for ann, _ in objects])
        data = render_asset(asset, objects, counts, self.folder)
        write_bytes(self.base + stem.replace("/", os.sep) + XML_SUFFIX, data)

    def close(self) -> None:
        """Write the ImageSets lists (devkit) and the report entries."""
        report, counts = self.report, self.counts
        self.sets.write(self.out, self.layout, report)
        if self.segmentation is not None:
            self.segmentation.close()
        _report(counts, self.names, report)

    def abort(self) -> None:
        """Remove the spooled tag lists after an error (the caller's output policy removes the folder)."""
        self.sets.remove()


def write_assets(labels: Iterable[Label], metadata: dict[str, Any], assets: Iterable[Asset], path: str | Path,
                 *, report: Report, **options: Any) -> None:
    """`VocFolder` fed with `assets`, one at a time (the in-memory `write` and `write_stream` both)."""
    folder = VocFolder(Path(path), list(labels), metadata, report=report, **options)
    try:
        add = folder.add
        for asset in assets:
            add(asset)
        folder.close()
    finally:
        folder.abort()


def write(
    dataset: Dataset,
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    one_based: bool = False,
    layout: str | None = None,
    folder: str | None = None,
    segmentation: bool | None = None,
    progress: bool = False,
) -> None:
    """Write one XML per asset into the folder `path` (`progress`: a bar on stderr when it is a terminal).

    `layout`: ``flat`` (``<stem>.xml`` in `path`) or ``devkit`` (``Annotations/<stem>.xml`` and
    ``ImageSets/Main/<tag>.txt`` from asset tags); by default the layout the data was read from
    (devkit stays devkit), else flat. `one_based` adds one to every corner (the devkit
    convention). `folder` fills ``<folder>`` for data that has none. `images` gives sizes the
    dataset lacks (from image headers). `segmentation` also writes the masks and polygons as the
    devkit's ``SegmentationClass``/``SegmentationObject`` PNGs (see `segmentation`); by default
    when the data was read with such PNGs (VOC -> VOC keeps them). The assets go through `VocFolder`
    one at a time, as a stream's do (`write_stream`).
    """
    report = report if report is not None else Report()
    assets: Iterable[Asset] = dataset.assets
    if progress and len(dataset.assets) > 1:
        from ...progress import track

        assets = track(dataset.assets, "writing VOC files", unit="file")
    write_assets(dataset.labels, dataset.metadata, assets, path, report=report, images=images,
                 one_based=one_based, layout=layout, folder=folder, segmentation=segmentation)


#: what a user can do about tags the flat layout drops
TAGS_HINT = "the devkit layout lists them in ImageSets (--voc-layout devkit)"


def default_layout(dataset: Dataset | None) -> str:
    """The layout written when none is asked: the devkit for data read from one, else flat."""
    source = (dataset.metadata.get("voc") or {}) if dataset is not None else {}
    return "devkit" if source.get("layout") in ("devkit", "segmentation") else "flat"


def writes_segmentation(dataset: Dataset | None, segmentation: bool | None) -> bool:
    """Whether the PNGs are written: asked, or by default when the data was read with them."""
    if segmentation is not None:
        return bool(segmentation)
    return bool(((dataset.metadata.get("voc") or {}) if dataset is not None else {}).get("segmentation"))


def _split(asset: Asset) -> str | None:
    try:
        return split_of(asset.tags)
    except FormatError:
        return None


def _sized(asset: Asset, width: int, height: int) -> Asset:
    """A shallow copy of `asset` with a size (the dataset is not modified)."""
    return Asset(asset.file_name, asset.width or width, asset.height or height, asset.annotations, asset.id,
                 asset.tags, asset.status, asset.metadata, asset.qa, asset.extra)


class TagLists:
    """The image ids of each asset tag, in the assets' order, spooled to files in a temporary folder
    under `parent` (in memory: a buffer per tag), and `tagged`: the assets with a tag other than their
    XML's folder."""

    FLUSH = 4096

    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self.spool: Path | None = None
        self.lists: dict[str, list[str]] = {}
        self.files: dict[str, Path] = {}
        self.tagged = 0

    def add(self, tags: list[str], stem: str) -> None:
        # a split tag that is the folder of the asset's XML (Roboflow's train/x.xml) is carried by the layout
        if [t for t in tags if t != stem.partition("/")[0] or "/" not in stem]:
            self.tagged += 1
        for tag in tags:
            ids = self.lists.setdefault(tag, [])
            ids.append(stem)
            if len(ids) >= self.FLUSH:
                self._flush(tag)

    def _flush(self, tag: str) -> None:
        path = self.files.get(tag)
        if path is None:
            if self.spool is None:
                self.spool = Path(tempfile.mkdtemp(prefix=".pf-image-sets-", dir=self.parent))
            path = self.files[tag] = self.spool / f"{len(self.files)}.txt"
        with open(path, "ab") as f:
            f.write("".join(i + "\n" for i in self.lists[tag]).encode())
        self.lists[tag] = []

    def write(self, out: Path, layout: str, report: Report) -> None:
        """``ImageSets/Main/<tag>.txt`` for the devkit layout; the flat one reports the tags dropped."""
        try:
            if not self.tagged:
                return
            if layout != "devkit":
                # FORMAT declares tags held: the flat layout's loss is known only here
                report.dropped("asset tags", self.tagged, f"VOC has no tags; {TAGS_HINT}")
                return
            sets_dir = out / "ImageSets" / "Main"
            sets_dir.mkdir(parents=True, exist_ok=True)
            bad = 0
            taken: set[str] = set()
            for tag in sorted(self.lists):
                if (not tag or "/" in tag or "\\" in tag or "\x00" in tag or tag in (".", "..") or ":" in tag
                        or tag.casefold() in taken):
                    bad += 1
                    continue
                taken.add(tag.casefold())
                target = sets_dir / f"{tag}.txt"
                if tag in self.files:
                    self._flush(tag)
                    os.replace(self.files.pop(tag), target)
                else:
                    write_bytes(str(target), "".join(i + "\n" for i in self.lists[tag]).encode())
            if bad:
                report.dropped("asset tags that cannot name a file", bad, "ImageSets/Main/<tag>.txt")
        finally:
            self.remove()

    def remove(self) -> None:
        if self.files:
            for path in self.files.values():
                path.unlink(missing_ok=True)
            self.files = {}
        if self.spool is not None:
            self.spool.rmdir()
            self.spool = None


def _report(counts: Counts, names: dict[str, int], report: Report) -> None:
    if counts.no_box:
        report.dropped("objects without geometry", counts.no_box)
    if counts.nonfinite:
        report.dropped("boxes with non-finite coordinates", counts.nonfinite)
    if counts.rounded:
        report.rounded("boxes with non-integer corners", counts.rounded, "VOC corners are written as whole "
                       "pixels, rounded to nearest")
    if counts.size_rounded:
        report.rounded("image sizes with non-integer values", counts.size_rounded)
    if counts.sizes:
        report.info("image sizes unknown, written as 0", counts.sizes, "pass images= (--images) to read them")
    if counts.attrs_json:
        report.changed("nested attribute values written as JSON text", counts.attrs_json)
    if counts.metadata:
        report.dropped("asset metadata entries", counts.metadata, "key is not a usable XML element name")
    if names.get("unsafe"):
        report.changed("unsafe image paths: XML named after the base name", names["unsafe"])
    if names.get("renamed"):
        report.changed("XML file names made unique", names["renamed"], "several images share a stem")



def write_stream(
    labels: Iterable[Label],
    metadata: dict[str, Any],
    assets: Iterable[Asset],
    path: str | Path,
    *,
    images: str | Path | None = None,
    report: Report | None = None,
    one_based: bool = False,
    layout: str | None = None,
    folder: str | None = None,
    segmentation: bool | None = None,
) -> None:
    """`write` for assets met once (a stream): each XML (and its PNGs) written as its asset comes.

    Nothing of VOC needs the whole dataset first: the layout and segmentation come from the options and
    the source's metadata, the PNGs' class list from `labels`; the ImageSets lists are spooled to disk.
    The output is `write`'s, byte for byte (other formats' fields are the caller's to tally).

    Example:
        >>> import tempfile, os
        >>> from picsellia_formats.model import Annotation, Asset, Label
        >>> out = tempfile.mkdtemp()
        >>> write_stream([Label("cat")], {}, iter([Asset("a.jpg", 10, 10, [Annotation("cat", box=(0, 0, 5, 5))])]),
        ...              out)
        >>> sorted(os.listdir(out))
        ['a.xml']
    """
    write_assets(labels, metadata, assets, path, report=report if report is not None else Report(),
                 images=images, one_based=one_based, layout=layout, folder=folder, segmentation=segmentation)
