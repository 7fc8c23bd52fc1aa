"""Streaming COCO conversions against the in-memory floor: wall, CPU and peak RSS, interleaved rounds.

    floor {yolo,voc,coco}     /work/shared/bench/floor_convert.py's job (orjson parses the whole file, the
                              simplest Python writes the output, GC off): the in-memory floor
    stream-floor {yolo,voc}   the same writing code fed by `streaming.coco_source.CocoSource` (what the
                              streaming reader costs on its own, memory bounded)
    stream coco               `streaming.coco_assets.stream_coco` -> `streaming.coco_sink.CocoSink`: the
                              real COCO -> COCO with validation, areas and report, memory bounded
    in-memory coco            `python -m picsellia_formats convert X --to coco` (today's path)

    convert --stream {yolo,voc,coco}  the wired CLI path (`convert --stream`; YOLO with --yolo-task detect, the
                              floor's rows)
    convert --no-stream {yolo,voc}    the same CLI conversion in memory (the same writer fed a Dataset's assets)
    in-memory coco (base)     `in-memory coco` from another source tree (`--base DIR`: before/after a patch)
    convert --stream coco (base)  the same for the streaming COCO -> COCO

    `--floor PATH` runs the floor jobs from that script (/work/shared/bench/floor_convert.py) instead of the
    copy below (the same code); each file's table ends with the load average before and after its rounds.

    The ratio column is each job's median wall over its floor's (the same conversion, same run).

    python benchmarks/bench_stream_convert.py --images 10000 100000 --rounds 3 [--src big.json]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA, measure, table
from synth_coco import ensure

WRITERS = '''
import os
def esc(s):
    if "&" in s or "<" in s or ">" in s:
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s
def yolo_one(lab, im, anns, index):
    w, h = im["width"], im["height"]
    rows = []
    for a in anns:
        x, y, bw, bh = a["bbox"]
        rows.append(f"{index[a['category_id']]} {(x + bw / 2) / w:.6f} {(y + bh / 2) / h:.6f} "
                    f"{bw / w:.6f} {bh / h:.6f}\\n")
    stem = os.path.splitext(os.path.basename(im["file_name"]))[0]
    with open(os.path.join(lab, stem + ".txt"), "w", encoding="utf-8") as f:
        f.write("".join(rows))
def voc_one(ann_dir, im, anns, names):
    fn = im["file_name"]
    parts = ["<annotation>\\n\\t<folder>images</folder>\\n\\t<filename>", esc(fn),
             "</filename>\\n\\t<size>\\n\\t\\t<width>", str(im["width"]), "</width>\\n\\t\\t<height>",
             str(im["height"]), "</height>\\n\\t\\t<depth>3</depth>\\n\\t</size>\\n\\t<segmented>0</segmented>\\n"]
    for a in anns:
        x, y, bw, bh = a["bbox"]
        parts.append(f"\\t<object>\\n\\t\\t<name>{names[a['category_id']]}</name>\\n\\t\\t<pose>Unspecified</pose>\\n"
                     f"\\t\\t<truncated>0</truncated>\\n\\t\\t<difficult>0</difficult>\\n\\t\\t<bndbox>\\n"
                     f"\\t\\t\\t<xmin>{round(x)}</xmin>\\n\\t\\t\\t<ymin>{round(y)}</ymin>\\n"
                     f"\\t\\t\\t<xmax>{round(x + bw)}</xmax>\\n\\t\\t\\t<ymax>{round(y + bh)}</ymax>\\n"
                     f"\\t\\t</bndbox>\\n\\t</object>\\n")
    parts.append("</annotation>\\n")
    stem = os.path.splitext(os.path.basename(fn))[0]
    with open(os.path.join(ann_dir, stem + ".xml"), "w", encoding="utf-8") as f:
        f.write("".join(parts))
'''

FLOOR = '''
import gc; gc.disable()
import orjson
d = orjson.loads(open({src!r}, "rb").read())
out = {out!r}
os.makedirs(out, exist_ok=True)
if {conv!r} == "coco":
    open(os.path.join(out, "annotations.json"), "wb").write(orjson.dumps(d))
else:
    cats = d["categories"]
    index = {{c["id"]: i for i, c in enumerate(cats)}}
    names = {{c["id"]: esc(c["name"]) for c in cats}}
    per = {{}}
    for a in d["annotations"]:
        per.setdefault(a["image_id"], []).append(a)
    sub = os.path.join(out, "labels" if {conv!r} == "yolo" else "Annotations")
    os.mkdir(sub)
    for im in d["images"]:
        if {conv!r} == "yolo":
            yolo_one(sub, im, per.get(im["id"], ()), index)
        else:
            voc_one(sub, im, per.get(im["id"], ()), names)
'''

STREAM_FLOOR = '''
import gc; gc.disable()
from picsellia_formats.streaming.coco_source import CocoSource
out = {out!r}
os.makedirs(out, exist_ok=True)
with CocoSource({src!r}, tmp_dir={spill!r}) as src:
    src.scan()
    cats = src.categories
    index = {{c["id"]: i for i, c in enumerate(cats)}}
    names = {{c["id"]: esc(c["name"]) for c in cats}}
    sub = os.path.join(out, "labels" if {conv!r} == "yolo" else "Annotations")
    os.mkdir(sub)
    for im, anns in src:
        if {conv!r} == "yolo":
            yolo_one(sub, im, anns, index)
        else:
            voc_one(sub, im, anns, names)
'''

STREAM_COCO = '''
from picsellia_formats.streaming.coco_assets import stream_coco
from picsellia_formats.streaming.coco_sink import CocoSink
s = stream_coco({src!r}, tmp_dir={spill!r})
os.makedirs({out!r}, exist_ok=True)
with CocoSink(os.path.join({out!r}, "annotations.json"), s.labels, s.metadata) as sink:
    sink.write(s.assets)
'''

MEMORY_COCO = '''
import sys
{base}
from picsellia_formats.cli import main
os.makedirs({out!r}, exist_ok=True)
argv = ["convert", {src!r}, os.path.join({out!r}, "annotations.json"), "--to", "coco", "-q", "--no-stream"]
try:  # the console script's way: the dataset left unfreed to os._exit (the timing line is written first)
    main(argv, fast_exit=True)
except TypeError:  # a tree from before fast_exit (--base)
    sys.argv = ["picsellia-formats", *argv[:-1]]
    main()
'''

CLI_STREAM = '''
import sys
{base}
from picsellia_formats.cli import main
os.makedirs({out!r}, exist_ok=True)
extra = ["--yolo-task", "detect"] if {conv!r} == "yolo" else []
out = os.path.join({out!r}, "annotations.json") if {conv!r} == "coco" else os.path.join({out!r}, "o")
assert main(["convert", {src!r}, out, "--to", {conv!r}, "-q", "--stream", *extra]) == 0
'''

CLI_MEMORY = CLI_STREAM.replace('"--stream"', '"--no-stream"')

FLOOR_SCRIPT = '''
import runpy, sys
sys.argv = ["floor_convert.py", {conv!r}, {src!r}, {out!r}]
runpy.run_path({floor!r}, run_name="__main__")
'''

JOBS = {
    "floor yolo": (FLOOR, "yolo"), "stream-floor yolo": (STREAM_FLOOR, "yolo"),
    "floor voc": (FLOOR, "voc"), "stream-floor voc": (STREAM_FLOOR, "voc"),
    "floor coco": (FLOOR, "coco"), "stream coco": (STREAM_COCO, "coco"), "in-memory coco": (MEMORY_COCO, "coco"),
    "in-memory coco (base)": (MEMORY_COCO, "coco"),
    "convert --stream yolo": (CLI_STREAM, "yolo"), "convert --stream voc": (CLI_STREAM, "voc"),
    "convert --stream coco": (CLI_STREAM, "coco"),
    "convert --stream coco (base)": (CLI_STREAM, "coco"),
    "convert --no-stream yolo": (CLI_MEMORY, "yolo"), "convert --no-stream voc": (CLI_MEMORY, "voc"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="*", default=[10000])
    parser.add_argument("--src", type=Path, nargs="*", default=[], help="extra COCO files (e.g. the 1M set)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=list(JOBS))
    parser.add_argument("--out", type=Path, default=Path("/dev/shm/pf-bench-stream"))
    parser.add_argument("--spill", default="/dev/shm")
    parser.add_argument("--floor", default=None, help="the floor script to run for the floor jobs "
                        "(e.g. /work/shared/bench/floor_convert.py); default: the copy in this file")
    parser.add_argument("--base", default=None, help="a source tree for the 'in-memory coco (base)' job (before/after)")
    args = parser.parse_args()
    rows = []
    for src in [ensure(n, DATA) for n in args.images] + list(args.src):
        runs: dict[str, list] = {name: [] for name in args.only}
        load_before = os.getloadavg()
        for _ in range(args.rounds):
            for name in args.only:
                template, conv = JOBS[name]
                out = args.out / name.replace(" ", "_")
                shutil.rmtree(out, ignore_errors=True)
                base = f"sys.path.insert(0, {args.base!r})" if name.endswith("(base)") and args.base else ""
                if name.startswith("floor ") and args.floor:
                    template = FLOOR_SCRIPT
                code = template.format(src=str(src), out=str(out), conv=conv, spill=args.spill, base=base,
                                       floor=args.floor)
                runs[name].append(measure(code, name, setup=WRITERS))
                shutil.rmtree(out, ignore_errors=True)
        floors = {conv: statistics.median(r.seconds for r in runs[f"floor {conv}"])
                  for conv in ("yolo", "voc", "coco") if f"floor {conv}" in runs}
        cpu_floors = {conv: statistics.median(r.cpu_seconds for r in runs[f"floor {conv}"])
                      for conv in ("yolo", "voc", "coco") if f"floor {conv}" in runs}
        for name, rs in runs.items():
            wall = statistics.median(r.seconds for r in rs)
            cpu = statistics.median(r.cpu_seconds for r in rs)
            floor, cpu_floor = floors.get(JOBS[name][1]), cpu_floors.get(JOBS[name][1])
            rows.append([src.name, name, f"{wall:.2f}", f"{wall / floor:.2f}x" if floor else "-",
                         f"{cpu:.2f}", f"{cpu / cpu_floor:.2f}x" if cpu_floor else "-",
                         f"{max(r.peak_mib for r in rs):.0f}"])
        print(table(rows[-len(runs):], ["file", "job", "wall s", "vs floor", "cpu s", "vs floor", "peak MiB"]),
              flush=True)
        before, after = (" ".join(f"{v:.2f}" for v in load) for load in (load_before, os.getloadavg()))
        print(f"load average (1, 5, 15 min): before {before}, after {after}", flush=True)
    print()
    print(table(rows, ["file", "job", "wall s (median)", "vs floor (wall)", "cpu s (median)", "vs floor (cpu)",
                       "peak RSS MiB (max)"]))
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"({os.cpu_count()} CPUs; wall ratios need a quiet machine, CPU ratios are steadier)")


if __name__ == "__main__":
    main()
