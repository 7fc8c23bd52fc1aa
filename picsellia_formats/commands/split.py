"""``split SRC DST --ratios 0.8,0.1,0.1``: stratified split by object counts, one dataset per split.

Writes ``DST/<name>/`` in the output format (default: the input's) for every split, and
``DST/split.json`` with the assignment, the quality figures and the platform's reserved logs;
prints a per-split, per-class table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import formats
from ..api import read, write
from ..errors import OptionError
from ..outputs import output_dir
from ..report import Report
from ..stratify import METHODS, normalise_ratios, split
from ._options import add_format_options, float_at_least, int_at_least, split_format_options
from ._paths import add_overwrite_argument, check_folder_output

NAME = "split"
HELP = "split a dataset into train/val/test keeping every class's object proportions"
_DEFAULT_NAMES = {2: "train,val", 3: "train,val,test"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, help="input file or folder")
    parser.add_argument("dst", type=Path, help="output folder: DST/<split name>/ and DST/split.json")
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
                        help=f"output format ({', '.join(formats.names())}; default: the input format)")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None, help="folder of the image files")
    parser.add_argument("--classes", type=int_at_least(0), default=50, help="classes shown in the table (default 50)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="split a COCO file without holding its assets (a pass for the label counts, one "
                             "per part; targets COCO, YOLO, VOC); by default for COCO files of 256 MiB or more")
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
    read_opts, write_opts = split_format_options(args, source, target)
    check_folder_output(args.dst, [args.src], images=args.images, kind="split", overwrite=args.overwrite)
    from .. import api

    stream = args.stream
    if stream is None:
        stream = api.streamable(args.src, source, target, read_opts, write_opts) and \
            args.src.stat().st_size >= api.STREAM_ABOVE
    if stream:
        return _run_streamed(args, ratios, target, write_opts)
    dataset = read(args.src, source, images=args.images, progress=not args.quiet, **read_opts)
    from ..progress import bar  # tqdm: loaded when a command runs, not for --help

    # the solver has no steps to count: the bar names the phase while it runs (on a terminal only)
    with bar(None, f"splitting {len(dataset):,} images ({args.method})", quiet=args.quiet, unit="image"):
        result = split(dataset, ratios, seed=args.seed, method=args.method, time_limit=args.time_limit,
                       presence=not args.no_presence)
    report = Report()
    spec = formats.get(target)
    with output_dir(args.dst, "split", overwrite=args.overwrite) as staging:  # DST replaced whole, at the end
        for name, part in result.datasets().items():
            out = staging / name
            if spec.output == "file":
                out.mkdir(parents=True, exist_ok=True)
            write(part, out, target, images=args.images, report=report, progress=not args.quiet, **write_opts)
        (staging / "split.json").write_bytes(result.to_json().encode())
    if not args.quiet:
        print(result.table(max_classes=args.classes))
        print(f"{source} -> {target}: {', '.join(f'{n} {i:,}' for n, i in result.images.items())} images "
              f"-> {args.dst}/<split>/, assignment and figures in {args.dst / 'split.json'}")
        if report:
            print(str(report), file=sys.stderr)
    return 0


def _run_streamed(args: argparse.Namespace, ratios: dict[str, float], target: str,
                  write_opts: dict[str, object]) -> int:
    from ..streaming.table import split_stream

    report = Report()
    result = split_stream(args.src, args.dst, ratios, target, seed=args.seed, method=args.method,
                          time_limit=args.time_limit, presence=not args.no_presence, images=args.images,
                          report=report, overwrite=args.overwrite, write_options=write_opts)
    if not args.quiet:
        print(result.table(max_classes=args.classes))
        print(f"coco -> {target} (streamed): {', '.join(f'{n} {i:,}' for n, i in result.images.items())} images "
              f"-> {args.dst}/<split>/, assignment and figures in {args.dst / 'split.json'}")
        if report:
            print(str(report), file=sys.stderr)
    return 0
