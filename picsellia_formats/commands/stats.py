"""``stats SRC``: counts per label, kind and split, object sizes, empty images; as a table or JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson

from .. import formats
from ..errors import OptionError
from ..io_utils import atomic_file
from ._paths import check_file_output

NAME = "stats"
HELP = "print dataset statistics (per label, kind and split) as a table, and optionally as JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input file or folder")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None, help="folder of the image files")
    parser.add_argument("--json", type=Path, default=None, help="write the statistics as JSON here")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="count a COCO file without holding its assets (same numbers); by default for COCO "
                             "files of 256 MiB or more")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing (with --json)")


def run(args: argparse.Namespace) -> int:
    from ..stats import compute, format_table

    if args.json:
        check_file_output(args.json, [args.src], flag="--json")
    source = formats.get(args.from_ or formats.detect(args.src)).name
    if _streamed(args, source):
        from ..streaming.stats import stats_stream

        stats = stats_stream(args.src, source, progress=not args.quiet)
    else:
        from ..api import read

        stats = compute(read(args.src, source, images=args.images, progress=not args.quiet))
    if not args.quiet:
        print(format_table(stats))
    if args.json:
        with atomic_file(args.json) as f:
            f.write(orjson.dumps(stats.to_dict(), option=orjson.OPT_INDENT_2))
    return 0


def _streamed(args: argparse.Namespace, source: str) -> bool:
    """Whether to stream: asked, or a COCO file of `api.STREAM_ABOVE` bytes or more (sizes come from it)."""
    from .. import api
    from ..streaming.api import STREAM_SOURCES

    possible = source in STREAM_SOURCES and args.src.is_file() and args.images is None
    if args.stream and not possible:
        raise OptionError(f"stats --stream takes a file of a streamed format ({', '.join(STREAM_SOURCES)}), "
                          "without --images (image sizes missing from the file are read in memory)")
    if args.stream is None:
        return possible and args.src.stat().st_size >= api.STREAM_ABOVE
    return bool(args.stream)
