"""write."""

from __future__ import annotations

import os
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
    when the data was read with such PNGs (VOC -> VOC keeps them).
    """
    report = report if report is not None else Report()
    segmentation = writes_segmentation(dataset, segmentation)
    layout = layout if layout is not None else default_layout(dataset)
    if layout not in ("flat", "devkit"):
        raise OptionError(f"layout must be flat or devkit, got {layout!r}")
    out = Path(path)
    ann_dir = out / "Annotations" if layout == "devkit" else out
    ann_dir.mkdir(parents=True, exist_ok=True)
    base = str(ann_dir)
    shift = 1.0 if one_based else 0.0
    counts = Counts()
    names: dict[str, int] = {}
    taken: set[str] = set()
    made: set[str] = set()
    lookup: ImageIndex | None = None
    image_ids: list[str] = []
    segmented: list[tuple[Asset, str, list[Annotation]]] | None = [] if segmentation else None
    sep = os.sep
    assets: Iterable[Asset] = dataset.assets
    if progress and len(dataset.assets) > 1:
        from ...progress import track

        assets = track(dataset.assets, "writing VOC files", unit="file")
    for asset in assets:
        if asset.width is None or asset.height is None:
            if images is not None:
                if lookup is None:
                    lookup = ImageIndex(images)
                found = lookup.lookup(asset.file_name, _split(asset)).path
                if found is not None:
                    w, h = image_size(found)
                    asset = _sized(asset, w, h)
        objects = _objects(asset, shift, counts)
        stem = _xml_name(asset, taken, names)
        image_ids.append(stem)
        if "/" in stem:
            parent = stem.rpartition("/")[0]
            if parent not in made:
                (ann_dir / parent).mkdir(parents=True, exist_ok=True)
                made.add(parent)
        if segmented is not None:
            segmented.append((asset, stem, [ann for ann, _ in objects]))
        data = render_asset(asset, objects, counts, folder)
        write_bytes(base + sep + stem.replace("/", sep) + XML_SUFFIX, data)
    _write_image_sets(dataset, out, layout, image_ids, report)
    if segmented is not None:
        from .segmentation import write_segmentation

        write_segmentation(dataset, out, report, items=segmented)
    _report(counts, names, report)


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


def _write_image_sets(dataset: Dataset, out: Path, layout: str, image_ids: list[str], report: Report) -> None:
    # a split tag that is the folder of the asset's XML (Roboflow's train/x.xml) is carried by the layout
    tagged = sum(1 for a, stem in zip(dataset.assets, image_ids)
                 if [t for t in a.tags if t != stem.partition("/")[0] or "/" not in stem])
    if not tagged:
        return
    if layout != "devkit":  # FORMAT declares tags held: the flat layout's loss is known only here
        report.dropped("asset tags", tagged, f"VOC has no tags; {TAGS_HINT}")
        return
    lists: dict[str, list[str]] = {}
    for asset, image_id in zip(dataset.assets, image_ids):
        for tag in asset.tags:
            lists.setdefault(tag, []).append(image_id)
    sets_dir = out / "ImageSets" / "Main"
    sets_dir.mkdir(parents=True, exist_ok=True)
    bad = 0
    taken: set[str] = set()
    for tag in sorted(lists):
        if (not tag or "/" in tag or "\\" in tag or "\x00" in tag or tag in (".", "..") or ":" in tag
                or tag.casefold() in taken):
            bad += 1
            continue
        taken.add(tag.casefold())
        write_bytes(str(sets_dir / f"{tag}.txt"), "".join(i + "\n" for i in lists[tag]).encode())
    if bad:
        report.dropped("asset tags that cannot name a file", bad, "ImageSets/Main/<tag>.txt")


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
    """`write` for assets met once (a stream): the same files, the assets BUFFERED into a `Dataset` first.

    The VOC writer needs the whole dataset (the ``ImageSets`` lists, the segmentation palette), so this
    holds every asset in memory, then calls `write`: the output is `write`'s, the memory is not bounded
    (see docs/scale.md).

    Example:
        >>> import tempfile, os
        >>> from picsellia_formats.model import Annotation, Asset, Label
        >>> out = tempfile.mkdtemp()
        >>> write_stream([Label("cat")], {}, iter([Asset("a.jpg", 10, 10, [Annotation("cat", box=(0, 0, 5, 5))])]),
        ...              out)
        >>> sorted(os.listdir(out))
        ['a.xml']
    """
    write(Dataset(labels=labels, assets=assets, metadata=metadata), path, images=images, report=report,
          one_based=one_based, layout=layout, folder=folder, segmentation=segmentation)
