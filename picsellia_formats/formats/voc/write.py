"""write."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import FormatError, OptionError
from ...fidelity import report_foreign_fields
from ...geometry import annotation_bbox
from ...images import ImageIndex, image_size
from ...io_utils import safe_relative_path
from ...model import Annotation, Asset, Dataset, Label
from ...report import Report
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

_APPROX = {"polygon": "polygons", "mask": "masks", "keypoints": "keypoints"}
_DROP = {"line": "lines", "point": "points", "classification": "image-level classifications"}


def _objects(asset: Asset, shift: float, counts: Counts) -> list[tuple[Annotation, tuple[str, ...]]]:
    out = []
    kinds = counts.kinds
    for ann in asset.annotations:
        box = ann.box
        if (ann.mask is not None or ann.polygon is not None or ann.keypoints is not None or box is None
                or ann.line is not None or ann.point is not None):
            kind = ann.kind
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind in _DROP:
                continue
            if box is None:
                box = annotation_bbox(ann)
            if box is None:
                counts.no_box += 1
                continue
        if ann.qa:
            counts.qa += len(ann.qa)
        if ann.score is not None:
            counts.scores += 1
        if ann.iscrowd:
            counts.crowd += 1
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
    report_foreign_fields(dataset, "voc", report)  # other formats' fields it cannot hold
    source = dataset.metadata.get("voc") or {}
    if segmentation is None:
        segmentation = bool(source.get("segmentation"))
    if layout is None:
        layout = "devkit" if source.get("layout") in ("devkit", "segmentation") else "flat"
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
    statuses = image_qa = 0
    segmented: list[tuple[Asset, str, list[Annotation]]] | None = [] if segmentation else None
    used_labels: set[str] = set()
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
        for ann, _ in objects:
            used_labels.add(ann.label)
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
        if asset.status:
            statuses += 1
        image_qa += len(asset.qa)
    _write_image_sets(dataset, out, layout, image_ids, report)
    if segmented is not None:
        from .segmentation import write_segmentation

        painted = write_segmentation(dataset, out, report, items=segmented)
        for kind in ("mask", "polygon"):  # carried by the PNGs, not only as boxes
            if painted[kind]:
                counts.kinds[kind] -= painted[kind]
    _report(counts, names, report)
    if statuses:
        report.dropped("asset statuses", statuses, "VOC has no review status")
    if image_qa:
        report.dropped("image Q&A answers", image_qa, "VOC has no Q&A")
    unused = [label.name for label in dataset.labels if label.name not in used_labels]
    if unused:
        report.dropped("labels without objects", len(unused), "VOC has no label list", example=unused[0])


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
    if layout != "devkit":
        report.dropped("asset tags", tagged, "the flat layout has no ImageSets; use layout=devkit "
                       "(--voc-layout devkit)")
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
    for kind, n in sorted(counts.kinds.items()):
        if kind in _APPROX:
            report.approximated(f"{_APPROX[kind]} written as boxes", n, "VOC objects are boxes")
        elif kind in _DROP:
            report.dropped(_DROP[kind], n, "VOC has no such shape")
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
    if counts.qa:
        report.dropped("object Q&A answers", counts.qa, "VOC has no Q&A")
    if counts.scores:
        report.dropped("detection scores", counts.scores, "VOC has no score")
    if counts.crowd:
        report.dropped("crowd flags (iscrowd)", counts.crowd, "VOC has no crowd flag")
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
