"""COCO -> COCO through `convert`, against the floor (orjson.loads the input, write the output bytes).

    python benchmarks/bench_coco.py --sizes 10000 100000

Prints wall seconds and peak RSS of each side, each in a fresh interpreter, and the ratios.
The floor parses the input with orjson and writes orjson.dumps of the parsed document: nothing
in between. Target (issue 2): within 2x of the floor's wall time and of its peak memory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import DATA, measure, table
from synth_coco import ensure

FLOOR = """
import orjson
data = orjson.loads(open({src!r}, 'rb').read())
open({dst!r}, 'wb').write(orjson.dumps(data))
"""

OURS = """
from picsellia_formats.api import convert
convert({src!r}, {dst!r}, 'coco', from_='coco')
"""

OURS_CLI = """
import subprocess, sys
subprocess.run([sys.executable, '-m', 'picsellia_formats', 'convert', {src!r}, {dst!r}, '--to', 'coco', '-q'],
               check=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the best is kept")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        src = str(ensure(n, DATA))
        out = DATA / "out"
        out.mkdir(parents=True, exist_ok=True)
        floors, ourses = [], []
        for _ in range(args.repeat):  # interleaved, so that both sides see the same machine load
            floors.append(measure(FLOOR.format(src=src, dst=str(out / "floor.json")), "floor"))
            ourses.append(measure(OURS.format(src=src, dst=str(out / "ours.json")), "ours"))
        floor = min(floors, key=lambda r: r.seconds)
        ours = min(ourses, key=lambda r: r.seconds)
        size = Path(src).stat().st_size / 2**20
        rows.append([f"{n:,} images ({size:.0f} MiB)", f"{floor.seconds:.2f}", f"{ours.seconds:.2f}",
                     f"{ours.seconds / floor.seconds:.2f}x", f"{floor.cpu_seconds:.2f}", f"{ours.cpu_seconds:.2f}",
                     f"{ours.cpu_seconds / floor.cpu_seconds:.2f}x", f"{floor.peak_mib:.0f}", f"{ours.peak_mib:.0f}",
                     f"{ours.peak_mib / floor.peak_mib:.2f}x"])
    print(table(rows, ["COCO -> COCO", "floor s", "ours s", "wall ratio", "floor cpu s", "ours cpu s",
                       "cpu ratio", "floor MiB", "ours MiB", "memory ratio"]))


if __name__ == "__main__":
    main()
