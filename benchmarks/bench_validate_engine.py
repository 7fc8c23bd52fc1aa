"""validate's image checks on the local process pool and on a local Dask cluster: wall, CPU, per-image rate.

The synthetic COCO set with its generated JPEGs (`synth_coco.py`, `image_headers.py`'s folder), validated
with images, `workers` processes either way; every engine in a fresh process, interleaved rounds. CPU time is
the whole process tree's (the child's rusage counts the workers it waited for). Findings are checked equal.

    python benchmarks/bench_validate_engine.py --images 10000 --workers 2 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA, REPO, table

CODE = """
import json, sys
import picsellia_formats as pf
r = pf.validate({src!r}, images={images!r}, workers={workers}, engine={engine!r}, rules="images")
print(json.dumps(sorted([f.code, f.asset_index, f.message] for f in r)))
"""


def run(src: Path, images: Path, engine: str, workers: int) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CODE.format(src=str(src), images=str(images), workers=workers,
                                                            engine=engine)],
                         capture_output=True, text=True, check=True, cwd=REPO,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}).stdout
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    src = DATA / f"synth_coco_{args.images}_s0.json"
    images = DATA / f"synth_images_{args.images}"
    if not (src.exists() and images.is_dir()):
        sys.exit(f"make {src} (synth_coco.py) and {images} (image_headers.py) first")
    runs: dict[str, list[tuple[float, float]]] = {"pool": [], "dask": []}
    outputs: dict[str, str] = {}
    for _ in range(args.rounds):
        for engine in ("local", "dask"):
            wall, cpu, out = run(src, images, engine, args.workers)
            name = "pool" if engine == "local" else "dask"
            runs[name].append((wall, cpu))
            outputs.setdefault(name, out)
            assert outputs[name] == out
    assert outputs["pool"] == outputs["dask"], "engines disagree"
    rows = []
    for name, rs in runs.items():
        wall = statistics.median(r[0] for r in rs)
        cpu = statistics.median(r[1] for r in rs)
        rows.append([name, args.workers, f"{wall:.2f}", f"{cpu:.2f}", f"{args.images / wall:,.0f}",
                     f"{1e3 * cpu / args.images:.2f}"])
    print(table(rows, ["engine", "workers", "wall s", "cpu s (tree)", "images/s (wall)", "cpu ms/image"]))
    print(f"findings: {len(json.loads(outputs['pool']))} (identical)")


if __name__ == "__main__":
    main()
