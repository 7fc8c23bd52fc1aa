"""``tfrecord SRC OUT_PREFIX``: TFRecords for the TF Object Detection API, plus their label map.

Prints the ``pipeline.config`` input-reader lines that read the result to stdout: a
``train_input_reader`` for a training split, an ``eval_input_reader`` for val or test (the split
comes from the images' split tags, else the output name, else SRC's name; ``--split-by-tag`` gives
one block per split); the summary and the fidelity report go to stderr. Images are found by the one
`images.ImageIndex` policy in ``--images``, else beside SRC (the folder `default_images_folder`
picks, and SRC's folder for paths as written); a TFRecord SRC reuses the images it embeds. Every
image is decoded (cheaply) before it is packed: a broken one, or one whose header claims more than
``--max-pixels``, stops the run unless ``--skip-broken-images``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from .. import formats
from ..api import read
from ..errors import FormatError, OptionError
from ..images import ImageIndex, default_images_folder
from ..io_utils import atomic_file, atomic_path
from ..outputs import check_file, check_file_set
from ..report import Report
from ..splits import canonical_split, split_of
from ._options import add_engine_arguments, add_format_options, add_strict_argument, int_at_least, split_format_options
from ._paths import add_overwrite_argument, check_file_output

NAME = "tfrecord"
HELP = "write TFRecords for the TensorFlow Object Detection API (and the label map, and the config lines)"


def _shards(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input dataset file or folder")
    parser.add_argument("out_prefix", type=Path,
                        help="output prefix, e.g. out/train.record (shards: out/train.record-00000-of-00004)")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None,
                        help="folder of the image files (default: beside SRC)")
    parser.add_argument("--shards", type=_shards, default=1, help="number of shard files (default 1)")
    parser.add_argument("--masks", action="store_true",
                        help="write one PNG instance mask per object (pipeline: mask_type PNG_MASKS)")
    parser.add_argument("--split-by-tag", action="store_true",
                        help="one record set per split tag (train, val, test): PREFIX-train, PREFIX-val, ...")
    parser.add_argument("--label-map", type=Path, default=None,
                        help="label map to write (default: label_map.pbtxt beside the records)")
    parser.add_argument("--label-ids", choices=("sequential", "keep"), default="sequential",
                        help="label-map ids 1..n in label order (default), or keep the source's ids")
    parser.add_argument("--workers", type=int_at_least(0), default=None,
                        help="processes encoding images (default: automatic; 0: none)")
    add_engine_arguments(parser, "where images are encoded: local process pool (default) or a Dask cluster (the "
                             "'dask' extra; same bytes; see docs/scale.md)")
    parser.add_argument("--skip-missing-images", action="store_true",
                        help="leave out (and report) images whose file is missing instead of failing")
    parser.add_argument("--skip-broken-images", action="store_true",
                        help="leave out (and report) images that do not decode or are over --max-pixels "
                             "instead of failing")
    parser.add_argument("--max-pixels", type=int_at_least(0), default=None,
                        help="refuse images whose header claims more pixels (default: Pillow's limit, "
                             "89,478,485; 0: no limit)")
    parser.add_argument("--decode-check", choices=("fast", "full", "none"), default="fast",
                        help="how each image is checked to decode before it is packed: fast (JPEG end marker, "
                             "else a 1/8-scale decode; PNG chunk CRCs; default), full (decode JPEG at 1/8 "
                             "scale and PNG), none (header only)")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="read a COCO source one batch of images at a time in bounded memory, same records; "
                             "by default chosen for COCO files of 256 MiB or more (like convert)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_strict_argument(parser)
    parser.add_argument("--report", type=Path, default=None, help="write the conversion report as JSON here")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    add_overwrite_argument(parser, "an existing record set (any shard count) and label map")
    add_format_options(parser, write=False)


def default_image_index(src: Path, first_image: str | None = None) -> ImageIndex:
    """Where the images of SRC are looked for: the folder `images.default_images_folder` picks (else
    SRC's own folder), with SRC's folder for paths as written."""
    base = src if src.is_dir() else src.parent
    return ImageIndex(default_images_folder(src, first_image) or base, base)


def run_split(dataset: Any, prefix: Path, src: Path) -> str | None:
    """The split of a run without ``--split-by-tag``: the one split every image is tagged with, else
    the one the output name says (``val.record``, ``data-test.record``), else SRC's name
    (``S/val``, ``instances_train.json``); None when nothing names one."""
    found = set()
    for asset in dataset.assets:
        tag = split_of(asset.tags) if asset.tags else None
        found.add(canonical_split(tag) if tag else None)
    return split_named(found, prefix, src)


def split_named(found: set[str | None] | frozenset[str | None], prefix: Path, src: Path) -> str | None:
    """`run_split` given the canonical splits of the images' tags (None: untagged)."""
    from ..formats.tfrecord.read import split_tag_of_name

    found = set(found)
    if len(found) == 1 and None not in found:
        return found.pop()
    for name in (prefix.name, src.name if src.is_dir() else src.stem):
        tag = split_tag_of_name(name)
        if tag:
            return canonical_split(tag)
    return None


def run(args: argparse.Namespace) -> int:
    from ..formats.tfrecord.write import write_tfrecords
    from ..labels import labels_in_use
    from ..tfod.labelmap import format_label_map, label_map_items

    t0 = time.perf_counter()
    source = args.from_ or formats.detect(args.src)
    read_opts, _ = split_format_options(args, source, None)
    label_map_path: Path = args.label_map or args.out_prefix.parent / "label_map.pbtxt"
    check_file_output(args.out_prefix, [args.src])
    check_file_output(label_map_path, [args.src], flag="--label-map" if args.label_map else "")
    if args.report:
        check_file_output(args.report, [args.src], flag="--report")
    if "{split}" not in str(args.out_prefix):
        check_file_set(args.out_prefix, overwrite=args.overwrite, any_split=args.split_by_tag)
    report = Report()
    if _streams(args, source, read_opts):
        given = sorted(k for k, v in read_opts.items() if v is not None)
        if given:
            raise OptionError(f"a streamed read takes no reader option ({', '.join(given)}): run without --stream")
        return _run_stream(args, source, label_map_path, report, t0)
    dataset = read(args.src, source, images=args.images, report=report, progress=not args.quiet,
                   **read_opts)
    first = dataset.assets[0].file_name if dataset.assets else None
    images: Any
    if args.images is not None:
        images = args.images
    elif formats.get(source).name == "tfrecord":
        images = args.src  # the records hold the images
    else:
        images = default_image_index(args.src, first)
    items = label_map_items(labels_in_use(dataset), ids=args.label_ids)
    check_file(label_map_path, overwrite=args.overwrite, same_bytes=format_label_map(items).encode("utf-8"))
    prefix: Path = args.out_prefix
    paths = write_tfrecords(dataset, prefix, images=images, shards=args.shards, masks=args.masks,
                            label_map=items, split_by_tag=args.split_by_tag, workers=args.workers,
                            engine=args.engine, scheduler=args.scheduler,
                            progress=False if args.no_progress or args.quiet else None, report=report,
                            strict=args.strict, skip_missing=args.skip_missing_images,
                            skip_broken=args.skip_broken_images, check_decode=args.decode_check,
                            max_pixels=-1 if args.max_pixels is None else (args.max_pixels or None),
                            overwrite=args.overwrite)
    with atomic_path(label_map_path) as tmp:
        tmp.write_bytes(format_label_map(items).encode("utf-8"))
    found = set()
    if not args.split_by_tag and not args.quiet:
        for asset in dataset.assets:
            tag = split_of(asset.tags) if asset.tags else None
            found.add(canonical_split(tag) if tag else None)
    return _finish(args, report, source, (len(dataset), dataset.num_annotations), items, label_map_path, paths,
                   found, t0)


def _finish(args: argparse.Namespace, report: Report, source: str, sizes: tuple[int, int], items: list[Any],
            label_map_path: Path, paths: list[Path], found: set[str | None] | frozenset[str | None],
            t0: float) -> int:
    """The JSON report, the summary and report on stderr, the pipeline input readers on stdout."""
    from ..tfod.pipeline import pipeline_fragment

    if args.report:
        with atomic_file(args.report) as f:
            f.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2))
    if args.quiet:
        return 0
    seconds = time.perf_counter() - t0
    print(f"{formats.get(source).name} -> tfrecord: {report.stats['records']:,} of {sizes[0]:,} images, "
          f"{report.stats.get('objects', 0):,} of {sizes[1]:,} objects, {len(items)} labels "
          f"in {seconds:.2f} s -> {len(paths)} file(s), "
          f"label map {label_map_path}", file=sys.stderr)
    if report:
        print(str(report), file=sys.stderr)
    print("# pipeline.config input readers (TF Object Detection API)")
    sets = [dict(s, input_path=str(Path(s["input_path"]).resolve())) for s in report.stats["record_sets"]]
    if not args.split_by_tag:
        sets[0]["split"] = split_named(found, args.out_prefix, args.src)
        if sets[0]["split"] is None:
            print("# no split named by the images' tags, the output or the source: shown as the training set")
            sets[0]["split"] = "train"
    print(pipeline_fragment(sets, str(label_map_path.resolve()), masks=args.masks), end="")
    return 0


