"""``rasterise SRC DST``: one mask PNG per image (semantic: label index; instance: object index)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import formats
from ..api import read
from ..errors import FormatError
from ._options import add_engine_arguments, int_at_least
from ._paths import add_overwrite_argument, check_folder_output

#: `picsellia_formats.rasterise.KINDS` and ``FORMATS`` (that module loads numpy; --help must not)
KINDS = ("semantic", "instance")
FORMATS = ("png",)
NAME = "rasterise"
HELP = "write one mask PNG per image (semantic: label index, instance: object index) with a labels.txt legend"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input file or folder (any readable format)")
    parser.add_argument("dst", type=Path, help="output folder (replaced atomically)")
    parser.add_argument("--kind", choices=KINDS, default="semantic",
                        help="semantic: pixel = 1 + label position; instance: pixel = 1 + object position")
    parser.add_argument("--format", dest="image_format", choices=FORMATS, default="png",
                        help="mask file format (palette PNG up to 255 values, else 16-bit)")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None,
                        help="folder of the image files (sizes the annotations lack)")
    parser.add_argument("--boxes", action="store_true", help="also paint box-only objects as rectangles")
    parser.add_argument("--jobs", "-j", "--workers", type=int_at_least(1), default=1,
                        help="worker processes (default 1: this one; with --engine dask: the local cluster's)")
    add_engine_arguments(parser, "where masks are painted: local process pool (default) or a Dask cluster (the 'dask' "
                             "extra; same PNGs; see docs/scale.md)",
                         "--jobs")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="read a COCO source one batch of images at a time in bounded memory, same masks; by "
                             "default chosen for COCO files of 256 MiB or more")
    parser.add_argument("--quiet", "-q", action="store_true")
    add_overwrite_argument(parser, "DST")


def run(args: argparse.Namespace) -> int:
    check_folder_output(args.dst, [args.src], images=args.images, kind="rasterise", overwrite=args.overwrite)
    from ..rasterise import rasterise  # numpy and pycocotools: loaded only when painting

    options = dict(images=args.images, boxes=args.boxes, jobs=max(1, args.jobs), engine=args.engine,
                   scheduler=args.scheduler, progress=not args.quiet, overwrite=args.overwrite)
    if _streams(args):
        from ..streaming.rasterise import rasterise_stream

        source = formats.get(args.from_).name if args.from_ else formats.detect(args.src)
        if source != "coco":
            raise FormatError(f"{source} cannot be read as a stream (streamed sources: coco): run without --stream",
                              file=args.src)
        report = rasterise_stream(args.src, args.dst, args.kind, **options)
    else:
        dataset = read(args.src, args.from_, images=args.images, progress=not args.quiet)
        report = rasterise(dataset, args.dst, args.kind, **options)
    if not args.quiet:
        s = report.stats
        print(f"{s['images']:,} {args.kind} masks ({s['objects']:,} objects) -> {args.dst}")
        if report:
            print(str(report))
    return 0


def _streams(args: argparse.Namespace) -> bool:
    """``--stream``/``--no-stream``, else a COCO file of `api.STREAM_ABOVE` bytes or more."""
    if args.stream is not None:
        return bool(args.stream)
    from ..api import STREAM_ABOVE

    if not args.src.is_file() or args.src.stat().st_size < STREAM_ABOVE:
        return False
    source = formats.get(args.from_).name if args.from_ else formats.detect(args.src)
    return source == "coco"
