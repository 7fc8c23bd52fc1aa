"""A streamed split written as one training-ready dataset: the in-memory ``split`` output, bounded memory.

`split_stream` (``streaming.table``) reads the COCO file once for the label table, with a `SplitWatch`
looking at every asset as it passes (image files missing, split tags replaced, labels used without being
declared, polygons or masks, whether TFRecords need the Pascal fields or the image classes), then once more
here: each asset, given its split tag, goes to the target's streamed writer. What the in-memory path does to
the dataset before it writes is done to each asset as it comes, in the same order (`Retag`): image sizes the
file lacks read from the image headers (the COCO reader's `fill_sizes`), the split tag
(`stratify.output.tagged_dataset`), images not found left out or refused (`stratify.place.drop_missing_images`).
The files are the in-memory split's, byte for byte:

* TFRecord (`write_split_records`): ``{split}.record-{i:05d}-of-{n:05d}``, ``label_map.pbtxt`` and
  ``pipeline_input_readers.config``, through `write_tfrecords_stream`;
* YOLO and VOC (`write_split_layout`): Ultralytics' ``images/<split>/``, ``labels/<split>/``, ``data.yaml``
  (`formats.yolo.write.write_stream`), or one VOC devkit (`formats.voc.write.write_stream`, the images placed
  in ``JPEGImages/`` as they come).

Example:
    >>> import tempfile, pathlib
    >>> from picsellia_formats.streaming.table import split_stream
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "split"
    >>> r = split_stream("fixtures/voc_toy_cats/gts_coco_format/toy_example_coco.JSON", out, [0.8, 0.2], "tfrecord",
    ...                  images="fixtures/voc_toy_cats/images")
    >>> sorted(p.name for p in out.iterdir() if not p.name.startswith("."))[:3]
    ['label_map.pbtxt', 'pipeline_input_readers.config', 'split.json']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FormatError
from ..images import ImageIndex, image_size
from ..model import Asset, Label
from ..report import Report
from ..splits import is_split_name, split_of

if TYPE_CHECKING:
    from ..stratify.result import SplitResult
    from .api import AssetStream

#: the write options of ``split --to tfrecord`` a stream takes
OPTIONS = ("shards", "masks", "label_ids", "workers", "engine", "skip_broken")


class SplitWatch:
    """What the label-table pass learns about each asset, for the writing pass (bounded: a byte per asset).

    `images` (None: nothing is looked up) is where the image files are looked for, as the in-memory split
    looks for them (for TFRecords, and for a layout that places the images).
    """

    def __init__(self, labels: list[Label], images: Path | None) -> None:
        self.index = ImageIndex(images) if images is not None else None
        self.declared = {label.name for label in labels}
        self.missing = bytearray()  # 1: the asset's image file is not found (left out or refused)
        self.first_missing: list[str] = []
        self.n_missing = 0
        self.replaced = 0  # assets whose source split tags the new split replaces
        self.undeclared: dict[str, None] = {}  # labels used without being declared, by kept assets, in order
        self.pascal = self.classes = self.shapes = False
        self.kept = self.kept_objects = 0

    def watch(self, assets: Iterator[Asset]) -> Iterator[Asset]:
        """Yield `assets` unchanged, noting what the TFRecord pass needs."""
        from ..formats.tfrecord.jobs import voc_fields

        index = self.index
        for asset in assets:
            if asset.tags and any(is_split_name(t) for t in asset.tags):
                self.replaced += 1
            if index is not None and index.find(asset.file_name) is None:
                self.missing.append(1)
                self.n_missing += 1
                if len(self.first_missing) < 5:
                    self.first_missing.append(asset.file_name)
                yield asset
                continue
            self.missing.append(0)
            self.kept += 1
            self.kept_objects += len(asset.annotations)
            for ann in asset.annotations:
                if ann.label not in self.declared and ann.label not in self.undeclared:
                    self.undeclared[ann.label] = None
                # the two record choices of `JobBuilder`, where they are certain without building the job (an
                # object whose box is derived is left to the writer, which restarts if it turns one on)
                if ann.box is not None:
                    if not self.pascal and ann.attributes:
                        _, truncated, pose = voc_fields(ann)
                        self.pascal = bool(truncated) or pose is not None
                elif ann.mask is None and ann.polygon is None and ann.kind == "classification":
                    self.classes = True
                if ann.polygon is not None or ann.mask is not None:
                    self.shapes = True
            yield asset


class Retag:
    """The in-memory split's changes to the dataset, made to each asset of a stream (called again from the
    start when a writer restarts): assets whose image is missing left out, sizes the file lacks read from
    the headers under `images` (a folder), the split's name as the first tag, the source's split tags gone.
    `placed` (optional) is called with each asset written."""

    def __init__(self, result: SplitResult, watch: SplitWatch, images: Path | None) -> None:
        self.names = result.names
        self.index = result.index.tolist()
        self.missing = watch.missing if watch.n_missing else None
        self.sizes = ImageIndex(images) if images is not None and images.is_dir() else None

    def __call__(self, assets: Iterator[Asset]) -> Iterator[Asset]:
        names, missing, sizes = self.names, self.missing, self.sizes
        for i, (asset, k) in enumerate(zip(assets, self.index)):
            if missing is not None and missing[i]:
                continue
            if sizes is not None and not (asset.width and asset.height):
                try:
                    split = split_of(asset.tags)
                except FormatError:  # tags naming two splits: `fill_sizes` looks without a split
                    split = None
                found = sizes.lookup(asset.file_name, split).path
                if found is not None:
                    asset.width, asset.height = image_size(found)
            asset.tags = [names[k], *(t for t in asset.tags if not is_split_name(t))]
            yield asset


def _before_writing(watch: SplitWatch, images: Path | None, skip_missing: bool, report: Report) -> None:
    """The report lines (and the refusal) the in-memory split makes before its writer runs."""
    from ..stratify.place import missing_images

    if watch.replaced:
        report.info("split tags of the source replaced by the new split", watch.replaced)
    if images is not None:
        missing_images(watch.n_missing, watch.first_missing, images, skip_missing, report)


def write_split_records(src: str | os.PathLike[str], staging: Path, final_folder: str | os.PathLike[str],
                        result: SplitResult, labels: list[Label], watch: SplitWatch, images: Path, report: Report,
                        options: dict[str, Any], *, skip_missing: bool = False, progress: bool | None = False
                        ) -> None:
    """Stream `src` again into `staging`: every split's shards, the label map and the input readers naming
    the files in `final_folder`. `labels`: the source's declared labels; `options`: the TFRecord write options
    of `OPTIONS`. Raises FormatError (images missing without `skip_missing`, broken, ...) before any file
    appears in `staging`'s place.
    """
    from ..stratify.output import split_pipeline_text
    from ..tfod.labelmap import format_label_map, label_map_items
    from ..tfod.split_output import LABEL_MAP_NAME, PIPELINE_NAME
    from .tfrecord import write_tfrecords_stream

    unknown = set(options) - set(OPTIONS)
    if unknown:
        from ..errors import OptionError

        raise OptionError(f"a streamed TFRecord split takes no option {', '.join(map(repr, sorted(unknown)))}")
    _before_writing(watch, images, skip_missing, report)
    items = label_map_items([*labels, *map(Label, watch.undeclared)], ids=options.get("label_ids") or "sequential")
    write_tfrecords_stream(
        src, staging / "{split}.record", images=images, shards=options.get("shards") or 1,
        masks=bool(options.get("masks")), label_map=items, split_by_tag=True, workers=options.get("workers"),
        engine=options.get("engine"), progress=progress, report=report, skip_broken=bool(options.get("skip_broken")),
        suffixed=True, canonical_splits=True, prepare=Retag(result, watch, images), reader_report=False,
        pascal=watch.pascal, classes=watch.classes, expected=(watch.kept, watch.kept_objects))
    (staging / LABEL_MAP_NAME).write_bytes(format_label_map(items).encode("utf-8"))
    sets = [{**s, "input_path": str(Path(s["input_path"]).relative_to(staging))} for s in report.stats["record_sets"]]
    (staging / PIPELINE_NAME).write_bytes(split_pipeline_text(final_folder, sets, bool(options.get("masks"))))


def write_split_layout(src: str | os.PathLike[str], staging: Path, target: str, result: SplitResult, watch: SplitWatch,
                       images: Path | None, mode: str, report: Report, options: dict[str, Any], *,
                       skip_missing: bool = False) -> None:
    """Stream `src` again into `staging` as one YOLO or VOC dataset (`target`) with the split as each asset's
    tag: `mode` is how the images reach it (`stratify.output.images_mode_of`), `options` the target's write
    options (`stratify.output.layout_options`). Raises FormatError (images missing without `skip_missing`, a
    stream contradicting what the YOLO writer chose first, ...).
    """
    from .. import formats
    from ..formats.capabilities import tally_for_spec
    from ..model import Dataset
    from ..stratify.output import image_rel
    from .api import stream

    spec = formats.get(target)
    placing = images is not None and mode != "none"
    _before_writing(watch, images if placing else None, skip_missing, report)
    s = stream(src, "coco")
    assets = Retag(result, watch, images)(s.assets)
    cap_options = dict(options)
    if spec.name == "yolo":
        from ..formats.yolo.write import stream_task

        cap_options["task"] = stream_task(s.labels, s.metadata, watch.shapes, options.get("task"))
    else:
        cap_options["layout"] = "devkit"
    unheld = tally_for_spec(spec, Dataset(labels=list(s.labels), metadata=s.metadata), cap_options)
    if unheld is not None:
        assets = unheld.watch(assets)
    if spec.name == "yolo":
        from ..formats.yolo.write import write_stream as yolo_stream
        from ..stratify.output import YOLO_MODES

        yolo_stream(s.labels, s.metadata, assets, staging, has_shapes=watch.shapes, any_split=watch.kept > 0,
                    images=images, report=report, copy_images=YOLO_MODES[mode], **options)
    else:
        from ..formats.voc.write import write_stream as voc_stream

        placer = _Placer(images, mode) if placing else None  # type: ignore[arg-type]  # placing: images given
        if placer is not None:
            assets = placer.place(assets, staging, lambda a: Path("JPEGImages", image_rel(a.file_name)))
        voc_stream(s.labels, s.metadata, assets, staging, images=images, report=report, layout="devkit", **options)
        if placer is not None:
            placer.placer.report_to(report)
    if unheld is not None:
        unheld.report_to(report, s.labels, s.metadata)


class _Placer:
    """Image files placed as the assets pass (`stratify.output._place`'s rule: a file named twice, once)."""

    def __init__(self, images: Path, mode: str) -> None:
        from ..stratify.place import ImagePlacer

        self.index = ImageIndex(images)
        self.placer = ImagePlacer(mode)
        self.taken: set[Path] = set()

    def place(self, assets: Iterator[Asset], folder: Path, where: Callable[[Asset], Path]) -> Iterator[Asset]:
        """Yield `assets`, each one's image file put at ``folder / where(asset)`` first."""
        for asset in assets:
            found = self.index.find(asset.file_name)
            rel = where(asset)
            if found is not None and rel not in self.taken:  # two assets naming one file: placed once
                self.taken.add(rel)
                self.placer.put(found, folder / rel)
            yield asset


def write_split_coco(src: str | os.PathLike[str], staging: Path, result: SplitResult, watch: SplitWatch, images: Path,
                     mode: str, report: Report, options: dict[str, Any], *, skip_missing: bool = False) -> None:
    """Stream `src` again into `staging` as COCO split files, with the images (`mode`) in ``images/<split>/``
    and the sizes the file lacks read from them, as the in-memory split does when given `images`."""
    from ..stratify.output import image_rel
    from .api import stream

    placing = mode != "none"
    _before_writing(watch, images if placing else None, skip_missing, report)
    s = stream(src, "coco")
    assets = Retag(result, watch, images)(s.assets)
    placer = _Placer(images, mode) if placing else None
    if placer is not None:
        assets = placer.place(assets, staging, lambda a: Path("images", a.tags[0], image_rel(a.file_name)))
    s.assets = _untagged(assets)
    index = result.index.tolist()
    if watch.n_missing:
        index = [k for k, gone in zip(index, watch.missing) if not gone]
    coco_parts(s, staging, result.names, index, report, options)
    if placer is not None:
        placer.placer.report_to(report)


def _untagged(assets: Iterator[Asset]) -> Iterator[Asset]:
    """The assets without the split tag `Retag` put first: a COCO part is its file (`write_split_files` takes
    the tag off too, so it is not reported as a tag COCO drops)."""
    for asset in assets:
        del asset.tags[0]
        yield asset


def coco_parts(s: AssetStream, staging: Path, names: list[str], index: list[int], report: Report,
                options: dict[str, Any]) -> None:
    """Every COCO part in one pass: each asset pushed to its part's sink (one report per part, merged)."""
    from contextlib import ExitStack

    from ..formats.coco.split_files import SPLIT_FILE_PATTERN
    from .coco_sink import CocoSink

    if not index:  # as `write_split_files`
        from ..errors import FormatError

        raise FormatError("no asset to write: one COCO file per split needs tagged assets")
    reports = [Report() for _ in names]
    with ExitStack() as stack:
        sinks: list[CocoSink | None] = []
        (staging / "annotations").mkdir(parents=True, exist_ok=True)
        used = set(index)
        n = 0
        for k, (name, part_report) in enumerate(zip(names, reports)):
            if k not in used:  # an empty split gets no file, as in `write_split_files`
                sinks.append(None)
                continue
            # the in-memory `write_split_files` layout: other formats' dataset fields tallied with the first file
            metadata = {**(s.metadata if n == 0 else {}), "coco": s.metadata.get("coco", {})}
            n += 1
            target = staging / SPLIT_FILE_PATTERN.format(split=name)
            # a COCO image label: kept by the in-memory COCO -> COCO write only (refused, naming --no-stream)
            sinks.append(stack.enter_context(CocoSink(target, s.labels, metadata, report=part_report,
                                                      refuse_image_labels=True, source=s.path, **options)))
        for asset, k in zip(s.assets, index):
            sinks[k].add(asset)  # type: ignore[union-attr]  # k is in `used`
    for part_report in reports:
        report.merge(part_report)
