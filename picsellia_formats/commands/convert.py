"""``convert SRC DST --to FORMAT``: read any format, write any other, report what could not be carried."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import orjson

from .. import formats
from ..api import convert, read, write
from ..io_utils import atomic_file
from ..outputs import transaction
from ..report import Report
from ..textutil import count
from ._options import add_format_options, add_strict_argument, flag_spelling, respell, split_format_options
from ._paths import add_overwrite_argument, check_file_output, check_folder_output

NAME = "convert"
HELP = "convert annotations from one format to another"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input file or folder")
    parser.add_argument("dst", type=Path, help="output file or folder")
    parser.add_argument("--to", required=True, dest="to", help=f"output format: {formats.listing()}")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None, help="folder of the image files")
    add_strict_argument(parser)
    parser.add_argument("--skip-missing-images", action="store_true",
                        help="leave out (and report) the images whose file is not under --images, instead of "
                             "failing (TFRecord needs every image; other targets then drop those images)")
    parser.add_argument("--report", type=Path, default=None, help="write the conversion report as JSON here")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="move the assets one at a time in bounded memory, same output (COCO sources to "
                             "COCO; YOLO and VOC targets are buffered in memory); by default chosen for COCO "
                             "files of 256 MiB or more")
    add_overwrite_argument(parser)
    add_format_options(parser)


def summary_line(report: Report, dst: Path) -> str:
    s = report.stats
    return (f"{s['source_format']} -> {s['target_format']}: {count(s['assets'], 'asset')}, "
            f"{count(s['annotations'], 'object')}, {count(s['labels'], 'label')} in {s['seconds']:.2f} s -> {dst}")


#: Targets that embed every image: a missing file is an error naming --skip-missing-images, before writing.
_NEEDS_IMAGE_FILES = ("tfrecord",)


def _convert_checking_images(args: argparse.Namespace, source: str, target: str, read_opts: dict[str, Any],
                             write_opts: dict[str, Any]) -> Report:
    """`convert`, with the assets whose image file is missing refused (or, with --skip-missing-images,
    left out and reported) between reading and writing."""
    from ..stratify.place import drop_missing_images

    t0 = time.perf_counter()
    report = Report()
    with transaction(overwrite=args.overwrite):
        dataset = read(args.src, source, images=args.images, report=report, progress=not args.quiet, **read_opts)
        if getattr(args, "_keep", None) is not None:
            args._keep.append(dataset)
        dataset = drop_missing_images(dataset, args.images, args.skip_missing_images, report)
        write(dataset, args.dst, target, images=args.images, report=report, strict=args.strict,
              progress=not args.quiet, overwrite=args.overwrite, **write_opts)
    report.stats.update(source_format=formats.get(source).name, target_format=formats.get(target).name,
                        assets=len(dataset.assets), annotations=dataset.num_annotations,
                        labels=len(dataset.labels), seconds=round(time.perf_counter() - t0, 3))
    return report


def run(args: argparse.Namespace) -> int:
    source = formats.get(args.from_).name if args.from_ else formats.detect(args.src)
    target = formats.get(args.to).name
    args.flag_spelling = flag_spelling(target, source)  # messages name the options as convert spells them
    read_opts, write_opts = split_format_options(args, source, target)
    spec = formats.get(target)
    if spec.output == "file":
        out = args.dst / spec.default_file_name if args.dst.is_dir() else args.dst
        check_file_output(out, [args.src], into_sources=True, overwrite=args.overwrite)
    else:
        check_folder_output(args.dst, [args.src], images=args.images, kind=target, overwrite=args.overwrite)
    if args.report:
        check_file_output(args.report, [args.src], flag="--report")
    if args.images is not None and (args.skip_missing_images or target in _NEEDS_IMAGE_FILES):
        report = _convert_checking_images(args, source, target, read_opts, write_opts)
    else:
        report = convert(args.src, args.dst, target, from_=source, images=args.images, strict=args.strict,
                         read_options=read_opts, write_options=write_opts, progress=not args.quiet,
                         overwrite=args.overwrite, stream=args.stream, keep=getattr(args, "_keep", None))
    if not args.quiet:
        print(summary_line(report, args.dst))
        if report:
            print(respell(str(report), args.flag_spelling))
    if args.report:
        with atomic_file(args.report) as f:
            f.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2))
    if not args.quiet and not report.lossy:
        print("nothing dropped, approximated or rounded")
    return 0
