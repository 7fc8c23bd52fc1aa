"""``tfrecord SRC OUT_PREFIX``: TFRecords for the TF Object Detection API, plus their label map.

Prints the ``pipeline.config`` input-reader lines that read the result to stdout; the summary and
the fidelity report go to stderr. Images are looked up in ``--images``, else beside SRC (SRC's
folder and its ``images/`` and ``JPEGImages/``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

from .. import formats
from ..api import read
from ..images import default_images_folder
from ..io_utils import atomic_file, atomic_path
from ..report import Report
from ._options import add_format_options, int_at_least, split_format_options
from ._paths import check_file_output

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
    parser.add_argument("--skip-missing-images", action="store_true",
                        help="leave out (and report) images whose file is missing instead of failing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--strict", action="store_true",
                        help="refuse (exit 1, write nothing) if anything would be dropped or approximated")
    parser.add_argument("--report", type=Path, default=None, help="write the conversion report as JSON here")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    add_format_options(parser, write=False)


def default_image_roots(src: Path, first_image: str | None = None) -> list[Path]:
    """Where the images of SRC are looked for: the folder `images.default_images_folder` picks, then
    SRC's own folder (the TFRecord writer tries each root in turn)."""
    base = src if src.is_dir() else src.parent
    guess = default_images_folder(src, first_image)
    return [guess, base] if guess is not None and guess != base else [base]


def run(args: argparse.Namespace) -> int:
    from ..formats.tfrecord.jobs import labels_in_use
    from ..formats.tfrecord.write import write_tfrecords
    from ..tfod.labelmap import format_label_map, label_map_items  # the tfod package loads numpy
    from ..tfod.pipeline import input_reader_config, reader_for_split

    t0 = time.perf_counter()
    source = args.from_ or formats.detect(args.src)
    read_opts, _ = split_format_options(args, source, None)
    label_map_path: Path = args.label_map or args.out_prefix.parent / "label_map.pbtxt"
    check_file_output(args.out_prefix, [args.src])
    check_file_output(label_map_path, [args.src], flag="--label-map" if args.label_map else "")
    if args.report:
        check_file_output(args.report, [args.src], flag="--report")
    report = Report()
    dataset = read(args.src, source, images=args.images, report=report, progress=not args.quiet,
                   **read_opts)
    first = dataset.assets[0].file_name if dataset.assets else None
    images = [args.images] if args.images is not None else default_image_roots(args.src, first)
    items = label_map_items(labels_in_use(dataset), ids=args.label_ids)
    prefix: Path = args.out_prefix
    paths = write_tfrecords(dataset, prefix, images=images, shards=args.shards, masks=args.masks,
                            label_map=items, split_by_tag=args.split_by_tag, workers=args.workers,
                            progress=False if args.no_progress or args.quiet else None, report=report,
                            strict=args.strict, skip_missing=args.skip_missing_images)
    with atomic_path(label_map_path) as tmp:
        tmp.write_bytes(format_label_map(items).encode("utf-8"))
    if args.report:
        with atomic_file(args.report) as f:
            f.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2))
    if args.quiet:
        return 0
    seconds = time.perf_counter() - t0
    print(f"{formats.get(source).name} -> tfrecord: {report.stats['records']:,} of {len(dataset):,} images, "
          f"{report.stats.get('objects', 0):,} of {dataset.num_annotations:,} objects, {len(items)} labels "
          f"in {seconds:.2f} s -> {len(paths)} file(s), "
          f"label map {label_map_path}", file=sys.stderr)
    if report:
        print(str(report), file=sys.stderr)
    print("# pipeline.config input readers (TF Object Detection API)")
    for record_set in report.stats["record_sets"]:
        split = record_set["split"]
        if split:
            print(f"# {split}: {record_set['records']:,} images")
        print(input_reader_config(str(Path(record_set["input_path"]).resolve()), str(label_map_path.resolve()),
                                  masks=args.masks, reader=reader_for_split(split)))
    return 0

