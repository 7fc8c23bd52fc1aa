"""``labelmap SRC OUT.pbtxt``: the TF Object Detection API label map of a dataset.

SRC is any readable dataset (its labels in order get ids 1..n; ``background`` gets 0), or a
``.pbtxt`` label map, which is validated and written back in the canonical form.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import formats
from ..api import read
from ..errors import PicselliaFormatsError
from ..io_utils import atomic_path
from ..report import Report
from ._options import add_format_options, split_format_options
from ._paths import check_file_output

NAME = "labelmap"
HELP = "write the TF Object Detection API label_map.pbtxt of a dataset (or check and rewrite a label map)"
LABEL_MAP_SUFFIXES = (".pbtxt", ".pbtx", ".prototxt")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="dataset file or folder, or a label map (.pbtxt)")
    parser.add_argument("out", type=Path, help="label map to write (e.g. label_map.pbtxt)")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None, help="folder of the image files")
    parser.add_argument("--label-ids", choices=("sequential", "keep"), default="sequential",
                        help="ids 1..n in label order (default), or keep the source's ids (COCO category ids, "
                        "a label map's ids) when they are usable")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    add_format_options(parser, write=False)


def run(args: argparse.Namespace) -> int:
    src: Path = args.src
    check_file_output(args.out, [src])
    from ..labels import labels_in_use
    from ..tfod.labelmap import format_label_map, label_map_items, read_label_map  # the tfod package loads numpy
    if src.is_file() and src.suffix.lower() in LABEL_MAP_SUFFIXES and args.from_ is None:
        items = read_label_map(src)
        split_format_options(args, None, None)
    else:
        source = args.from_ or formats.detect(src)
        read_opts, _ = split_format_options(args, source, None)
        dataset = read(src, source, images=args.images, report=Report(), progress=not args.quiet, **read_opts)
        items = label_map_items(labels_in_use(dataset), ids=args.label_ids)
    if not items:
        raise PicselliaFormatsError(f"{src}: no labels; a label map needs at least one")
    with atomic_path(args.out) as tmp:
        tmp.write_bytes(format_label_map(items).encode("utf-8"))
    if not args.quiet:
        print(f"{len(items)} labels -> {args.out}", file=sys.stderr)
        for item in items:
            print(f"  {item.id:>4}  {item.name}", file=sys.stderr)
    return 0
