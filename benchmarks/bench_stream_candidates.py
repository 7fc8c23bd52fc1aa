"""Group COCO annotations by image in bounded memory: the candidates, side by side.

Each candidate yields every image with its annotations in the images' order (the job of a streaming COCO
reader) and runs in its own process; rounds are interleaved and the median is kept. Inputs: the synthetic
set as written (annotations already in image order, like most exporters) and the same file with the
annotations shuffled (what a spill or an index is for).

    in-memory      orjson parses the whole file, a dict groups (the reference: memory grows with the file)
    ijson          ijson's C backend (yajl2_c): pass 1 reads the image ids, pass 2 streams images and
                   annotations (in lockstep when ordered, else through the same spill by shard)
    msgspec-ids    pass 1 decodes only image_id per annotation with msgspec (typed, skips the rest) in chunks,
                   pass 2 as `ours`
    simdjson-ids   pass 1 with pysimdjson (lazy documents, image_id only) in chunks, pass 2 as `ours`
    offset-index   byte-offset index: pass 1 records each annotation's byte span and image_id (msgspec Raw),
                   pass 2 reads each image's spans with pread and parses them
    ours           picsellia_formats.streaming.coco_source: chunked orjson scan, lockstep or spill by shard

    python benchmarks/bench_stream_candidates.py --images 10000 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA, measure, table
from synth_coco import ensure

COMMON = """
import gc, os, orjson
gc.disable()
from picsellia_formats.streaming.coco_source import CocoSource, _SPILL_FLUSH
from picsellia_formats.streaming.json_scan import JsonFile
PATH = {path!r}
SPILL = {spill!r}

def consume(groups):
    n = 0
    for im, anns in groups:
        n += len(anns)
    return n

