"""``split --to tfrecord`` (or ``--to yolo`` / ``voc``): in memory against streamed (``--no-stream`` / ``--stream``).

Each run is the CLI in a fresh process (`_harness.measure`): wall and CPU seconds of the driver, and its peak
RSS (the pool's workers are separate processes: their CPU is not in the driver's figure, their memory is
bounded by a few chunks in flight). Every file but split.json (the output folder's name taken out) is hashed
and must be identical; YOLO and VOC place the images as hard links (the split's default with ``--images``).
Needs the synthetic file and its images (``synth_coco.py``;
``synth_images_<n>``, as for ``bench_stream_tfrecord.py``).

    python benchmarks/bench_stream_split_tfrecord.py --images 10000 --workers 2 --rounds 1
    python benchmarks/bench_stream_split_tfrecord.py --images 100000 --to yolo voc
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA, measure, table


def digest(out: Path) -> str:
    """One sha256 of every file the split wrote but split.json (it holds timings) and the output marker."""
    h = hashlib.sha256()
    for p in sorted(out.rglob("*")):
        if not p.is_file() or p.name in ("split.json", ".picsellia-formats.json"):
            continue
        h.update(p.relative_to(out).as_posix().encode() + p.read_bytes().replace(str(out.resolve()).encode(), b"DST"))
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--to", nargs="+", default=["tfrecord"], choices=("tfrecord", "yolo", "voc"))
    parser.add_argument("--out", type=Path, default=Path("/dev/shm/pf-bench-split-tfrecord"))
    args = parser.parse_args()
    src = DATA / f"synth_coco_{args.images}_s0.json"
    images = DATA / f"synth_images_{args.images}"
    if not (src.exists() and images.is_dir()):
        sys.exit(f"make {src} (synth_coco.py) and {images} first")
    for to in args.to:
        bench(to, src, images, args)


def bench(to: str, src: Path, images: Path, args: argparse.Namespace) -> None:
    runs: dict[str, list] = {"--no-stream": [], "--stream": []}
    digests: dict[str, set[str]] = {m: set() for m in runs}
    extra = (f"'--tfrecord-shards', '{args.shards}', '--tfrecord-workers', '{args.workers}', '--skip-broken-images'"
             if to == "tfrecord" else "")
    for _ in range(args.rounds):
        for mode in runs:
            out = args.out / mode.strip("-")
            shutil.rmtree(out, ignore_errors=True)
            code = (f"from picsellia_formats.cli import main\n"
                    f"assert main(['split', {str(src)!r}, {str(out)!r}, '--to', {to!r}, '--images', "
                    f"{str(images)!r}, '--ratios', '0.8,0.1,0.1', '--method', 'fast', '--seed', '0', "
                    f"'{mode}', '-q', {extra}]) == 0\n")
            runs[mode].append(measure(code, mode))
            digests[mode].add(digest(out))
            shutil.rmtree(out, ignore_errors=True)
    rows = []
    for mode, rs in runs.items():
        peak = statistics.median(r.peak_mib for r in rs)
        rows.append([f"split --to {to} {mode}", f"{statistics.median(r.seconds for r in rs):.1f}",
                     f"{statistics.median(r.cpu_seconds for r in rs):.1f}", f"{peak:.0f}"])
    same = len(digests["--stream"] | digests["--no-stream"]) == 1
    what = (f"{args.workers} workers, {args.shards} shards per split" if to == "tfrecord"
            else "images placed by the default hardlink mode (a copy across file systems)")
    print(f"split 0.8/0.1/0.1 of {src.name} to {to} with its images, {what}, median of {args.rounds}; "
          f"load average {os.getloadavg()[0]:.1f}; files identical: {same}")
    print(table(rows, ["mode", "wall s", "driver CPU s", "driver peak RSS MiB"]))

if __name__ == "__main__":
    main()
