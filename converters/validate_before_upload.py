"""Validate a dataset and its images, fix what is safe to fix, then show what would be pushed.

    python converters/validate_before_upload.py SRC --images DIR --fixed DST [--from FORMAT]
           [--dataset NAME] [--version V] [--fail-on error|warning] [--json REPORT]

1. Every defect is reported (grouped by code); 2. the safe fixes are applied to a copy written to
DST in the source format (the source is never touched) and every change is listed; 3. the copy is
validated again: if a finding at or above --fail-on remains (a missing image file, a mask of the
wrong size...), nothing would be pushed and the script exits 1; 4. otherwise the platform client's
dry-run plan for the copy is printed (images, objects, labels, dataset type, objects per kind) and
the script exits 0. Nothing is sent: push for real with ``python -m picsellia_formats push``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import picsellia_formats as pf
from picsellia_formats.validation import fix


def plan(dataset: pf.Dataset, images: Path, name: str, version: str) -> list[str]:
    """What a push would do: the sync client's dry run, and the objects per kind and label."""
    from picsellia_formats import sync

    result = sync.push(dataset, images, name, version, dry_run=True, quiet=True)
    kinds = Counter(ann.kind for _, ann in dataset.annotations())
    labels = Counter(ann.label for _, ann in dataset.annotations())
    lines = [result.summary(),
             "objects per kind: " + ", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items())),
             "objects per label: " + ", ".join(f"{k} {n:,}" for k, n in labels.most_common())]
    if result.report:
        lines.append(f"what the platform cannot hold:\n{result.report}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="annotations (any format picsellia_formats reads)")
    parser.add_argument("--images", type=Path, required=True, help="folder of the image files")
    parser.add_argument("--fixed", type=Path, required=True, help="where to write the corrected copy")
    parser.add_argument("--from", dest="from_", help="input format (detected when left out)")
    parser.add_argument("--dataset", default=None, help="platform dataset name (default: the source's name)")
    parser.add_argument("--version", default="initial", help="platform dataset version (default: initial)")
    parser.add_argument("--fail-on", choices=("error", "warning"), default="error")
    parser.add_argument("--json", type=Path, help="write the findings, changes and plan as JSON here")
    args = parser.parse_args(argv)
    try:
        fmt = args.from_ or pf.detect(args.src)
        report = pf.validate(args.src, args.images, format=fmt)
        print(f"== 1. validation of {args.src}")
        print(report.to_text())
        fixed, changes = fix(report)
        if args.fixed.resolve() == Path(report.stats["source"]).resolve():
            raise pf.PicselliaFormatsError(f"{args.fixed}: that is the source; choose another path")
        pf.write(fixed, args.fixed, fmt, images=args.images)
        print(f"\n== 2. corrected copy -> {args.fixed}")
        print(changes.to_text())
        after = pf.validate(fixed, args.images)
        print("\n== 3. the corrected copy")
        print(after.to_text(header=False))
        out = {"validation": report.to_dict(), "fix": changes.to_dict(), "after_fix": after.to_dict()}
        if after.failed(args.fail_on):
            print(f"\n== 4. nothing would be pushed: findings at or above {args.fail_on} remain "
                  f"({', '.join(c for c in after.counts() if c in after.codes('error') or args.fail_on == 'warning')})")
            code = 1
        else:
            print("\n== 4. what would be pushed (dry run, nothing sent)")
            lines = plan(fixed, args.images, args.dataset or args.src.stem, args.version)
            print("\n".join(lines))
            out["plan"] = lines
            code = 0
    except pf.PicselliaFormatsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