def _streams(args: argparse.Namespace, source: str, read_opts: dict[str, Any]) -> bool:
    """Whether to stream: ``--stream``/``--no-stream``, else a COCO file of `api.STREAM_ABOVE` bytes or more
    that a stream reads like the in-memory reader (no read option, not named for a split)."""
    if args.stream is not None:
        return bool(args.stream)
    from ..api import STREAM_ABOVE
    from ..streaming.api import file_split

    if formats.get(source).name != "coco" or not args.src.is_file() or any(v is not None for v in read_opts.values()):
        return False
    return args.src.stat().st_size >= STREAM_ABOVE and file_split(args.src) is None


def _run_stream(args: argparse.Namespace, source: str, label_map_path: Path, report: Report, t0: float) -> int:
    """``tfrecord --stream``: the COCO source streamed into the records (`streaming.tfrecord`)."""
    from ..streaming.tfrecord import first_image_name, write_tfrecords_stream
    from ..tfod.labelmap import format_label_map

    if formats.get(source).name != "coco":
        raise FormatError(f"{formats.get(source).name} cannot be read as a stream (streamed sources: coco): "
                          "run without --stream", file=args.src)
    images: Any = args.images if args.images is not None else default_image_index(args.src, first_image_name(args.src))
    kept: list[Any] = []

    def check_label_map(items: list[Any]) -> None:
        kept[:] = items
        check_file(label_map_path, overwrite=args.overwrite, same_bytes=format_label_map(items).encode("utf-8"))

    result = write_tfrecords_stream(
        args.src, args.out_prefix, images=images, shards=args.shards, masks=args.masks, label_ids=args.label_ids,
        split_by_tag=args.split_by_tag, workers=args.workers, engine=args.engine, scheduler=args.scheduler,
        progress=False if args.no_progress or args.quiet else None, report=report, strict=args.strict,
        skip_missing=args.skip_missing_images, skip_broken=args.skip_broken_images, check_decode=args.decode_check,
        max_pixels=-1 if args.max_pixels is None else (args.max_pixels or None), overwrite=args.overwrite,
        on_labels=check_label_map)
    with atomic_path(label_map_path) as tmp:
        tmp.write_bytes(format_label_map(kept).encode("utf-8"))
    return _finish(args, report, source, (result.n_assets, result.n_annotations), kept, label_map_path,
                   result.paths, result.splits, t0)
