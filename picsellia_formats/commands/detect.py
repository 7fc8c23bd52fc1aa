"""``detect PATH``: say which format a file or folder is in, and why."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import formats

NAME = "detect"
HELP = "tell which annotation format a file or folder holds, and why"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path)
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the format name")


def run(args: argparse.Namespace) -> int:
    name = formats.detect(args.path)
    print(name)
    if args.quiet:
        return 0
    for verdict in formats.detect_all(args.path):
        print(f"  {verdict.format:<10} {verdict.confidence:.2f}  {verdict.reason}")
    return 0
