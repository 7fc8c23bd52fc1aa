"""Validation of 100k assets with their image files: the issue's target is under a minute on 2 cores.

    python benchmarks/bench_validate.py                 # 100,000 images (generated once, ~1.8 GB)
    python benchmarks/bench_validate.py --images 10000

The annotations are `synth_coco.py`'s (686k objects for 100k images, 90 % polygons), with the
stated polygon areas left out (the generator's are not the polygons' areas, which would make every
object an area-mismatch finding). The images are generated once into the cache folder (default
$PF_BENCH_DATA or /tmp/pf-bench, never the repository): a plain JPEG of each image's stated size
with a JPEG comment that makes every file's bytes different, and, one image in a thousand each, a
truncated file, a missing file, a file whose EXIF orientation 6 turns it (stated size = stored size)
and a byte-for-byte duplicate. Every row runs in a fresh interpreter (imports excluded, except the
CLI row which is what a user waits for). The per-image rows measure, on a sample of files, the
probe (header + last bytes), ``Image.verify()`` and a full decode (``--deep``), extrapolated.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import DATA, measure, table
from synth_coco import generate


def _base_jpegs() -> dict[tuple[int, int], tuple[bytes, bytes]]:
    from PIL import Image

    out = {}
    for size in ((640, 480), (1280, 720), (1920, 1080)):
        plain = io.BytesIO()
        Image.new("RGB", size, (120, 130, 140)).save(plain, "JPEG", quality=75)
        turned = io.BytesIO()
        exif = Image.Exif()
        exif[0x0112] = 6
        # stored as size (w x h) and displayed turned: the stated w x h is then the stored size
        Image.new("RGB", size, (120, 130, 140)).save(turned, "JPEG", quality=75, exif=exif.tobytes())
        out[size] = (plain.getvalue(), turned.getvalue())
    return out


def _with_comment(jpeg: bytes, text: bytes) -> bytes:
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


def ensure(n: int, cache: Path) -> tuple[Path, Path]:
    """(annotation file, images folder) for `n` images, generated once into `cache`."""
    folder = cache / f"validate_{n}"
    ann = folder / "annotations.json"
    images = folder / "images"
    done = folder / ".complete"
    if done.exists():
        return ann, images
    images.mkdir(parents=True, exist_ok=True)
    data = generate(n)
    for a in data["annotations"]:
        if type(a.get("segmentation")) is list and a["segmentation"]:
            a.pop("area", None)
    ann.write_bytes(orjson.dumps(data))
    bases = _base_jpegs()
    t0 = time.perf_counter()
    previous = b""
    for i, im in enumerate(data["images"]):
        plain, turned = bases[(im["width"], im["height"])]
        kind = i % 1000
        if kind == 23:
            continue  # missing
        blob = _with_comment(turned if kind == 37 else plain, f"pf-bench {i} ".encode() + b"." * (i % 997))
        if kind == 11:
            blob = blob[: len(blob) * 7 // 10]  # truncated
        if kind == 51:
            blob = previous  # the same bytes as the previous image
        (images / im["file_name"]).write_bytes(blob)
        previous = blob
    done.write_text(f"{n} images in {time.perf_counter() - t0:.1f} s\n")
    return ann, images


PROBE_SETUP = """
from picsellia_formats.validation.imagefiles import probe
from PIL import Image
"""
PROBE = """
paths = {paths!r}
mode = {mode!r}
for p in paths:
    if mode == "probe":
        probe((p,))
    elif mode == "verify":
        with Image.open(p) as im:
            im.verify()
    else:
        probe((p,), deep=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=DATA)
    parser.add_argument("--sample", type=int, default=2000, help="files for the per-image rows")
    args = parser.parse_args()
    t0 = time.perf_counter()
    src, images = ensure(args.images, args.cache)
    print(f"data: {src} ({src.stat().st_size / 2**20:.0f} MiB), {images} (ready in {time.perf_counter() - t0:.0f} s)")
    s, i = str(src), str(images)
    rows = []

    cpu_file = args.cache / "cpu.txt"

    def row(name: str, code: str) -> None:
        timed = (f"import resource as _r, time as _tt\n_c0 = _tt.process_time()\n{code}\n"
                 "_ch = _r.getrusage(_r.RUSAGE_CHILDREN)\n"
                 f"open({str(cpu_file)!r}, 'w').write(str(_tt.process_time() - _c0 + _ch.ru_utime + _ch.ru_stime))")
        r = measure(timed, name, setup="import picsellia_formats as pf\nfrom picsellia_formats.validation import "
                                        "validate")
        cpu = float(cpu_file.read_text())
        rows.append([name, f"{r.seconds:.1f}", f"{cpu:.1f}", f"{r.peak_mib:,.0f}", ""])
        print(rows[-1], flush=True)

    row("read the COCO file (pf.read)", f"pf.read({s!r})")
    row("validate, annotations only", f"r = validate({s!r}); print(r.summary())")
    row("validate with images (no duplicate hashing)", f"r = validate({s!r}, {i!r}, hash_images=False)")
    row("validate with images (in one process)", f"r = validate({s!r}, {i!r}, workers=0)")
    row("validate with images", f"r = validate({s!r}, {i!r}); print(r.summary())")
    cli = ("import subprocess, sys\n"
           f"subprocess.run([sys.executable, '-m', 'picsellia_formats', 'validate', {s!r}, '--images', {i!r}, "
           "'-q'], check=False)")
    r = measure(cli, "cli")
    rows.append(["CLI: validate SRC --images DIR (start to exit)", f"{r.seconds:.1f}", "", "", ""])
    print(rows[-1], flush=True)
    sample = sorted(str(p) for p in list(images.iterdir())[: args.sample])
    for mode, name in (("probe", "probe (header + last bytes)"), ("verify", "Image.verify()"),
                       ("deep", "full decode (--deep)")):
        r = measure(PROBE.format(paths=sample, mode=mode), mode, setup=PROBE_SETUP)
        per = r.seconds / len(sample)
        rows.append([f"per image: {name}, {len(sample):,} files", f"{r.seconds:.2f}", "", "",
                     f"{per * 1e6:,.0f} µs/image = {per * args.images:,.0f} s per {args.images:,}"])
        print(rows[-1], flush=True)
    print()
    load = os.getloadavg()[0]
    print(f"{args.images:,} assets with images; {os.cpu_count()} CPUs; load average {load:.1f} (wall seconds "
          "stretch when other work shares the CPUs; CPU seconds include the worker processes)")
    print(table(rows, ["what", "wall s", "CPU s", "peak MiB", "per image"]))


if __name__ == "__main__":
    main()
