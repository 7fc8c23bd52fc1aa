"""``pull --dataset NAME --version V DST --to FORMAT``: fetch a dataset version from the Picsellia platform."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .. import formats
from ._options import add_engine_arguments, add_format_options, int_at_least, split_format_options
from ._paths import check_folder_output, check_writable

NAME = "pull"
HELP = "pull a dataset version (annotations and images) from the Picsellia platform"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dst", type=Path, help="output folder (annotations, and images/ beside them)")
    parser.add_argument("--dataset", required=True, help="dataset name on the platform")
    parser.add_argument("--version", required=True, help="dataset version name")
    parser.add_argument("--to", required=True, dest="to", help=f"output format: {formats.listing()}")
    parser.add_argument("--status", default=None, type=str.upper,
                        choices=("PENDING", "SKIPPED", "ACCEPTED", "REFUSED"),
                        help="only assets whose annotation has this review status")
    parser.add_argument("--no-images", dest="images", action="store_false", help="annotations only")
    parser.add_argument("--host", default=None, help="platform URL (default: $PICSELLIA_HOST or app.picsellia.com)")
    parser.add_argument("--organization", default=None, help="organization name or id (default: your own)")
    parser.add_argument("--workers", type=int_at_least(1), default=8, help="parallel downloads (default 8)")
    add_engine_arguments(parser, "where the images are downloaded: this process's threads (local, default) or the "
                         "workers of a Dask cluster (dask: DST must be on storage every worker shares; the API "
                         "token stays here)",
                         local_cluster="min(--workers, CPUs) processes")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="log every API call to stderr (method, path, status; never the token)")
    add_format_options(parser, read=False, write=True)


def run(args: argparse.Namespace) -> int:
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s: %(message)s")
    from ..sync import Client, pull  # the sync client loads only for sync commands

    target = formats.get(args.to).name
    check_folder_output(args.dst)
    check_writable(args.dst)
    _, write_opts = split_format_options(args, None, target)
    with Client(args.host, organization=args.organization, workers=args.workers) as client:
        result = pull(args.dataset, args.version, args.dst, target, images=args.images, status=args.status,
                      client=client, workers=args.workers, quiet=args.quiet, write_options=write_opts,
                      engine=args.engine, scheduler=args.scheduler)
    if not args.quiet:
        print(result.summary())
        if result.report:
            print(str(result.report))
    return 0
