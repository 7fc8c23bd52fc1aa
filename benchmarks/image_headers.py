"""Header reading: the hand-written JPEG/PNG fast path against Pillow's lazy ``Image.open``.

Run: ``python benchmarks/image_headers.py [folder]`` (default: the bundled fixtures); prints a table.
The fast path is kept only while it stays at least 2x faster than Pillow on real files.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PIL import Image

from picsellia_formats.image_header import HEAD, exif_orientation, fast_header, read_file_header


def _fast(path: Path) -> object:
    with open(path, "rb") as f:
        return fast_header(f.read(HEAD))


def _pillow(path: Path) -> object:
    with Image.open(path) as im:
        return im.size, exif_orientation(im)


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "fixtures"
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise SystemExit(f"no JPEG/PNG files under {root}")
    print(f"{len(files)} files under {root}")
    print(f"{'reader':<22}{'µs/file':>10}")
    for name, fn in (("fast path", _fast), ("read_file_header", read_file_header), ("Pillow Image.open", _pillow)):
        fn(files[0])
        start = time.perf_counter()
        for _ in range(3):
            for p in files:
                fn(p)
        print(f"{name:<22}{(time.perf_counter() - start) / (3 * len(files)) * 1e6:>10.1f}")


if __name__ == "__main__":
    main()
