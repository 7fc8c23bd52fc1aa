"""A split written as ONE training-ready dataset, in the layout each format's trainers load.

`write_split` tags every asset with its split (the source's split tags replaced, counted) and
writes into one folder (the caller's `picsellia_formats.outputs.output_dir` staging folder):

* ``yolo``: Ultralytics' layout: ``images/<split>/``, ``labels/<split>/``, one ``data.yaml``
  (``train``, ``val``, ``test`` when present, ``names``; pose keys for pose) — the YOLO writer;
* ``coco``: ``annotations/instances_<split>.json`` (+ ``images/<split>/`` with images);
* ``voc``: one devkit: ``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<split>.txt``;
* ``tfrecord``: ``<split>.record-0000i-of-0000n``, ``label_map.pbtxt`` and the input readers of a
  ``pipeline.config`` (``train_input_reader`` / ``eval_input_reader``);
* ``picsellia`` (and every other file format): one file, the split as each asset's tag;

or, with ``per_split_folders``, one dataset per split in ``<split>/`` (the first wave's output).

Nothing leaks: a split is a set of annotation records (label files, split files, list files), so
reading any of them with the original shared images folder gives exactly that split's images (the
readers add images no annotation names only with ``include_unlabelled``).

Example:
    >>> import tempfile, pathlib
    >>> import picsellia_formats as pf
    >>> ds = pf.read("fixtures/picsellia_coco_det/annotations.json")
    >>> result = pf.split(ds, [0.8, 0.2], seed=0)
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> report = write_split(result, out, "coco")
    >>> sorted(p.name for p in (out / "annotations").iterdir())
    ['instances_train.json', 'instances_val.json']
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import formats
from ..errors import FormatError, OptionError
from ..formats.capabilities import report_for_spec
from ..images import ImageIndex
from ..io_utils import safe_relative_path
from ..model import Asset, Dataset
from ..report import Report
from ..splits import canonical_split, is_split_name
from .place import IMAGE_MODES, ImagePlacer, drop_missing_images

if TYPE_CHECKING:
    from .result import SplitResult

#: Formats with a training layout of their own; any other format gets one file (or folder) with split tags.
LAYOUTS = ("yolo", "coco", "voc", "tfrecord")
#: Formats whose output embeds or only names the images: no image placement.
_NO_PLACEMENT = ("tfrecord",)
YOLO_MODES = {"copy": "copy", "hardlink": "link", "symlink": "symlink", "none": "none"}
_DROPPED_WRITE_OPTIONS = {"coco": ("split_files",), "voc": ("layout",), "tfrecord": ("split_by_tag",)}


def check_names(names: list[str], target: str, per_split_folders: bool) -> None:
    """A single-dataset layout needs split words (train, val, test or an alias), one per split."""
    if per_split_folders:
        return
    bad = [n for n in names if not is_split_name(n)]
    if bad:
        raise OptionError(f"split names {', '.join(map(repr, bad))} are not train, val or test (or an alias): "
                          f"a {target} training layout cannot place them; rename them with --names "
                          "or write one dataset per split with --per-split-folders")
    canonical = [canonical_split(n) for n in names]
    if len(set(canonical)) != len(canonical):
        raise OptionError(f"split names {', '.join(names)} name the same split twice")


def default_images_mode(target: str, images: Path | None) -> str:
    """``hardlink`` when images are given and the layout holds image files, else ``none``."""
    if images is None or target in _NO_PLACEMENT or (target not in LAYOUTS and formats.get(target).output == "file"):
        return "none"
    return "hardlink"


def layout_options(target: str, write_options: dict[str, Any]) -> dict[str, Any]:
    """`write_options` without those the single-dataset layout sets itself; OptionError for one it contradicts.

    Example:
        >>> layout_options("voc", {"layout": "devkit", "one_based": True})
        {'one_based': True}
    """
    if target == "voc" and write_options.get("layout") == "flat":
        raise OptionError("--voc-layout flat: a split written as one dataset is one VOC devkit (its ImageSets name "
                          "the splits); use --per-split-folders for flat folders")
    dropped = _DROPPED_WRITE_OPTIONS.get(target, ())
    return {k: v for k, v in write_options.items() if k not in dropped}


def images_mode_of(target: str, images: Path | None, images_mode: str | None) -> str:
    """`images_mode`, else `default_images_mode`; OptionError for a mode the layout cannot take.

    Example:
        >>> images_mode_of("tfrecord", Path("images"), None)
        'none'
    """
    spec = formats.get(target)
    mode = images_mode or default_images_mode(spec.name, images)
    if mode not in IMAGE_MODES:
        raise OptionError(f"--images-mode must be one of {', '.join(IMAGE_MODES)}, got {mode!r}")
    if mode != "none" and images is None:
        raise OptionError(f"--images-mode {mode} needs --images, the folder of the image files")
    if mode != "none" and (spec.name in _NO_PLACEMENT or (spec.output == "file" and spec.name not in LAYOUTS)):
        raise OptionError(f"--images-mode {mode}: a {spec.name} output does not hold image files "
                          f"({'the records embed them' if spec.name == 'tfrecord' else 'it names them'}); "
                          "use --images-mode none")
    return mode


def tagged_dataset(result: SplitResult, report: Report) -> Dataset:
    """The split's dataset with each asset tagged with its split (source split tags replaced)."""
    dataset = result.dataset
    if dataset is None:
        raise OptionError("this result has no dataset attached")
    names = result.names
    assets: list[Asset] = []
    replaced = 0
    for asset, s in zip(dataset.assets, result.index.tolist()):
        clone = copy.copy(asset)
        kept = [t for t in asset.tags if not is_split_name(t)]
        replaced += len(kept) != len(asset.tags)
        clone.tags = [names[s], *kept]
        assets.append(clone)
    if replaced:
        report.info("split tags of the source replaced by the new split", replaced)
    return Dataset(labels=list(dataset.labels), assets=assets, metadata=dict(dataset.metadata))


