"""``push SRC --dataset NAME --version V``: send annotations and their images to the Picsellia platform."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .. import formats
from ..api import read
from ..errors import OptionError
from ..images import default_images_folder
from ..model import Dataset
from ..report import Report
from ._options import add_engine_arguments, add_format_options, int_at_least, split_format_options

NAME = "push"
HELP = "push annotations and images to a dataset version on the Picsellia platform"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="annotation file or folder to push")
    parser.add_argument("--dataset", required=True, help="dataset name on the platform (created if needed)")
    parser.add_argument("--version", required=True, help="dataset version name (created if needed)")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None,
                        help="folder of the image files (default: SRC/images, SRC/../images, SRC or its folder)")
    parser.add_argument("--host", default=None, help="platform URL (default: $PICSELLIA_HOST or app.picsellia.com)")
    parser.add_argument("--organization", default=None, help="organization name or id (default: your own)")
    parser.add_argument("--tag", action="append", default=[], dest="tags", metavar="T",
                        help="asset tag given to every pushed image (repeatable)")
    parser.add_argument("--type", default=None, help="dataset type (default: inferred from the objects)")
    parser.add_argument("--mode", default="REPLACE", choices=("REPLACE", "KEEP", "CONCATENATE"),
                        type=str.upper, help="what to do with annotations already on the platform")
    parser.add_argument("--workers", type=int_at_least(1), default=8, help="parallel uploads (default 8)")
    add_engine_arguments(parser, "where the image bytes are sent from: this process's threads (local, default) or "
                         "the workers of a Dask cluster (dask: --images must be visible at the same path on every "
                         "worker; the API token stays here)",
                         local_cluster="min(--workers, CPUs) processes")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="push a COCO file without holding its assets: checked, then sent in batches of "
                             "--batch images; by default for COCO files of 256 MiB or more")
    parser.add_argument("--batch", type=int_at_least(1), default=None,
                        help="with --stream: images held and sent per batch (default 2,000)")
    parser.add_argument("--dry-run", action="store_true", help="check everything locally, print the plan, send nothing")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="log every API call to stderr (method, path, status; never the token)")
    add_format_options(parser, read=True, write=False)


def guess_images_dir(src: Path, dataset: Dataset) -> Path:
    """The images folder `images.default_images_folder` picks for SRC (else SRC's own folder)."""
    first = dataset.assets[0].file_name if dataset.assets else None
    return default_images_folder(src, first) or (src if src.is_dir() else src.parent)


def run(args: argparse.Namespace) -> int:
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s: %(message)s")
    from ..sync import Client, push  # the sync client loads only for sync commands

    source = args.from_ or formats.detect(args.src)
    read_opts, _ = split_format_options(args, source, None)
    report = Report()
    streamed = _streamed(args, source, read_opts)
    if streamed:
        from ..streaming.push import first_file_name, push_coco_stream

        first = first_file_name(args.src)
        images = args.images or default_images_folder(args.src, first) or args.src.parent
    else:
        dataset = read(args.src, source, images=args.images, report=report, progress=not args.quiet, **read_opts)
        images = args.images or guess_images_dir(args.src, dataset)
    client = None if args.dry_run else Client(args.host, organization=args.organization, workers=args.workers)
    try:
        options = {"tags": args.tags, "type": args.type, "client": client, "mode": args.mode,
                   "workers": args.workers, "dry_run": args.dry_run, "quiet": args.quiet,
                   "engine": args.engine, "scheduler": args.scheduler}
        if streamed:
            result = push_coco_stream(args.src, images, args.dataset, args.version, report=report,
                                      **options, **({"batch": args.batch} if args.batch else {}))
        else:
            result = push(dataset, images, args.dataset, args.version, **options)
    finally:
        if client is not None:
            client.close()
    report.merge(result.report)
    if not args.quiet:
        print(result.summary())
        if report:
            print(str(report))
    return 0


def _streamed(args: argparse.Namespace, source: str, read_opts: dict[str, object]) -> bool:
    """Whether to stream: asked, or a COCO file of `api.STREAM_ABOVE` bytes or more without read options."""
    from .. import api
    from ..streaming.api import STREAM_SOURCES

    possible = (formats.get(source).name in STREAM_SOURCES and args.src.is_file()
                and not {k: v for k, v in read_opts.items() if v is not None})
    if args.stream and not possible:
        raise OptionError(f"push --stream takes a file of a streamed format ({', '.join(STREAM_SOURCES)}) "
                          "without read options")
    if args.batch is not None and not (args.stream or (args.stream is None and possible)):
        raise OptionError("--batch is for a streamed push (--stream)")
    if args.stream is None:
        return possible and args.src.stat().st_size >= api.STREAM_ABOVE
    return bool(args.stream)
