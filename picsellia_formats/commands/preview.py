"""``preview SRC OUT_DIR``: draw the annotations on their images, plus a contact sheet."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..api import read
from ..errors import PicselliaFormatsError
from ..images import default_images_folder
from ._options import add_engine_arguments, int_at_least
from ._paths import add_overwrite_argument, check_folder_output

NAME = "preview"
HELP = "render images with their annotations drawn (boxes, polygons, masks, points, lines, labels)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input file or folder")
    parser.add_argument("out_dir", type=Path, help="folder for the previews and contact_sheet")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None, help="folder of the image files")
    parser.add_argument("--limit", type=int_at_least(0), default=50,
                        help="at most this many images (default 50; 0: all)")
    parser.add_argument("--labels", default=None, help="comma-separated labels: only images with them, only them")
    parser.add_argument("--only-findings", action="store_true",
                        help="only images with validation findings, the offending shapes outlined")
    parser.add_argument("--format", dest="image_format", choices=("jpg", "png"), default="jpg")
    parser.add_argument("--workers", type=int_at_least(1), default=2,
                        help="threads drawing (default 2), or processes with --engine")
    add_engine_arguments(parser, "draw in a local process pool or on a Dask cluster (the 'dask' extra; same files; "
                             "see docs/scale.md) instead of threads of this process")
    parser.add_argument("--quiet", "-q", action="store_true")
    add_overwrite_argument(parser, "OUT_DIR")


def run(args: argparse.Namespace) -> int:
    images = args.images if args.images else default_images_folder(args.src)
    check_folder_output(args.out_dir, [args.src], images=images, kind="preview", overwrite=args.overwrite)
    from ..preview import write_previews  # numpy and Pillow: loaded only when drawing
    dataset = read(args.src, args.from_, images=args.images, progress=not args.quiet)
    assets = highlights = None
    if args.only_findings:
        from ..validation import validate

        highlights = {}
        for finding in validate(dataset, images=images):
            if finding.asset_index is not None:
                objects = highlights.setdefault(finding.asset_index, [])
                if finding.object_index is not None:
                    objects.append(finding.object_index)
        assets = sorted(highlights)
    labels = [x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else None
    if labels:
        known = set(dataset.label_names) | {ann.label for _, ann in dataset.annotations()}
        unknown = [x for x in labels if x not in known]
        if unknown:
            raise PicselliaFormatsError(f"--labels: {', '.join(map(repr, unknown))} not among the labels of {args.src} "
                                        f"({', '.join(sorted(known)) or 'none'})")
    written = write_previews(dataset, args.out_dir, images=images, limit=args.limit or None, labels=labels,
                             assets=assets, highlights=highlights, image_format=args.image_format,
                             quiet=args.quiet, overwrite=args.overwrite, workers=args.workers, engine=args.engine,
                             scheduler=args.scheduler)
    if not args.quiet:
        print(f"{len(written):,} previews and a contact sheet -> {args.out_dir}")
    return 0
