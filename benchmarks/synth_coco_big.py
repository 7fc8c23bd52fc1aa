"""A big synthetic COCO (1M images by default) made from `synth_coco.py`'s set by concatenation.

The base set (100k images, seed 0) is generated once; the output holds `--copies` copies of it with image
and annotation ids offset per copy and file names renumbered (``img_0100000.jpg`` ...), so every id and file
name stays unique. Copy 0 is byte for byte the base set's images and annotations. The file is streamed to
disk chunk by chunk (images array, then annotations array, then categories): memory is the base set's
generation plus one chunk, never the output (~3.2 GB at 1M images). Same arguments, same bytes.

    python benchmarks/synth_coco_big.py --out /dev/shm/synth_coco_1000000.json            # 1M images
    python benchmarks/synth_coco_big.py --base-images 1000 --copies 3 --out /tmp/small.json
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth_coco import generate

CHUNK = 20000


def _compact(base: dict) -> tuple[list[dict], list[bytes], list[int]]:
    """The base images, each annotation's bytes without its leading id and image_id, and its image_id.

    The generator writes ``id`` and ``image_id`` first in every annotation, so
    ``b'{"id":%d,"image_id":%d,' + body`` rebuilds exactly the bytes orjson would write for the offset dict.
    """
    bodies: list[bytes] = []
    image_ids: list[int] = []
    anns = base.pop("annotations")
    for k in range(len(anns)):
        a = anns[k]
        anns[k] = None  # free as we go: the bytes are smaller than the dicts
        assert next(iter(a)) == "id" and list(a)[1] == "image_id"
        image_ids.append(a.pop("image_id"))
        a.pop("id")
        bodies.append(orjson.dumps(a)[1:])
    return base.pop("images"), bodies, image_ids


def _renamed(name: str, number: int) -> str:
    """``img_0000042.jpg`` -> ``img_0100042.jpg`` (the generator ends every name in 7 digits + .jpg)."""
    return f"{name[:-11]}{number:07d}.jpg"


def write_big(out: Path, base_images: int = 100_000, copies: int = 10, seed: int = 0) -> tuple[int, int]:
    """Write `copies` concatenated copies of the base set to `out` (via a temp file); returns (images, annotations)."""
    gc.disable()
    base = generate(base_images, seed)
    images, bodies, ann_image_ids = _compact(base)
    n_anns = len(bodies)
    base["info"]["description"] = (f"synthetic COCO, {base_images * copies} images "
                                   f"({copies} copies of the {base_images}-image set), seed {seed}")
    tmp = out.with_name(out.name + ".tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(b'{"info":' + orjson.dumps(base["info"]) + b',"licenses":' + orjson.dumps(base["licenses"])
                + b',"images":[')
        sep = b""
        for c in range(copies):
            off = c * base_images
            for start in range(0, len(images), CHUNK):
                chunk = []
                for im in images[start:start + CHUNK]:
                    d = dict(im)
                    d["id"] = im["id"] + off
                    if c:
                        d["file_name"] = _renamed(im["file_name"], im["id"] - 1 + off)
                    chunk.append(d)
                f.write(sep + orjson.dumps(chunk)[1:-1])
                sep = b","
        f.write(b'],"annotations":[')
        sep = b""
        for c in range(copies):
            img_off, ann_off = c * base_images, c * n_anns
            for start in range(0, n_anns, CHUNK):
                end = min(start + CHUNK, n_anns)
                parts = [b'{"id":%d,"image_id":%d,' % (k + 1 + ann_off, ann_image_ids[k] + img_off) + bodies[k]
                         for k in range(start, end)]
                f.write(sep + b",".join(parts))
                sep = b","
        f.write(b'],"categories":' + orjson.dumps(base["categories"]) + b"}")
    os.replace(tmp, out)
    return base_images * copies, n_anns * copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-images", type=int, default=100_000)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    n_images, n_anns = write_big(args.out, args.base_images, args.copies, args.seed)
    print(f"{args.out}: {n_images} images, {n_anns} annotations, {args.out.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
