"""Convert a COCO file (or any readable format) to a Picsellia annotation JSON file.

    python converters/coco_to_picsellia.py SRC DST [--status ACCEPTED] [--tag train] [--platform-only]

Every box, polygon (multi-part ones stay one object), mask, keypoint list, score and id is kept;
the Picsellia file lists the pictures, one annotation record per annotated picture and the labels
in order. `--status` marks every annotated picture as reviewed (e.g. a trusted ground truth is
ACCEPTED); `--tag` adds a tag to every picture; `--platform-only` writes only what the platform
documents (the report says what that leaves out); `--strict` refuses any loss.
"""

from __future__ import annotations

import argparse
import sys

import picsellia_formats as pf

STATUSES = ("PENDING", "SKIPPED", "ACCEPTED", "REFUSED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", help="COCO file (or any format picsellia_formats reads)")
    parser.add_argument("dst", help="Picsellia JSON file to write")
    parser.add_argument("--status", choices=STATUSES, help="review status of every annotated picture")
    parser.add_argument("--tag", action="append", default=[], help="tag added to every picture")
    parser.add_argument("--masks", choices=("rle", "polygon", "box"), default="rle")
    parser.add_argument("--platform-only", action="store_true")
    parser.add_argument("--strict", action="store_true", help="refuse (exit 1) if anything would be lost")
    args = parser.parse_args(argv)
    report = pf.Report()
    try:
        dataset = pf.read(args.src, report=report)
        for asset in dataset.assets:
            if args.status and asset.annotations:
                asset.status = args.status
            asset.tags = asset.tags + [t for t in args.tag if t not in asset.tags]
        pf.write(dataset, args.dst, "picsellia", report=report, strict=args.strict, masks=args.masks,
                 platform_only=args.platform_only)
    except pf.LossyConversionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except pf.PicselliaFormatsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(dataset):,} pictures, {dataset.num_annotations:,} objects, {len(dataset.labels):,} labels "
          f"-> {args.dst}")
    if report:
        print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
