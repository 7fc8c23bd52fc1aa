"""``validate SRC``: find every defect a user would regret uploading; ``--fix DST`` writes a corrected copy.

Exit codes: 0 no finding at or above ``--fail-on`` (default error), 1 some, 2 unreadable input.
With ``--fix`` the exit code is that of the corrected copy (what would be uploaded).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

import orjson

from .. import formats
from ..errors import OptionError, PicselliaFormatsError
from ..io_utils import atomic_file
from ._options import add_engine_arguments, add_format_options, float_at_least, int_at_least, split_format_options
from ._paths import check_file_output

NAME = "validate"
HELP = "check annotations (and their image files) for defects before an upload; optionally fix the safe ones"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, nargs="?", help="input file or folder (not needed with --list-rules)")
    parser.add_argument("--from", dest="from_", default=None, help="input format (detected when left out)")
    parser.add_argument("--images", type=Path, default=None,
                        help="folder of the image files (image checks run only when given)")
    parser.add_argument("--json", type=Path, default=None,
                        help="write the report as JSON here: exact counts (per code and per label), the first "
                             "--keep-findings findings of each code, and every change of --fix")
    parser.add_argument("--findings", type=Path, default=None, metavar="FILE.jsonl",
                        help="write every finding here as it is found, one JSON object per line (no memory cost)")
    parser.add_argument("--keep-findings", type=int_at_least(0), default=None, metavar="N",
                        help="findings held and listed in --json per code (default 1,000); the counts stay "
                             "exact and --findings gets all of them")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=None,
                        help="check a COCO file without holding its assets (no --images, no --fix); by default "
                             "for COCO files of 256 MiB or more")
    parser.add_argument("--fail-on", choices=("error", "warning", "info"), default="error",
                        help="exit 1 when a finding is at or above this severity (default error)")
    parser.add_argument("--fix", type=Path, default=None, metavar="DST",
                        help="write a corrected copy here (the source is never modified)")
    parser.add_argument("--drop-broken", action="store_true",
                        help="with --fix and --images: leave out the assets whose image file is missing, "
                        "unreadable, truncated or of an unsupported type (each one listed)")
    parser.add_argument("--to", default=None, help="format of the corrected copy (default: the input format)")
    parser.add_argument("--rules", default=None, help="only these codes or categories (comma-separated)")
    parser.add_argument("--skip", default=None, help="leave out these codes or categories (comma-separated)")
    parser.add_argument("--min-objects", type=int_at_least(0), default=None,
                        help="class-few-objects threshold (default 10)")
    parser.add_argument("--max-imbalance", type=float_at_least(1), default=None,
                        help="class-imbalance ratio threshold (default 50)")
    parser.add_argument("--min-area", type=float_at_least(0), default=None,
                        help="object-too-small area in px² (default 4)")
    parser.add_argument("--min-side", type=float_at_least(0), default=None,
                        help="object-too-small side in px (default 1)")
    parser.add_argument("--bbox-tolerance", type=float_at_least(0), default=None,
                        help="px a stated box may differ from its polygon/mask (default 2)")
    parser.add_argument("--schema", type=Path, default=None,
                        help="JSON file of questions/attributes to require and check (see docs/validation.md)")
    parser.add_argument("--workers", type=int_at_least(0), default=None,
                        help="processes for the image checks (default: CPUs)")
    add_engine_arguments(parser, "where the image checks run: local process pool (default) or a Dask cluster "
                             "(the 'dask' extra; see docs/scale.md)")
    parser.add_argument("--deep", action="store_true", help="decode every image fully (slow)")
    parser.add_argument("--no-hash", action="store_true", help="do not look for duplicate images by content")
    parser.add_argument("--examples", type=int_at_least(0), default=3, help="examples shown per code (default 3)")
    parser.add_argument("--list-rules", action="store_true", help="print every rule code and exit")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the summary line")
    add_format_options(parser)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("min_objects", "max_imbalance", "min_area", "min_side", "bbox_tolerance", "workers", "engine",
                 "scheduler"):
        value = getattr(args, name)
        if value is not None:
            out[name] = value
    if args.deep:
        out["deep"] = True
    if args.no_hash:
        out["hash_images"] = False
    if args.schema is not None:
        try:
            out["schema"] = orjson.loads(args.schema.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise PicselliaFormatsError(f"{args.schema}: not valid JSON: {exc}") from None
    return out


def _rule_table() -> str:
    from ..validation import RULES

    width = max(map(len, RULES))
    return "\n".join(f"{r.severity:<8} {r.category:<10} {code:<{width}}  {r.summary}"
                     + (f" [fix: {r.fix}]" if r.fix else "") for code, r in RULES.items())


def _check_destination(src: Path, dst: Path, spec: formats.FormatSpec) -> Path:
    """The path the copy will be written to; refuses any that would touch the source."""
    target = dst / spec.default_file_name if spec.output == "file" and dst.is_dir() else dst
    s, t = src.resolve(), target.resolve()
    if s == t or (src.is_dir() and s in t.parents) or (spec.output != "file" and t in s.parents):
        raise PicselliaFormatsError(f"--fix {dst}: would write over or into the source {src}; "
                                    "choose another destination")
    return target


def run(args: argparse.Namespace) -> int:
    if args.list_rules:
        print(_rule_table())
        return 0
    if args.src is None:
        raise PicselliaFormatsError("validate needs SRC, the file or folder to check")
    from ..api import write
    from ..validation import fix, validate
    from ..validation.findings import KEEP
    from ..validation.sink import FindingsFile

    if args.drop_broken and (args.fix is None or args.images is None):
        raise PicselliaFormatsError("--drop-broken needs --fix DST (the corrected copy) and --images DIR "
                                    "(the image files it checks)")
    source = args.from_ or formats.detect(args.src)
    target_format = formats.get(args.to or source).name
    read_opts, write_opts = split_format_options(args, source, target_format if args.fix else None)
    if args.json:
        check_file_output(args.json, [args.src], flag="--json")
    if args.findings:
        check_file_output(args.findings, [args.src], flag="--findings")
        if args.json and args.json.resolve() == args.findings.resolve():
            raise PicselliaFormatsError(f"--findings {args.findings}: is also the --json file; give two files")
    options = _options(args)
    target = _check_destination(args.src, args.fix, formats.get(target_format)) if args.fix else None
    keep = KEEP if args.keep_findings is None else args.keep_findings
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(FindingsFile(args.findings)) if args.findings else None
        if _streamed(args, source, read_opts):
            from ..streaming.validate import validate_stream

            report = validate_stream(args.src, args.rules, skip=args.skip, keep=keep, sink=sink, **options)
        else:  # fix needs every finding: held in full then (the dataset is in memory anyway)
            report = validate(args.src, args.images, args.rules, skip=args.skip, format=source,
                              read_options=read_opts, progress=not args.quiet, keep=None if target else keep,
                              sink=sink, **options)
    print(report.summary() if args.quiet else report.to_text(args.examples))
    out: dict[str, Any] = report.to_dict(limit=keep)
    final = report
    if target is not None:
        fixed, log = fix(report, drop_broken=args.drop_broken)
        write(fixed, target, target_format, images=args.images, **write_opts)
        final = validate(fixed, args.images, args.rules, skip=args.skip, **options)
        if not args.quiet:
            print()
            print(f"fix: {log.to_text(args.examples)}")
            print()
            print(f"wrote {target}; the corrected copy has: {final.to_text(args.examples, header=False)}")
        else:
            print(f"fix: {len(log):,} changes -> {target}; after: {final.summary()}")
        out["fix"] = {"destination": str(target), "format": target_format, **log.to_dict()}
        out["after_fix"] = final.to_dict(limit=keep)
    if args.json:
        with atomic_file(args.json) as f:
            f.write(orjson.dumps(out, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str))
    failed = final.failed(args.fail_on)
    if failed and not args.quiet:
        print(f"failing: findings at or above {args.fail_on}", file=sys.stderr)
    return 1 if failed else 0


def _streamed(args: argparse.Namespace, source: str, read_opts: dict[str, Any]) -> bool:
    from .. import api

    possible = (formats.get(source).name == "coco" and args.src.is_file() and args.images is None
                and args.fix is None and not {k: v for k, v in read_opts.items() if v is not None})
    if args.stream and not possible:
        raise OptionError("validate --stream takes a COCO instances file, without --images, --fix or read options")
    if args.stream is None:
        return possible and args.src.stat().st_size >= api.STREAM_ABOVE
    return bool(args.stream)
