"""``emulator --port 8080 --data DIR``: serve a local emulator of the Picsellia API (tests, demos)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import PicselliaFormatsError
from ._options import float_at_least, int_at_least

NAME = "emulator"
FAIL_KINDS = ("500", "429", "drop")
HELP = "serve a local emulator of the Picsellia platform API (state kept in --data)"


def _fail_kinds(text: str) -> str:
    bad = [k for k in text.split(",") if k and k not in FAIL_KINDS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown failure kind(s) {', '.join(bad)}; known: {', '.join(FAIL_KINDS)}")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int_at_least(0, 65535), default=8080,
                        help="port (0 picks a free one; default 8080)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--data", type=Path, required=True, help="folder of the state (SQLite) and image bytes")
    parser.add_argument("--token", default=None, help="API token to accept (default: the seeded one)")
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--fail-rate", type=float_at_least(0, 1), default=0.0,
                        help="fraction of calls that fail (0..1)")
    faults.add_argument("--fail-kinds", type=_fail_kinds, default="500,429,drop",
                        help="failures to pick from: 500,429,drop")
    faults.add_argument("--retry-after", type=float_at_least(0), default=1.0, help="Retry-After seconds sent with 429")
    faults.add_argument("--slow-upload", type=float_at_least(0), default=0.0, help="seconds each storage upload takes")
    faults.add_argument("--processing-delay", type=float_at_least(0), default=0.0,
                        help="seconds before data is processed")
    faults.add_argument("--job-delay", type=float_at_least(0), default=0.0, help="seconds an asset job runs")
    faults.add_argument("--max-bulk-bytes", type=int_at_least(1), default=8 * 1024 * 1024,
                        help="bulk-annotations bodies above this get 413")
    faults.add_argument("--seed", type=int, default=None, help="seed of the fault draws")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    parser.add_argument("--verbose", action="store_true", help="log every request (never its headers)")


def run(args: argparse.Namespace) -> int:
    from ..sync.emulator import Emulator, Settings

    if args.data.exists() and not args.data.is_dir():
        raise PicselliaFormatsError(f"--data {args.data}: exists and is not a folder")

    settings = Settings(fail_rate=args.fail_rate, fail_kinds=tuple(k for k in args.fail_kinds.split(",") if k),
                        retry_after=args.retry_after, upload_delay=args.slow_upload,
                        processing_delay=args.processing_delay, job_delay=args.job_delay,
                        max_bulk_bytes=args.max_bulk_bytes, seed=args.seed, verbose=args.verbose)
    settings.update({"fail_kinds": settings.fail_kinds})
    emu = Emulator(args.data, host=args.bind, port=args.port, token=args.token, settings=settings)
    if not args.quiet:
        print(f"Picsellia emulator on {emu.url} (state in {args.data})")
        print(f"  token:        {emu.token}")
        print(f"  organization: {emu.organization_name} ({emu.organization_id})")
        print(f"  try: PICSELLIA_TOKEN={emu.token} python -m picsellia_formats pull --host {emu.url} ...")
        sys.stdout.flush()
    try:
        emu.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emu._server.server_close()
    return 0
