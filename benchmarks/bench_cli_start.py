"""Start time of the command line: ``--help``, a sub-command's ``--help``, a small COCO conversion.

    python benchmarks/bench_cli_start.py [--runs 15] [--compare /path/to/another/checkout]

Prints the median wall and CPU seconds of each command line, each run in a fresh interpreter
(``python -m picsellia_formats ...`` from the checkout's root, so that its package is the one run),
the sides interleaved so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COCO = ROOT / "fixtures" / "picsellia_coco_det" / "annotations.json"


def _once(argv: list[str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "picsellia_formats", *argv], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--compare", type=Path, default=None, help="another checkout to measure beside this one")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="pf-start-"))
    cases = {
        "--help": ["--help"],
        "convert --help": ["convert", "--help"],
        "preview --help": ["preview", "--help"],
        "convert COCO (19 images, boxes)": ["convert", str(COCO), str(out / "out.json"), "--to", "coco", "-q"],
    }
    sides = {"this": ROOT, **({"compare": args.compare.resolve()} if args.compare else {})}
    results: dict[tuple[str, str], list[tuple[float, float]]] = {(c, s): [] for c in cases for s in sides}
    for run in range(args.runs):
        for case, argv in cases.items():
            order = list(sides.items()) if run % 2 == 0 else list(reversed(sides.items()))
            for side, cwd in order:
                results[(case, side)].append(_once(argv, cwd))
    header = f"{'command':34s}" + "".join(f" {side + ' wall':>13s} {side + ' cpu':>12s}" for side in sides)
    print(header)
    print("-" * len(header))
    for case in cases:
        cells = ""
        for side in sides:
            runs = results[(case, side)]
            cells += f" {statistics.median(r[0] for r in runs):12.3f}s {statistics.median(r[1] for r in runs):11.3f}s"
        print(f"{case:34s}{cells}")


if __name__ == "__main__":
    main()
