"""Rename, merge or drop labels while converting a COCO file (or any readable format) to COCO.

    python converters/coco_to_coco_remap.py SRC DST --map car=vehicle --map truck=vehicle --drop cat

Copy and edit: MAPPING and DROP below are used when no --map/--drop is given. Category ids of
the labels that stay are kept; a merged label keeps the id of the first label merged into it.
"""

from __future__ import annotations

import argparse
import sys

import picsellia_formats as pf
from picsellia_formats.labels import remap_labels

MAPPING: dict[str, str] = {}  # e.g. {"car": "vehicle", "truck": "vehicle"}
DROP: list[str] = []  # e.g. ["cat"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--map", action="append", default=[], metavar="OLD=NEW")
    parser.add_argument("--drop", action="append", default=[], metavar="LABEL")
    args = parser.parse_args(argv)
    mapping = dict(MAPPING)
    for item in args.map:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            parser.error(f"--map takes OLD=NEW, got {item!r}")
        mapping[old] = new
    drop = args.drop or DROP
    try:
        report = pf.Report()
        dataset = pf.read(args.src, report=report)
        unknown = sorted((set(mapping) | set(drop)) - set(dataset.label_names))
        if unknown:
            print(f"error: {args.src}: no label named {', '.join(unknown)}", file=sys.stderr)
            return 2
        counts = remap_labels(dataset, mapping, drop)
        pf.write(dataset, args.dst, "coco", report=report)
    except pf.PicselliaFormatsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{counts['renamed']:,} objects relabelled, {counts['dropped']:,} dropped; "
          f"labels now: {', '.join(dataset.label_names)} -> {args.dst}")
    if report:
        print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
