"""COCO -> Pascal VOC through `convert`, against the floor and against globox, in one run.

    python benchmarks/bench_coco_to_voc.py --sizes 10000 100000

Each side runs in a fresh interpreter (`_harness.measure`: wall seconds of the work, peak RSS).
The floor parses the input with orjson and writes the very bytes our writer produced to the same
number of files (loaded into memory before the clock starts): nothing in between. globox 2.9
(``pip install globox``, an optional benchmark dependency) reads the same COCO file with
``AnnotationSet.from_coco`` and writes ``save_pascal_voc``; it keeps boxes only and writes a
compact one-line XML without pose/truncated/difficult/depth/segmented, so it writes fewer bytes.
Ours writes the files inline, single-threaded like the floor; ``--threads 2`` adds a row with 2
writer threads (``PF_VOC_WRITE_THREADS``). Targets (issue 3): ours within 1.5x of the floor, at
least 2x faster than globox.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import DATA, measure, table
from synth_coco import ensure

# every side starts from a settled disk: the previous output removed and flushed before the clock
# starts (deleting 10k files right before timing made the next writes pay for the deletion)
PREPARE = """
import os, shutil, time
shutil.rmtree({dst!r}, ignore_errors=True)
os.sync()
time.sleep(1.0)
"""

FLOOR_SETUP = """
import os, orjson
_files = []
for _dirpath, _dirs, _names in os.walk({ref!r}):
    for _n in _names:
        _p = os.path.join(_dirpath, _n)
        with open(_p, 'rb') as _f:
            _files.append((os.path.relpath(_p, {ref!r}), _f.read()))
""" + PREPARE

FLOOR = """
data = orjson.loads(open({src!r}, 'rb').read())
os.mkdir({dst!r})
for _rel, _bytes in _files:
    with open(os.path.join({dst!r}, _rel), 'wb') as _f:
        _f.write(_bytes)
"""

OURS_SETUP = PREPARE + """
from picsellia_formats import formats
from picsellia_formats.api import convert
formats.names()  # import every format module before the clock starts, as the floor imports orjson
"""

OURS = """
convert({src!r}, {dst!r}, 'voc', from_='coco')
"""

GLOBOX_SETUP = PREPARE + """
from globox import AnnotationSet
"""

GLOBOX = """
AnnotationSet.from_coco({src!r}).save_pascal_voc({dst!r})
"""


def _best(code: str, setup: str, name: str, repeat: int, env: dict[str, str] | None = None):
    return min((measure(code, name, setup, env) for _ in range(repeat)), key=lambda r: r.seconds)


def _globox_available() -> bool:
    try:
        import globox  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the best is kept")
    parser.add_argument("--no-globox", action="store_true", help="skip the globox side")
    parser.add_argument("--threads", type=int, default=None,
                        help="also run ours with this many writer threads (PF_VOC_WRITE_THREADS; default 0)")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        src = str(ensure(n, DATA))
        out = DATA / "out_voc"
        out.mkdir(parents=True, exist_ok=True)
        ours_dst, floor_dst, globox_dst = (str(out / f"{k}_{n}") for k in ("ours", "floor", "globox"))
        ours = _best(OURS.format(src=src, dst=ours_dst), OURS_SETUP.format(dst=ours_dst), "ours", args.repeat)
        floor = _best(FLOOR.format(src=src, dst=floor_dst), FLOOR_SETUP.format(dst=floor_dst, ref=ours_dst),
                      "floor", args.repeat)
        size = Path(src).stat().st_size / 2**20
        label = f"{n:,} images ({size:.0f} MiB)"
        rows.append([label, "floor", f"{floor.seconds:.2f}", f"{floor.peak_mib:.0f}", "1.00x", ""])
        rows.append([label, "picsellia_formats", f"{ours.seconds:.2f}", f"{ours.peak_mib:.0f}",
                     f"{ours.seconds / floor.seconds:.2f}x", ""])
        if args.threads is not None:
            threaded = _best(OURS.format(src=src, dst=ours_dst), OURS_SETUP.format(dst=ours_dst), "ours-threads",
                             args.repeat, {"PF_VOC_WRITE_THREADS": str(args.threads)})
            rows.append([label, f"picsellia_formats, {args.threads} writer threads", f"{threaded.seconds:.2f}",
                         f"{threaded.peak_mib:.0f}", f"{threaded.seconds / floor.seconds:.2f}x", ""])
        if not args.no_globox and _globox_available():
            glob = _best(GLOBOX.format(src=src, dst=globox_dst), GLOBOX_SETUP.format(dst=globox_dst), "globox",
                         args.repeat)
            rows.append([label, "globox 2.9", f"{glob.seconds:.2f}", f"{glob.peak_mib:.0f}",
                         f"{glob.seconds / floor.seconds:.2f}x", f"ours {glob.seconds / ours.seconds:.2f}x faster"])
        for d in (ours_dst, floor_dst, globox_dst):
            shutil.rmtree(d, ignore_errors=True)
    print(table(rows, ["COCO -> VOC", "tool", "wall s", "peak MiB", "vs floor", "vs globox"]))


if __name__ == "__main__":
    main()
