"""COCO -> Picsellia JSON and Picsellia -> Picsellia through `convert`, against the floor.

    python benchmarks/bench_picsellia.py --sizes 10000 100000

The floor parses the input with orjson and writes the same output bytes (held in memory
beforehand): nothing in between; it runs with the garbage collector on (as `bench_coco.py`) and,
in the "floor, gc off" column, off (as our readers and writers run). Each side runs in a fresh
interpreter; wall seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import DATA, measure, table
from synth_coco import ensure

FLOOR_SETUP = "import orjson\nout_bytes = open({expected!r}, 'rb').read()\n"
FLOOR = """
data = orjson.loads(open({src!r}, 'rb').read())
open({dst!r}, 'wb').write(out_bytes)
"""
OURS = """
from picsellia_formats.api import convert
convert({src!r}, {dst!r}, 'picsellia', from_={fmt!r})
"""


def run(name: str, src: str, fmt: str, out: Path, repeat: int) -> list[str]:
    ours = min((measure(OURS.format(src=src, dst=str(out / "ours.json"), fmt=fmt), "ours")
                for _ in range(repeat)), key=lambda r: r.seconds)
    floor = min((measure(FLOOR.format(src=src, dst=str(out / "floor.json")), "floor",
                         setup=FLOOR_SETUP.format(expected=str(out / "ours.json")))
                 for _ in range(repeat)), key=lambda r: r.seconds)
    nogc = min((measure(FLOOR.format(src=src, dst=str(out / "floor.json")), "floor, gc off",
                        setup="import gc\ngc.disable()\n" + FLOOR_SETUP.format(expected=str(out / "ours.json")))
                for _ in range(repeat)), key=lambda r: r.seconds)
    return [name, f"{floor.seconds:.2f}", f"{nogc.seconds:.2f}", f"{ours.seconds:.2f}",
            f"{ours.seconds / floor.seconds:.2f}x / {ours.seconds / nogc.seconds:.2f}x",
            f"{floor.peak_mib:.0f}", f"{ours.peak_mib:.0f}", f"{ours.peak_mib / floor.peak_mib:.2f}x"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the best is kept")
    args = parser.parse_args()
    rows = []
    out = DATA / "out"
    out.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        src = str(ensure(n, DATA))
        rows.append(run(f"COCO -> Picsellia, {n:,} images", src, "coco", out, args.repeat))
        pic = DATA / f"synth_picsellia_{n}.json"
        (out / "ours.json").replace(pic)
        rows.append(run(f"Picsellia -> Picsellia, {n:,} images", str(pic), "picsellia", out, args.repeat))
    print(table(rows, ["conversion", "floor s", "floor, gc off s", "ours s", "time ratio (gc on / off)",
                       "floor MiB", "ours MiB",
                       "memory ratio"]))


if __name__ == "__main__":
    main()
