"""``convert SRC DST --to FORMAT``: read any format, write any other, report what could not be carried."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from .. import formats
from ..api import convert
from ..io_utils import atomic_file
from ..report import Report
from ._options import add_format_options, split_format_options
from ._paths import add_overwrite_argument, check_file_output, check_folder_output

NAME = "convert"
HELP = "convert annotations from one format to another"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input file or folder")
    parser.add_argument("dst", type=Path, help="output file or folder")
    parser.add_argument("--to", required=True, dest="to", help=f"output format ({', '.join(formats.names())})")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None, help="folder of the image files")
    parser.add_argument("--strict", action="store_true",
                        help="refuse (exit 1, write nothing) if anything would be dropped or approximated")
    parser.add_argument("--report", type=Path, default=None, help="write the conversion report as JSON here")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="move the assets one at a time in bounded memory, same output (COCO sources to "
                             "COCO, YOLO or VOC); by default chosen for COCO files of 256 MiB or more")
    add_overwrite_argument(parser)
    add_format_options(parser)


def summary_line(report: Report, dst: Path) -> str:
    s = report.stats
    return (f"{s['source_format']} -> {s['target_format']}: {s['assets']:,} assets, "
            f"{s['annotations']:,} objects, {s['labels']:,} labels in {s['seconds']:.2f} s -> {dst}")


def run(args: argparse.Namespace) -> int:
    source = args.from_ or formats.detect(args.src)
    target = formats.get(args.to).name
    read_opts, write_opts = split_format_options(args, source, target)
    spec = formats.get(target)
    if spec.output == "file":
        out = args.dst / spec.default_file_name if args.dst.is_dir() else args.dst
        check_file_output(out, [args.src], into_sources=True, overwrite=args.overwrite)
    else:
        check_folder_output(args.dst, [args.src], images=args.images, kind=target, overwrite=args.overwrite)
    if args.report:
        check_file_output(args.report, [args.src], flag="--report")
    report = convert(args.src, args.dst, target, from_=source, images=args.images, strict=args.strict,
                     read_options=read_opts, write_options=write_opts, progress=not args.quiet,
                     overwrite=args.overwrite, stream=args.stream,
                     keep=getattr(args, "_keep", None))
    if not args.quiet:
        print(summary_line(report, args.dst))
        if report:
            print(str(report))
    if args.report:
        with atomic_file(args.report) as f:
            f.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2))
    if not args.quiet and not report.lossy:
        print("nothing dropped, approximated or rounded")
    return 0
