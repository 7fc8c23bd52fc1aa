"""TFRecords for the TF Object Detection API: our writer against TensorFlow's, same data, same run.

A seeded synthetic set (2,000 JPEGs 240-480 px wide, q85; ~6.8 objects per image, 3 % empty images,
20 long-tailed classes; every object a polygon with its box) is written as 4 round-robin shards:

* TensorFlow: the OD API tools' way (``create_coco_tf_record.py``): per image read the bytes, SHA-256,
  normalised boxes, ``tf.train.Example`` + ``SerializeToString(deterministic=True)``,
  ``tf.io.TFRecordWriter``; with masks, pycocotools rasterises each polygon and Pillow writes the PNG.
* ours: ``python -m picsellia_formats tfrecord`` (one process, and the automatic worker pool).

Each writer runs in its own fresh process; the table gives records/s of the writing loop (imports and
annotation parsing excluded) and the whole process's wall time (interpreter start to exit) and peak RSS.
Without masks, the shards of both writers are compared by SHA-256 (they must be identical).

    python benchmarks/bench_tfrecord.py [--images 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA, REPO, _Popen, table

SHARDS = 4


# ------------------------------------------------------------------------------------------ the data


def generate(folder: Path, n_images: int, seed: int = 0) -> Path:
    """Images and a COCO file describing them (cached: same seed and size, same files)."""
    import numpy as np
    import orjson
    from PIL import Image, ImageDraw

    coco_path = folder / "annotations.json"
    if coco_path.exists() and len(list((folder / "images").iterdir())) == n_images:
        return coco_path
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    weights = 1.0 / np.arange(1, 21) ** 1.2
    weights /= weights.sum()
    images, annotations = [], []
    ann_id = 1
    for i in range(n_images):
        w = int(rng.integers(240, 481))
        h = int(w * rng.uniform(0.6, 1.0))
        base = rng.integers(0, 256, size=3)
        grad = np.linspace(0, 60, w, dtype=np.float32)[None, :, None]
        pixels = np.clip(base[None, None, :] + grad + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)
        im = Image.fromarray(pixels)
        draw = ImageDraw.Draw(im)
        n = 0 if rng.random() < 0.03 else max(1, int(rng.poisson(6.8)))
        for _ in range(n):
            bw, bh = rng.uniform(0.05, 0.5) * w, rng.uniform(0.05, 0.5) * h
            x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            k = int(rng.integers(6, 13))
            angles = np.sort(rng.uniform(0, 2 * math.pi, k))
            xs = x0 + bw / 2 + np.cos(angles) * bw / 2
            ys = y0 + bh / 2 + np.sin(angles) * bh / 2
            poly = [round(float(v), 2) for xy in zip(xs, ys) for v in xy]
            draw.polygon(poly, fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
            px, py = poly[0::2], poly[1::2]
            box = [min(px), min(py), round(max(px) - min(px), 2), round(max(py) - min(py), 2)]
            area = 0.5 * abs(sum(px[j] * py[j - 1] - px[j - 1] * py[j] for j in range(k)))
            annotations.append({"id": ann_id, "image_id": i + 1, "category_id": int(rng.choice(20, p=weights)) + 1,
                                "segmentation": [poly], "area": area, "bbox": box, "iscrowd": 0})
            ann_id += 1
        name = f"img_{i:05d}.jpg"
        im.save(folder / "images" / name, quality=85)
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h})
    categories = [{"id": c + 1, "name": f"class_{c:02d}"} for c in range(20)]
    coco_path.write_bytes(orjson.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return coco_path


# --------------------------------------------------------------------------------- the TF baseline


def tf_child(coco: Path, prefix: Path, images: Path, masks: bool) -> None:
    """TensorFlow's writer, the way the OD API's create_coco_tf_record.py builds each Example."""
    t_start = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import io

    import orjson
    import tensorflow as tf
    from PIL import Image
    from pycocotools import mask as coco_mask

    data = orjson.loads(coco.read_bytes())
    by_image: dict[int, list] = {}
    for a in data["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    names = {c["id"]: c["name"].encode() for c in data["categories"]}
    t0 = time.perf_counter()
    c0 = time.process_time()
    writers = [tf.io.TFRecordWriter(f"{prefix}-{i:05d}-of-{SHARDS:05d}") for i in range(SHARDS)]

    def floats(v):
        return tf.train.Feature(float_list=tf.train.FloatList(value=v))

    def ints(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=v))

    def strs(v):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=v))

    for idx, image in enumerate(data["images"]):
        encoded = (images / image["file_name"]).read_bytes()
        w, h = image["width"], image["height"]
        anns = by_image.get(image["id"], [])
        xmin, xmax, ymin, ymax, text, label, crowd, area, pngs = [], [], [], [], [], [], [], [], []
        for a in anns:
            x, y, bw, bh = a["bbox"]
            xmin.append(x / w)
            xmax.append((x + bw) / w)
            ymin.append(y / h)
            ymax.append((y + bh) / h)
            text.append(names[a["category_id"]])
            label.append(a["category_id"])
            crowd.append(a["iscrowd"])
            area.append(a["area"])
            if masks:
                rle = coco_mask.merge(coco_mask.frPyObjects(a["segmentation"], h, w))
                buf = io.BytesIO()
                Image.fromarray(coco_mask.decode(rle)).save(buf, format="PNG")
                pngs.append(buf.getvalue())
        feature = {
            "image/encoded": strs([encoded]), "image/format": strs([b"jpeg"]),
            "image/height": ints([h]), "image/width": ints([w]),
            "image/filename": strs([image["file_name"].encode()]), "image/source_id": strs([str(image["id"]).encode()]),
            "image/key/sha256": strs([hashlib.sha256(encoded).hexdigest().encode()]),
            "image/object/bbox/xmin": floats(xmin), "image/object/bbox/xmax": floats(xmax),
            "image/object/bbox/ymin": floats(ymin), "image/object/bbox/ymax": floats(ymax),
            "image/object/class/text": strs(text), "image/object/class/label": ints(label),
            "image/object/is_crowd": ints(crowd), "image/object/area": floats(area),
            "image/object/difficult": ints([0] * len(anns)),
        }
        if masks:
            feature["image/object/mask"] = strs(pngs)
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        writers[idx % SHARDS].write(example.SerializeToString(deterministic=True))
    for wr in writers:
        wr.close()
    t1 = time.perf_counter()
    print(f"__RESULT__ {len(data['images'])} {t1 - t0!r} {time.process_time() - c0!r} {t0 - t_start!r}")


def ours_child(coco: Path, prefix: Path, images: Path, masks: bool, workers: int | None) -> None:
    """Our writer, through the library (the same code path as the CLI), timing the writing loop."""
    t_start = time.perf_counter()
    import google_crc32c  # noqa: F401 - imports done before the clock starts, as for TensorFlow
    import tqdm  # noqa: F401

    import picsellia_formats as pf
    from picsellia_formats.formats.tfrecord.write import write_tfrecords

    if masks:
        import picsellia_formats.masks
    dataset = pf.read(coco, "coco")
    t0 = time.perf_counter()
    c0 = time.process_time()
    write_tfrecords(dataset, prefix, images=images, shards=SHARDS, masks=masks, workers=workers, progress=False)
    t1 = time.perf_counter()
    print(f"__RESULT__ {len(dataset)} {t1 - t0!r} {time.process_time() - c0!r} {t0 - t_start!r}")


# ------------------------------------------------------------------------------------------ the runs


def run(args: list[str]) -> tuple[int, float, float, float, float, float]:
    """(records, loop seconds, loop CPU seconds (this process only), whole-process wall seconds,
    whole-process CPU seconds (with its workers), peak MiB) of one child process."""
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    t0 = time.perf_counter()
    proc = _Popen([sys.executable, str(Path(__file__).resolve()), *args], stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, env=env, text=True, cwd=REPO)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{args} failed:\n{err[-3000:]}")
    records, loop, loop_cpu = out.rsplit("__RESULT__", 1)[1].split()[:3]
    usage = getattr(proc, "_pf_rusage", None)
    peak = usage.ru_maxrss / 1024.0 if usage is not None else float("nan")
    cpu = usage.ru_utime + usage.ru_stime if usage is not None else float("nan")
    return int(records), float(loop), float(loop_cpu), wall, cpu, peak


def shard_digests(prefix: Path) -> list[str]:
    return [hashlib.sha256(Path(f"{prefix}-{i:05d}-of-{SHARDS:05d}").read_bytes()).hexdigest() for i in range(SHARDS)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per writer (the median is shown)")
    parser.add_argument("--workdir", type=Path, default=DATA / "tfrecord")
    parser.add_argument("--child", choices=("tf", "ours"), help=argparse.SUPPRESS)
    parser.add_argument("--masks", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.workdir / f"synth{args.images}"
    if args.child == "tf":
        tf_child(folder / "annotations.json", args.prefix, folder / "images", args.masks)
        return
    if args.child == "ours":
        ours_child(folder / "annotations.json", args.prefix, folder / "images", args.masks,
                   None if args.workers is None or args.workers < 0 else args.workers)
        return

    t0 = time.perf_counter()
    generate(folder, args.images)
    print(f"data: {args.images:,} images in {folder} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    out = args.workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    writers = [("TensorFlow (tf.train.Example + TFRecordWriter)", "tf", None),
               ("ours, one process", "ours", 0), ("ours, automatic pool", "ours", -1)]
    rows = []
    for masks in (False, True):
        results = {}
        for name, child, workers in writers:
            runs = []
            for r in range(args.repeat):
                prefix = out / f"{child}{workers}{'m' if masks else ''}.record"
                cmd = ["--images", str(args.images), "--workdir", str(args.workdir), "--child", child,
                       "--prefix", str(prefix)]
                if masks:
                    cmd.append("--masks")
                if workers is not None:
                    cmd += ["--workers", str(workers)]
                runs.append(run(cmd))
                print(f"  {'masks' if masks else 'boxes'} {name} run {r + 1}: {runs[-1][1]:.2f} s loop, "
                      f"{runs[-1][3]:.2f} s process", file=sys.stderr)
            records = runs[0][0]
            med = [statistics.median(x[k] for x in runs) for k in range(1, 6)]
            results[(child, workers)] = (records / med[0], records / med[1], *med[2:], prefix)
        tf_rate, tf_cpu_rate, tf_wall, tf_cpu, _, tf_prefix = results[("tf", None)]
        for name, child, workers in writers:
            rate, cpu_rate, wall, cpu, peak, prefix = results[(child, workers)]
            pooled = child == "ours" and workers != 0
            rows.append(["masks" if masks else "boxes", name, f"{rate:,.0f}", f"{rate / tf_rate:.2f}x",
                         "-" if pooled else f"{cpu_rate:,.0f}", "-" if pooled else f"{cpu_rate / tf_cpu_rate:.2f}x",
                         f"{wall:.2f}", f"{tf_wall / wall:.2f}x", f"{cpu:.2f}", f"{tf_cpu / cpu:.2f}x",
                         f"{peak:,.0f}"])
        if not masks:
            same = shard_digests(tf_prefix) == shard_digests(results[("ours", 0)][-1])
            print(f"boxes: shards of ours and TensorFlow sha256-identical: {same}")
    load = os.getloadavg()[0]
    print(f"\n{args.images:,} images, {SHARDS} shards, median of {args.repeat} runs, {os.cpu_count()} CPUs, "
          f"load average {load:.1f} at the end")
    print("records/s: the writing loop (wall clock, and CPU time of the writing process); process: from "
          "interpreter start to exit, wall and CPU (with workers)")
    print(table(rows, ["objects", "writer", "rec/s", "vs TF", "rec/CPU-s", "vs TF", "process s", "TF/this",
                       "process CPU s", "TF/this", "peak MiB"]))


if __name__ == "__main__":
    main()