def write_split(
    result: SplitResult,
    folder: str | os.PathLike[str],
    target: str,
    *,
    images: str | os.PathLike[str] | None = None,
    images_mode: str | None = None,
    per_split_folders: bool = False,
    skip_missing_images: bool = False,
    final_folder: str | os.PathLike[str] | None = None,
    report: Report | None = None,
    progress: bool = False,
    **write_options: Any,
) -> Report:
    """Write `result`'s dataset, split, into the (new, empty) `folder` in `target`'s training layout.

    `images_mode`: ``copy``, ``hardlink`` (a copy where the file system refuses, counted),
    ``symlink`` or ``none``; default: hardlink when `images` is given and the layout holds images.
    `skip_missing_images`: leave out (and report) images whose file is not found, instead of a
    FormatError. `final_folder`: where `folder` will end up (it is a staging folder that the output
    policy swaps in): the TFRecord pipeline fragment names the shards by their absolute final paths
    (relative to the output folder without it). `write_options` go to the target's writer. Returns the report.
    Raises OptionError on names or modes the layout cannot take, FormatError on missing images.
    """
    report = report if report is not None else Report()
    folder = Path(folder)
    spec = formats.get(target)
    image_dir = Path(images) if images else None
    check_names(result.names, spec.name, per_split_folders)
    mode = images_mode_of(spec.name, image_dir, images_mode)
    if per_split_folders:
        if images_mode is not None and spec.name == "yolo":
            write_options["copy_images"] = YOLO_MODES[images_mode]
        elif images_mode not in (None, "none"):
            raise OptionError(f"--images-mode {images_mode} with --per-split-folders: only a YOLO output places "
                              "images in each split folder")
        return _per_split_folders(result, folder, spec, image_dir, report, progress, write_options)
    write_options = layout_options(spec.name, write_options)
    dataset = tagged_dataset(result, report)
    if image_dir is not None and (mode != "none" or spec.name == "tfrecord"):
        dataset = drop_missing_images(dataset, image_dir, skip_missing_images, report)
    if spec.name != "tfrecord":  # write_split_tfrecords reports it itself
        # what the target cannot hold, once and in the wording of every conversion (the writers below
        # are called directly, not through api.write)
        layout = {"coco": {"split_files": True}, "voc": {"layout": "devkit"}}.get(spec.name, {})
        report_for_spec(spec, dataset, {**write_options, **layout}, report)
    if spec.name == "yolo":
        spec.write(dataset, folder, images=image_dir, report=report, progress=progress,
                   copy_images=YOLO_MODES[mode], **write_options)
    elif spec.name == "coco":
        from ..formats.coco.write import write_split_files

        write_split_files(dataset, folder, report=report, **write_options)
        _place(dataset, image_dir, mode, lambda a, s: Path("images", s, image_rel(a.file_name)), folder, report)
    elif spec.name == "voc":
        spec.write(dataset, folder, images=image_dir, report=report, progress=progress, layout="devkit",
                   **write_options)
        _place(dataset, image_dir, mode, lambda a, s: Path("JPEGImages", image_rel(a.file_name)), folder, report)
    elif spec.name == "tfrecord":
        _write_tfrecord(dataset, folder, image_dir, report, progress, final_folder, write_options)
    else:
        out = folder / spec.default_file_name if spec.output == "file" else folder
        spec.write(dataset, out, images=image_dir, report=report, progress=progress, **write_options)
    return report


