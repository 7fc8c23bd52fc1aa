"""What the TFRecord writer's decode check costs on real image files, against the rest of the record.

For every JPEG and PNG under the given folders (default: the bundled fixtures), median over
`--repeat` runs, per image: the header read (`image_header.read_header`), the check the writer runs
(`formats.tfrecord.sources.decode_problem`, ``fast`` and ``full``), a full Pillow decode for
comparison, and the SHA-256 + Example encoding every record costs anyway.

    python benchmarks/bench_decode_check.py [FOLDER ...] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import time
from pathlib import Path

from PIL import Image

from picsellia_formats.formats.tfrecord.encode import AssetJob, EncodeOptions, ObjectJob, encode_record
from picsellia_formats.formats.tfrecord.sources import decode_problem
from picsellia_formats.image_header import read_header

ROOT = Path(__file__).resolve().parents[1]


def _median_us(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def _full(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        im.load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=[ROOT / "fixtures"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, ...]]] = {"jpeg": [], "png": []}
    for folder in args.folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() not in (".jpg", ".jpeg", ".png") or not path.is_file():
                continue
            data = path.read_bytes()
            try:
                info = read_header(data)
            except Exception:
                continue
            if info is None or info.format not in rows or decode_problem(data, info, "full") is not None:
                continue  # broken files are what the check is for, not what it costs
            job = AssetJob(0, path.name, info.width, info.height, "1", [ObjectJob("x", 1, (1.0, 1.0, 2.0, 2.0))], [],
                           None)
            options = EncodeOptions(())
            rows[info.format].append((
                len(data), info.width * info.height,
                _median_us(lambda: read_header(data), args.repeat),  # noqa: B023
                _median_us(lambda: decode_problem(data, info, "fast"), args.repeat),  # noqa: B023
                _median_us(lambda: decode_problem(data, info, "full"), args.repeat),  # noqa: B023
                _median_us(lambda: _full(data), args.repeat),  # noqa: B023
                _median_us(lambda: (hashlib.sha256(data), encode_record(job, data, info, options, {})),  # noqa: B023
                           args.repeat),
            ))
    print(f"{'type':5} {'files':>5} {'mean KB':>8} {'mean Mpx':>8} {'header µs':>10} {'fast µs':>8} "
          f"{'full µs':>8} {'Pillow load µs':>14} {'record µs':>9} {'fast/record':>11} {'full/record':>11}")
    for kind, r in rows.items():
        if not r:
            continue
        mean = [statistics.mean(c) for c in zip(*r)]
        print(f"{kind:5} {len(r):5d} {mean[0] / 1024:8.1f} {mean[1] / 1e6:8.2f} {mean[2]:10.1f} {mean[3]:8.1f} "
              f"{mean[4]:8.0f} {mean[5]:14.0f} {mean[6]:9.0f} {mean[3] / mean[6]:10.2f}x {mean[4] / mean[6]:10.1f}x")


if __name__ == "__main__":
    main()