def two_pass(ids, images, annotations):
    # ids: the image_id of every annotation (pass 1); images/annotations: iterator factories (pass 2)
    pos = {{}}
    for im in images():
        pos[im["id"]] = len(pos)
    last, ordered = -1, True
    for i in ids:
        p = pos[i]
        if p < last:
            ordered = False
        last = p
    if ordered:
        anns = annotations()
        pending = next(anns, None)
        for im in images():
            group = []
            while pending is not None and pending["image_id"] == im["id"]:
                group.append(pending)
                pending = next(anns, None)
            yield im, group
        return
    size, buffers, n = 4096, {{}}, 0
    import tempfile, shutil
    d = tempfile.mkdtemp(dir=SPILL)
    for a in annotations():
        buffers.setdefault(pos[a["image_id"]] // size, []).append(a)
        n += 1
        if n % _SPILL_FLUSH == 0:
            for s, items in buffers.items():
                with open(f"{{d}}/{{s}}", "ab") as f:
                    f.write(orjson.dumps(items) + b"\\n")
            buffers.clear()
    for s, items in buffers.items():
        with open(f"{{d}}/{{s}}", "ab") as f:
            f.write(orjson.dumps(items) + b"\\n")
    shard, by = -1, {{}}
    for k, im in enumerate(images()):
        if k // size != shard:
            shard, by = k // size, {{}}
            if os.path.exists(f"{{d}}/{{shard}}"):
                for line in open(f"{{d}}/{{shard}}", "rb"):
                    for a in orjson.loads(line):
                        by.setdefault(pos[a["image_id"]], []).append(a)
        yield im, by.pop(k, [])
    shutil.rmtree(d)

def chunks(key, decode=None):
    with JsonFile(PATH) as jf:
        for k, off in jf.members():
            if k == key:
                for items, s, e in jf.array_chunks(off):
                    yield items, s, e, jf
            elif jf.read(off, 1) == b"[":
                for _ in jf.array_chunks(off):
                    pass
            else:
                jf.value(off)

def orjson_items(key):
    for items, *_ in chunks(key):
        yield from items
"""

CANDIDATES = {
    "in-memory": """
d = orjson.loads(open(PATH, "rb").read())
per = {}
for a in d["annotations"]:
    per.setdefault(a["image_id"], []).append(a)
n = consume((im, per.get(im["id"], [])) for im in d["images"])
""",
    "ijson": """
import ijson.backends.yajl2_c as ijson
def items(prefix):
    with open(PATH, "rb") as f:
        yield from ijson.items(f, prefix, use_float=True)
n = consume(two_pass(items("annotations.item.image_id"), lambda: items("images.item"),
                     lambda: items("annotations.item")))
""",
    "msgspec-ids": """
import msgspec
class A(msgspec.Struct):
    image_id: int | str
dec = msgspec.json.Decoder(list[A])
def ids():
    # the chunk boundaries come from the scanner; msgspec re-decodes each chunk typed (image_id only)
    with JsonFile(PATH) as jf:
        for k, off in jf.members():
            if k != "annotations":
                if jf.read(off, 1) == b"[":
                    for _ in jf.array_chunks(off): pass
                else:
                    jf.value(off)
                continue
            for _, s, e in jf.array_chunks(off):
                for a in dec.decode(b"[" + jf.read(s, e - s) + b"]"):
                    yield a.image_id
n = consume(two_pass(ids(), lambda: orjson_items("images"), lambda: orjson_items("annotations")))
""",
    "simdjson-ids": """
import simdjson
parser = simdjson.Parser()
def ids():
    with JsonFile(PATH) as jf:
        for k, off in jf.members():
            if k != "annotations":
                if jf.read(off, 1) == b"[":
                    for _ in jf.array_chunks(off): pass
                else:
                    jf.value(off)
                continue
            for _, s, e in jf.array_chunks(off):
                doc = parser.parse(b"[" + jf.read(s, e - s) + b"]")
                for a in doc:
                    yield a["image_id"]
                del doc, a
n = consume(two_pass(ids(), lambda: orjson_items("images"), lambda: orjson_items("annotations")))
""",
    "offset-index": """
import msgspec
from array import array
class A(msgspec.Struct):
    image_id: int
raw_dec = msgspec.json.Decoder(list[msgspec.Raw])
id_dec = msgspec.json.Decoder(A)
pos = {}
for im in orjson_items("images"):
    pos[im["id"]] = len(pos)
img, off, ln = array("l"), array("q"), array("l")
with JsonFile(PATH) as jf:
    for k, o in jf.members():
        if k != "annotations":
            if jf.read(o, 1) == b"[":
                for _ in jf.array_chunks(o): pass
            else:
                jf.value(o)
            continue
        for _, s, e in jf.array_chunks(o):
            body = jf.read(s, e - s)
            cur = 0
            for raw in raw_dec.decode(b"[" + body + b"]"):
                b = bytes(raw)
                cur = body.find(b, cur)
                img.append(pos[id_dec.decode(b).image_id]); off.append(s + cur); ln.append(len(b))
                cur += len(b)
import numpy as np
order = np.argsort(np.frombuffer(img, dtype=np.int64), kind="stable")
img_s = np.frombuffer(img, dtype=np.int64)[order]
bounds = np.searchsorted(img_s, np.arange(len(pos) + 1))
fd = os.open(PATH, os.O_RDONLY)
def groups():
    for k, im in enumerate(orjson_items("images")):
        idx = order[bounds[k]:bounds[k + 1]]
        yield im, [orjson.loads(os.pread(fd, ln[i], off[i])) for i in idx]
n = consume(groups())
""",
    "ours": """
with CocoSource(PATH, tmp_dir=SPILL) as src:
    n = consume(src)
""",
}


def shuffled(path: Path) -> Path:
    out = path.with_name(path.stem + "_shuffled.json")
    if not out.exists():
        data = orjson.loads(path.read_bytes())
        random.Random(0).shuffle(data["annotations"])
        out.write_bytes(orjson.dumps(data))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[10000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--spill", default="/dev/shm", help="folder for spill files (default /dev/shm)")
    args = parser.parse_args()
    rows = []
    for n in args.images:
        base = ensure(n, DATA)
        for label, path in (("ordered", base), ("shuffled", shuffled(base))):
            setup = COMMON.format(path=str(path), spill=args.spill)
            runs: dict[str, list] = {name: [] for name in args.only}
            for _ in range(args.rounds):
                for name in args.only:
                    runs[name].append(measure(CANDIDATES[name], name, setup=setup))
            for name, rs in runs.items():
                rows.append([f"{n:,} {label}", name, f"{statistics.median(r.seconds for r in rs):.2f}",
                             f"{statistics.median(r.cpu_seconds for r in rs):.2f}",
                             f"{max(r.peak_mib for r in rs):.0f}"])
            print(table(rows[-len(runs):], ["set", "candidate", "wall s", "cpu s", "peak MiB"]), flush=True)
    print()
    print(table(rows, ["set", "candidate", "wall s (median)", "cpu s (median)", "peak RSS MiB (max)"]))


if __name__ == "__main__":
    main()
