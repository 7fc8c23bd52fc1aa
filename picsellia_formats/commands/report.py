"""``report SRC OUT.html``: one self-contained page with statistics, validation findings and previews."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..api import read
from ..images import default_images_folder
from ._options import int_at_least
from ._paths import add_overwrite_argument, check_file_output

NAME = "report"
HELP = "write one self-contained HTML page: statistics with charts, validation findings, a preview gallery"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input file or folder")
    parser.add_argument("out", type=Path, help="the HTML file to write")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None, help="folder of the image files")
    parser.add_argument("--title", default=None, help="page title (default: the source's name)")
    parser.add_argument("--gallery", type=int_at_least(0), default=24,
                        help="images in the gallery (sampled; default 24)")
    parser.add_argument("--quiet", "-q", action="store_true")
    add_overwrite_argument(parser, "OUT")


def run(args: argparse.Namespace) -> int:
    check_file_output(args.out, [args.src], overwrite=args.overwrite)
    from ..html_report import write_report  # numpy and Pillow: loaded only when drawing
    dataset = read(args.src, args.from_, images=args.images, progress=not args.quiet)
    first = dataset.assets[0].file_name if dataset.assets else None
    images = args.images if args.images else default_images_folder(args.src, first)
    write_report(dataset, args.out, images=images, title=args.title or args.src.name, gallery=args.gallery,
                 progress=not args.quiet, overwrite=args.overwrite)
    if not args.quiet:
        print(f"report of {len(dataset):,} assets, {dataset.num_annotations:,} objects -> {args.out}")
    return 0
