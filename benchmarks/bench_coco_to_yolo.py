"""COCO -> YOLO through `convert`, against the floor and against globox, in the same run.

    python benchmarks/bench_coco_to_yolo.py --sizes 10000 100000

Each side runs in a fresh interpreter (wall seconds of the work, imports excluded; peak RSS of the
process):

* ``ours detect``: ``convert(src, dst, "yolo", write_options={"task": "detect"})`` -> one box row per
  object (polygons and masks as their boxes), the same job globox does.
* ``floor``: ``orjson.loads`` the input, then write the very bytes of our output to the same files
  (labels/<name>.txt, data.yaml, classes.txt), creating the same folder; nothing in between. The
  bytes are loaded before the clock starts (they count in the floor's peak RSS).
* ``globox 2.9``: ``AnnotationSet.from_coco(src).save_yolo_v5(dst, label_to_id=...)``.
* ``ours segment`` (default task for this data: polygons) and its own floor.

Targets (issue 3): ours detect within 1.5x of the floor, and at least 2x faster than globox.
globox is a benchmark-only dependency: ``pip install globox==2.9.0``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import DATA, Result, measure, table
from synth_coco import ensure

OURS_SETUP = """
from picsellia_formats import formats
from picsellia_formats.api import convert
formats.names()
"""

OURS = """
convert({src!r}, {dst!r}, 'yolo', from_='coco', write_options={{'task': {task!r}}})
"""

FLOOR_SETUP = """
import os, orjson
from pathlib import Path
_ref = Path({ref!r})
_files = [(p.relative_to(_ref).as_posix(), p.read_bytes()) for p in sorted(_ref.rglob('*')) if p.is_file()]
"""

FLOOR = """
data = orjson.loads(open({src!r}, 'rb').read())
dst = {dst!r}
made = set()
for rel, payload in _files:
    folder = os.path.dirname(rel)
    if folder not in made:
        os.makedirs(os.path.join(dst, folder), exist_ok=True)
        made.add(folder)
    with open(os.path.join(dst, rel), 'wb') as f:
        f.write(payload)
"""

GLOBOX_SETUP = "from globox import AnnotationSet"

GLOBOX = """
boxes = AnnotationSet.from_coco({src!r})
labels = sorted(boxes._labels())
boxes.save_yolo_v5({dst!r}, label_to_id={{name: i for i, name in enumerate(labels)}})
"""


def _run(code: str, name: str, dst: Path, setup: str = "") -> tuple[Result, float]:
    """One run of `code` writing into a fresh `dst`: its result and its CPU seconds.

    CPU seconds (user + system of the work) are printed beside wall seconds: on a busy machine they
    move less than wall time.
    """
    cpu_file = DATA / f".cpu-{os.getpid()}"
    timed = ("_c0 = _t.process_time()\n" + textwrap.dedent(code)
             + f"\nopen({str(cpu_file)!r}, 'w').write(repr(_t.process_time() - _c0))\n")
    shutil.rmtree(dst, ignore_errors=True)
    os.sync()  # deleting 100k files leaves the file system busy for a while: let it settle first
    time.sleep(1.0)
    r = measure(timed, name, setup=setup)
    cpu = float(cpu_file.read_text())
    cpu_file.unlink()
    return r, cpu


def _keep(best: dict[str, tuple[Result, float]], key: str, got: tuple[Result, float]) -> None:
    if key not in best or got[0].seconds < best[key][0].seconds:
        best[key] = got


def _row(name: str, r: tuple[Result, float], floor: tuple[Result, float],
         globox: tuple[Result, float] | None) -> list[str]:
    (res, cpu), (fres, fcpu) = r, floor
    vs_globox = f"{globox[0].seconds / res.seconds:.2f}x / {globox[1] / cpu:.2f}x" if globox is not None else ""
    return [name, f"{res.seconds:.2f}", f"{cpu:.2f}", f"{res.peak_mib:.0f}",
            f"{res.seconds / fres.seconds:.2f}x / {cpu / fcpu:.2f}x", f"{res.peak_mib / fres.peak_mib:.2f}x",
            vs_globox]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the best is kept")
    parser.add_argument("--no-segment", action="store_true", help="skip the segmentation rows")
    parser.add_argument("--no-globox", action="store_true")
    args = parser.parse_args()
    out = DATA / "out"
    out.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        src = str(ensure(n, DATA))
        size = Path(src).stat().st_size / 2**20
        rows = []
        tasks = ["detect"] if args.no_segment else ["detect", "segment"]
        best: dict[str, tuple[Result, float]] = {}
        keep = partial(_keep, best)
        for _ in range(args.repeat):  # sides interleaved, so that a busy spell hits them all
            if not args.no_globox:
                keep("globox", _run(GLOBOX.format(src=src, dst=str(out / "globox")), "globox", out / "globox",
                                    GLOBOX_SETUP))
            for task in tasks:
                ref = out / f"ours_{task}"
                keep(task, _run(OURS.format(src=src, dst=str(ref), task=task), f"ours {task}", ref, OURS_SETUP))
                keep(f"floor {task}", _run(FLOOR.format(src=src, dst=str(out / "floor")), "floor", out / "floor",
                                           FLOOR_SETUP.format(ref=str(ref))))
        globox = best.get("globox")
        for task in tasks:
            floor = best[f"floor {task}"]
            rows.append(_row(f"floor ({task} bytes)", floor, floor, None))
            rows.append(_row(f"ours {task}", best[task], floor, globox if task == "detect" else None))
            if task == "detect" and globox is not None:
                rows.append(_row("globox 2.9 (boxes)", globox, floor, None))
        print(f"\nCOCO -> YOLO, {n:,} images ({size:.0f} MiB), best of {args.repeat}")
        print(table(rows, ["side", "wall s", "cpu s", "peak MiB", "vs floor (wall / cpu)", "RSS vs floor",
                           "globox / ours (wall / cpu)"]))


if __name__ == "__main__":
    main()
