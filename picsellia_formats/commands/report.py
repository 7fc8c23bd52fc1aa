"""``report SRC OUT.html``: one self-contained page with statistics, validation findings and previews."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import formats
from ..images import default_images_folder
from ..textutil import count
from ._options import int_at_least
from ._paths import add_overwrite_argument, check_file_output

NAME = "report"
HELP = "write one self-contained HTML page: statistics with charts, validation findings, a preview gallery"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input file or folder")
    parser.add_argument("out", type=Path, help="the HTML file to write")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None, help="folder of the image files")
    parser.add_argument("--title", default=None, help="page title (default: the dataset's folder or file name)")
    parser.add_argument("--gallery", type=int_at_least(0), default=24,
                        help="images in the gallery (sampled; default 24)")
    parser.add_argument("--quiet", "-q", action="store_true")
    add_overwrite_argument(parser, "OUT")


#: names that say nothing of a dataset: the page is titled after the folder holding them
_GENERIC = {"annotations", "annotation", "labels", "label", "ann", "anns", "json", "xml", "gt", "data", "train",
            "val", "valid", "test", "instances", "_annotations", "_annotations.coco", "result", "results"}


def dataset_title(src: Path) -> str:
    """A page title from the source: ``raccoon/annotations`` is "raccoon", ``terrain2_coco.json`` is
    "terrain2_coco".

    Example:
        >>> dataset_title(Path("fixtures/raccoon/annotations")), dataset_title(Path("data/cats.json"))
        ('raccoon', 'cats')
    """
    path = src.resolve()
    name = path.stem if path.is_file() or path.suffix.lower() in (".json", ".xml", ".txt") else path.name
    while name.lower() in _GENERIC or name.lower().startswith(("instances_", "annotations_")):
        if path.parent == path:
            break
        path = path.parent
        name = path.name
    return name or src.name


def run(args: argparse.Namespace) -> int:
    check_file_output(args.out, [args.src], overwrite=args.overwrite)
    from ..html_report import write_report  # numpy and Pillow: loaded only when drawing
    from ..validation import validate

    images = args.images if args.images else default_images_folder(args.src)
    source = formats.get(args.from_).name if args.from_ else formats.detect(args.src)
    # read as validate reads: what it finds (broken images, bad records it can name) is on the page
    validation = validate(args.src, images, format=source, progress=not args.quiet)
    dataset = validation.dataset
    title = args.title or dataset_title(args.src)
    write_report(dataset, args.out, images=images, title=title, gallery=args.gallery, validation=validation,
                 progress=not args.quiet, overwrite=args.overwrite)
    if not args.quiet:
        print(f"report of {count(len(dataset), 'asset')}, {count(dataset.num_annotations, 'object')}, "
              f"{count(len(validation), 'finding')} -> {args.out}")
    return 0
