"""``split SRC DST --ratios 0.8,0.1,0.1 --to yolo``: stratified split by object counts, training-ready.

Writes ONE dataset in DST in the layout the target's trainers load (`stratify.output`: Ultralytics
``images/<split>/`` + ``labels/<split>/`` + ``data.yaml``; COCO ``annotations/instances_<split>.json``;
one VOC devkit; TFRecord shards per split + label map + input readers; one Picsellia file with
split tags), or with ``--per-split-folders`` one dataset per split in ``DST/<split>/``; and
``DST/split.json`` with the assignment, the quality figures and the platform's reserved logs
(deterministic: same input, same bytes). Prints a per-split, per-class table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import formats
from ..api import read
from ..errors import LossyConversionError, OptionError
from ..outputs import output_dir
from ..report import Report
from ..stratify import METHODS, normalise_ratios, split
from ..stratify.output import check_names, write_split
from ..stratify.place import IMAGE_MODES
from ._options import (
    add_format_options,
    add_strict_argument,
    flag_spelling,
    float_at_least,
    int_at_least,
    respell,
    split_format_options,
)
from ._paths import add_overwrite_argument, check_folder_output

NAME = "split"
HELP = "split a dataset into train/val/test keeping every class's object proportions"
_DEFAULT_NAMES = {2: "train,val", 3: "train,val,test"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input file or folder")
    parser.add_argument("dst", type=Path, help="output folder: one training-ready dataset and DST/split.json")
    parser.add_argument("--ratios", default="0.8,0.2", help="shares of the splits, summing to 1 (default 0.8,0.2)")
    parser.add_argument("--names", default=None,
                        help="split names, comma-separated (default train,val or train,val,test)")
    parser.add_argument("--seed", type=int, default=None, help="seed for ties (same seed, same split; default 0)")
    parser.add_argument("--method", choices=METHODS, default="auto",
                        help="fast (any size), exact (MILP, small sets) or auto (both when small; the better)")
    parser.add_argument("--time-limit", type=float_at_least(0, above=True), default=10.0,
                        help="seconds for the exact solver (default 10)")
    parser.add_argument("--no-presence", action="store_true",
                        help="do not require every class in every split (a little lower errors on tiny classes)")
    parser.add_argument("--to", dest="to", default=None,
                        help=f"output format (default: the input format): {formats.listing()}")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None, help="folder of the image files")
    parser.add_argument("--images-mode", choices=IMAGE_MODES, default=None,
                        help="how image files reach DST: hardlink (default with --images; a copy where the file "
                             "system refuses, reported), copy, symlink or none")
    parser.add_argument("--per-split-folders", action="store_true",
                        help="write one dataset per split in DST/<split>/ (the older layout) instead of one "
                             "training-ready dataset")
    parser.add_argument("--skip-missing-images", action="store_true",
                        help="leave out (and report) images whose file is not found under --images")
    parser.add_argument("--classes", type=int_at_least(0), default=50, help="classes shown in the table (default 50)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="split a COCO file without holding its assets (a pass for the label counts, one to "
                             "write; to COCO split files, TFRecords, YOLO or VOC); by default for COCO files of "
                             "256 MiB or more")
    add_strict_argument(parser)
    add_overwrite_argument(parser, "DST")
    add_format_options(parser)


def parse_ratios(ratios: str, names: str | None) -> dict[str, float]:
    """``"0.8,0.2"`` (+ optional ``"a,b"``) -> ``{"train": 0.8, "val": 0.2}``; ValueError if malformed
    (bad numbers, names, or shares not summing to 1), before anything is read.

    Example:
        >>> parse_ratios("0.7,0.2,0.1", None)
        {'train': 0.7, 'val': 0.2, 'test': 0.1}
    """
    try:
        values = [float(v) for v in ratios.split(",")]
    except ValueError:
        raise OptionError(f"--ratios must be comma-separated numbers, got {ratios!r}") from None
    if names is None:
        names = _DEFAULT_NAMES.get(len(values), ",".join(f"split{i}" for i in range(len(values))))
    labels = [n.strip() for n in names.split(",")]
    if len(labels) != len(values):
        raise OptionError(f"--names gives {len(labels)} names for {len(values)} ratios")
    normalise_ratios(list(zip(labels, values)))
    return dict(zip(labels, values))


def run(args: argparse.Namespace) -> int:
    ratios = parse_ratios(args.ratios, args.names)
    source = args.from_ or formats.detect(args.src)
    target = formats.get(args.to or source).name
    args.flag_spelling = flag_spelling(target, source)  # messages name the options as split spells them
    read_opts, write_opts = split_format_options(args, source, target)
    check_names(list(ratios), target, args.per_split_folders)  # before reading anything
    check_folder_output(args.dst, [args.src], images=args.images, kind="split", overwrite=args.overwrite)
    from .. import api

    stream = args.stream
    refused = _stream_refused(args, target)
    if stream and refused:
        raise OptionError(f"split --stream cannot write this: {refused}; use --no-stream")
    if stream is None:
        coco_opts = write_opts if target == "coco" else {}  # the source's checks; the target's are above
        stream = not refused and api.streamable(args.src, source, "coco", read_opts, coco_opts) and \
            args.src.stat().st_size >= api.STREAM_ABOVE
    if stream:
        if formats.get(source).name != "coco":
            raise OptionError(f"split --stream reads COCO files only, not {formats.get(source).name}: use --no-stream")
        if any(v is not None for v in read_opts.values()):
            raise OptionError("a streamed split takes no reader option: use --no-stream")
        return _run_streamed(args, ratios, target, write_opts)
    dataset = read(args.src, source, images=args.images, progress=not args.quiet, **read_opts)
    from ..progress import bar  # tqdm: loaded when a command runs, not for --help

    # the solver has no steps to count: the bar names the phase while it runs (on a terminal only)
    with bar(None, f"splitting {len(dataset):,} images ({args.method})", quiet=args.quiet, unit="image"):
        result = split(dataset, ratios, seed=args.seed, method=args.method, time_limit=args.time_limit,
                       presence=not args.no_presence)
    report = Report()
    # DST replaced whole, at the end
    with output_dir(args.dst, "split", overwrite=args.overwrite) as staging:
        write_split(result, staging, target, images=args.images, images_mode=args.images_mode,
                    per_split_folders=args.per_split_folders, skip_missing_images=args.skip_missing_images,
                    final_folder=args.dst, report=report, progress=not args.quiet, **write_opts)
        (staging / "split.json").write_bytes(result.to_json().encode())
        if report.refuses(args.strict):  # DST left as it was
            raise LossyConversionError(report, args.strict)
    if not args.quiet:
        print(result.table(max_classes=args.classes))
        where = f"{args.dst}/<split>/" if args.per_split_folders else str(args.dst)
        print(f"{source} -> {target}: {', '.join(f'{n} {i:,}' for n, i in result.images.items())} images "
              f"-> {where}, assignment and figures in {args.dst / 'split.json'}")
        if report:
            print(respell(str(report), args.flag_spelling), file=sys.stderr)
    return 0


def _stream_refused(args: argparse.Namespace, target: str) -> str | None:
    """Why ``split --stream`` cannot write what these options ask for (None: it can)."""
    from ..streaming.table import STREAMED_SPLIT_TARGETS

    if target not in STREAMED_SPLIT_TARGETS:
        return f"a {target} split is written in memory (streamed split targets: {', '.join(STREAMED_SPLIT_TARGETS)})"
    if args.per_split_folders:
        return "--per-split-folders is written in memory"
    return None


def _run_streamed(args: argparse.Namespace, ratios: dict[str, float], target: str,
                  write_opts: dict[str, object]) -> int:
    from ..streaming.table import split_stream

    report = Report()
    result = split_stream(args.src, args.dst, ratios, target, seed=args.seed, method=args.method,
                          time_limit=args.time_limit, presence=not args.no_presence, images=args.images,
                          report=report, overwrite=args.overwrite, strict=args.strict, write_options=write_opts,
                          skip_missing_images=args.skip_missing_images, images_mode=args.images_mode,
                          progress=not args.quiet)
    if not args.quiet:
        print(result.table(max_classes=args.classes))
        print(f"coco -> {target} (streamed): {', '.join(f'{n} {i:,}' for n, i in result.images.items())} images "
              f"-> {args.dst}, assignment and figures in {args.dst / 'split.json'}")
        if report:
            print(respell(str(report), args.flag_spelling), file=sys.stderr)
    return 0