def image_rel(file_name: str) -> Path:
    """Where an image file goes under a layout's image folder: its safe relative path, else its name."""
    try:
        return safe_relative_path(file_name)
    except ValueError:
        return Path(Path(file_name.replace("\\", "/")).name or "image")


def _place(dataset: Dataset, image_dir: Path | None, mode: str, where: Any, folder: Path, report: Report) -> None:
    if image_dir is None or mode == "none":
        return
    from ..splits import split_of

    index = ImageIndex(image_dir)
    placer = ImagePlacer(mode)
    taken: set[Path] = set()
    for asset in dataset.assets:
        src = index.find(asset.file_name)
        if src is None:
            continue  # left out by drop_missing_images
        rel = where(asset, split_of(asset.tags, asset=asset.file_name))
        if rel in taken:  # two assets naming one file: the annotation files name it once
            continue
        taken.add(rel)
        placer.put(src, folder / rel)
    placer.report_to(report)


def _write_tfrecord(dataset: Dataset, folder: Path, image_dir: Path | None, report: Report, progress: bool,
                    final_folder: str | os.PathLike[str] | None, options: dict[str, Any]) -> None:
    if image_dir is None:
        raise FormatError("the TFRecord writer needs the image files: pass the images folder (--images)")
    from ..tfod.split_output import write_split_tfrecords

    out = write_split_tfrecords(dataset, folder, images=image_dir, report=report, progress=progress,
                                absolute_paths=False, **options)
    if final_folder is not None:  # name the files where they will be, not in the staging folder
        out.pipeline.write_bytes(split_pipeline_text(final_folder, out.record_sets, bool(options.get("masks"))))


def split_pipeline_text(final_folder: str | os.PathLike[str], record_sets: list[dict[str, Any]],
                        masks: bool) -> bytes:
    """The ``pipeline_input_readers.config`` of a split written as TFRecords into `final_folder` (through a
    staging folder): `record_sets` name their ``input_path`` relative to the folder.

    Example:
        >>> text = split_pipeline_text("/data/out", [{"split": "train", "input_path": "train.record"}], False)
        >>> 'input_path: "/data/out/train.record"' in text.decode()
        True
    """
    from ..tfod.pipeline import pipeline_fragment
    from ..tfod.split_output import LABEL_MAP_NAME

    base = Path(final_folder).resolve()
    sets = [{**s, "input_path": str(base / s["input_path"])} for s in record_sets]
    text = (f"# input readers of the TF Object Detection API pipeline.config for the split dataset {base}\n"
            + pipeline_fragment(sets, str(base / LABEL_MAP_NAME), masks=masks))
    return text.encode("utf-8")


def _per_split_folders(result: SplitResult, folder: Path, spec: formats.FormatSpec, image_dir: Path | None,
                       report: Report, progress: bool, options: dict[str, Any]) -> Report:
    for name, part in result.datasets().items():
        out = folder / name
        report_for_spec(spec, part, options, report)  # as api.write does; the parts' counts add up
        if spec.output == "file":
            out.mkdir(parents=True, exist_ok=True)
            out = out / spec.default_file_name
        spec.write(part, out, images=image_dir, report=report, progress=progress, **options)
    return report
