"""``stats SRC``: counts per label, kind and split, object sizes, empty images; as a table or JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from ..api import read
from ..io_utils import atomic_file
from ..stats import compute, format_table
from ._paths import check_file_output

NAME = "stats"
HELP = "print dataset statistics (per label, kind and split) as a table, and optionally as JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input file or folder")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None, help="folder of the image files")
    parser.add_argument("--json", type=Path, default=None, help="write the statistics as JSON here")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing (with --json)")


def run(args: argparse.Namespace) -> int:
    if args.json:
        check_file_output(args.json, [args.src], flag="--json")
    dataset = read(args.src, args.from_, images=args.images, progress=not args.quiet)
    stats = compute(dataset)
    if not args.quiet:
        print(format_table(stats))
    if args.json:
        with atomic_file(args.json) as f:
            f.write(orjson.dumps(stats.to_dict(), option=orjson.OPT_INDENT_2))
    return 0
