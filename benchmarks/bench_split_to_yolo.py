"""``split --to yolo`` (one Ultralytics dataset, images hard-linked) against its floor, in the same run.

    python benchmarks/bench_split_to_yolo.py --sizes 10000 100000

Input: the seeded synthetic COCO file (`synth_coco.py`) and one tiny JPEG per image, generated once
under ``$PF_BENCH_DATA`` (default /tmp/pf-bench). Each row runs in a fresh interpreter (wall and CPU
seconds of the work, imports of the library included, interpreter start excluded; peak RSS):

* ``split --to yolo (hardlink)``: the command as a user runs it: read, split (``--method fast``),
  write ``images/<split>/`` (hard links), ``labels/<split>/``, ``data.yaml``, ``split.json``, all
  staged and swapped in by the output policy;
* ``split --to yolo (none)``: the same without images;
* ``floor: split + label copy``: ``pf.read`` + ``pf.split(method="fast")``, then the very bytes of
  the label files written to the same paths (bytes loaded before the clock starts);
* ``floor + hard links``: the same plus one ``os.link`` per image.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import DATA, Result, measure, table
from synth_coco import ensure


def tiny_jpeg() -> bytes:
    """A valid 1x1 grey JPEG (the images are linked, their content is never read)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (1, 1), 128).save(buf, "JPEG")
    return buf.getvalue()


OURS = """
from picsellia_formats.cli import main
assert main(['split', {src!r}, {dst!r}, '--ratios', '0.8,0.1,0.1', '--to', 'yolo', '--method', 'fast',
             '--seed', '0', '--images', {images!r}, '--images-mode', {mode!r}, '-q']) == 0
"""

FLOOR_SETUP = """
import os
from pathlib import Path
import picsellia_formats as pf
_ref = Path({ref!r})
_files = [(p.relative_to(_ref).as_posix(), p.read_bytes()) for p in sorted((_ref / 'labels').rglob('*.txt'))]
_links = [(os.path.join({images!r}, p.name), p.relative_to(_ref).as_posix())
          for p in sorted((_ref / 'images').rglob('*')) if p.is_file()] if {links!r} else []
_out = {dst!r}
"""

FLOOR = """
ds = pf.read({src!r}, 'coco')
result = pf.split(ds, [0.8, 0.1, 0.1], seed=0, method='fast')
made = set()
for rel, data in _files:
    d = os.path.dirname(rel)
    if d not in made:
        os.makedirs(os.path.join(_out, d), exist_ok=True)
        made.add(d)
    with open(os.path.join(_out, rel), 'wb') as f:
        f.write(data)
for src, rel in _links:
    d = os.path.dirname(rel)
    if d not in made:
        os.makedirs(os.path.join(_out, d), exist_ok=True)
        made.add(d)
    os.link(src, os.path.join(_out, rel))
"""


def ensure_images(src: Path, folder: Path) -> Path:
    """One tiny JPEG per image of `src`, written once (a ``.done`` file marks a complete folder)."""
    done = folder / ".done"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    data = tiny_jpeg()
    for image in orjson.loads(src.read_bytes())["images"]:
        (folder / image["file_name"]).write_bytes(data)
    done.write_text("")
    return folder


def bench(n: int, runs: int) -> list[Result]:
    src = ensure(n, DATA)
    images = ensure_images(src, DATA / f"synth_images_{n}")
    work = DATA / f"split_to_yolo_{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    results: list[Result] = []
    for name, mode in (("split --to yolo (hardlink)", "hardlink"), ("split --to yolo (none)", "none")):
        best = None
        for i in range(runs):
            dst = work / f"{mode}_{i}"
            r = measure(OURS.format(src=str(src), dst=str(dst), images=str(images), mode=mode), name)
            best = r if best is None or r.seconds < best.seconds else best
        results.append(best)  # type: ignore[arg-type]
    ref = work / "hardlink_0"
    for name, links in (("floor: split + label copy", False), ("floor + hard links", True)):
        best = None
        for i in range(runs):
            dst = work / f"floor_{links}_{i}"
            setup = FLOOR_SETUP.format(ref=str(ref), images=str(images), links=links, dst=str(dst))
            r = measure(FLOOR.format(src=str(src)), name, setup=setup)
            best = r if best is None or r.seconds < best.seconds else best
        results.append(best)  # type: ignore[arg-type]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100000])
    parser.add_argument("--runs", type=int, default=1, help="runs per row (the best is kept)")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        results = bench(n, args.runs)
        floor = results[2]
        for r in results:
            rows.append([f"{n:,}", r.name, f"{r.seconds:.2f}", f"{r.cpu_seconds:.2f}",
                         f"{r.seconds / floor.seconds:.2f}x", f"{r.cpu_seconds / floor.cpu_seconds:.2f}x",
                         f"{r.peak_mib:.0f}"])
    print(table(rows, ["images", "run", "wall s", "cpu s", "wall vs floor", "cpu vs floor", "peak MiB"]),
          flush=True)
    for n in args.sizes:  # after the table: deleting 100k hard links takes minutes on a slow disk
        shutil.rmtree(DATA / f"split_to_yolo_{n}", ignore_errors=True)


if __name__ == "__main__":
    main()
