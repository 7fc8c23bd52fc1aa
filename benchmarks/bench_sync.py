"""Push and pull of small images against the local emulator: images per second with 1 and 8 workers.

    python benchmarks/bench_sync.py --images 2000 --workers 1 8 [--repeat 3] [--in-process]

Each run starts a fresh emulator in its own process (``python -m picsellia_formats emulator``), so the
client and the server do not share an interpreter. Per worker count it times: the first push (upload,
register, attach, annotations), a second push of the same data (must change nothing), and a pull
as COCO with the images. The images are seeded 64x48 JPEGs (~2 KB), 1-3 boxes each. ``--repeat N`` runs
everything N times (a fresh emulator each) and keeps the fastest time of each phase, which is what to compare
on a machine shared with other jobs; ``--in-process`` serves the emulator in a thread of this process.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402

import picsellia_formats as pf  # noqa: E402
from picsellia_formats.sync import Client, RetryPolicy, pull, push  # noqa: E402


def make_images(folder: Path, n: int, seed: int = 0) -> pf.Dataset:
    """`n` seeded small JPEGs in `folder` and a dataset with 1-3 boxes on each."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ds = pf.Dataset(labels=[pf.Label("a"), pf.Label("b")])
    for i in range(n):
        name = f"img_{i:05d}.jpg"
        color = tuple(rng.randrange(256) for _ in range(3))
        im = Image.new("RGB", (64, 48), color)
        im.putpixel((rng.randrange(64), rng.randrange(48)), (255, 255, 255))
        im.save(folder / name, quality=90)
        boxes = [pf.Annotation(rng.choice("ab"), box=(rng.randrange(30), rng.randrange(20), 10, 10))
                 for _ in range(rng.randint(1, 3))]
        ds.add_asset(pf.Asset(name, 64, 48, boxes))
    return ds


class EmulatorProcess:
    def __init__(self, data: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "picsellia_formats", "emulator", "--port", "0",
                                      "--data", str(data)], stdout=subprocess.PIPE, text=True, cwd=REPO,
                                     env=dict(os.environ, PYTHONPATH=str(REPO)))
        first, second = self.proc.stdout.readline(), self.proc.stdout.readline()
        self.url = re.search(r"(http://[\d.]+:\d+)", first).group(1)
        self.token = second.split("token:")[1].strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class EmulatorThread:
    def __init__(self, data: Path) -> None:
        from picsellia_formats.sync.emulator import Emulator

        self.emu = Emulator(data).start()
        self.url, self.token = self.emu.url, self.emu.token

    def stop(self) -> None:
        self.emu.stop()


def run(ds: pf.Dataset, images: Path, workers: int, work: Path, in_process: bool = False) -> dict[str, float]:
    state = Path(tempfile.mkdtemp(prefix=f"state-{workers}-", dir=work))
    emu = EmulatorThread(state) if in_process else EmulatorProcess(state)
    try:
        client = Client(emu.url, emu.token, workers=workers, env_file=None, retry=RetryPolicy(poll_interval=0.02))
        out = {}
        t0 = time.perf_counter()
        first = push(ds, images, "bench", "v1", client=client, workers=workers, quiet=True)
        out["push"] = time.perf_counter() - t0
        assert first.uploaded == len(ds), first.summary()
        t0 = time.perf_counter()
        again = push(ds, images, "bench", "v1", client=client, workers=workers, quiet=True)
        out["push again (no-op)"] = time.perf_counter() - t0
        assert again.uploaded == 0 and again.annotations_sent == 0, again.summary()
        dest = Path(tempfile.mkdtemp(prefix=f"pulled-{workers}-", dir=work))
        t0 = time.perf_counter()
        pulled = pull("bench", "v1", dest, "coco", client=client, workers=workers, quiet=True)
        out["pull"] = time.perf_counter() - t0
        assert pulled.downloaded == len(ds), pulled.summary()
        client.close()
        return out
    finally:
        emu.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count; the fastest is kept")
    parser.add_argument("--in-process", action="store_true", help="serve the emulator in a thread")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pf-bench-sync-"))
    try:
        ds = make_images(work / "images", args.images)
        rows = []
        for workers in args.workers:
            best: dict[str, float] = {}
            for _ in range(args.repeat):
                for phase, seconds in run(ds, work / "images", workers, work, args.in_process).items():
                    best[phase] = min(seconds, best.get(phase, seconds))
            rows.extend((phase, workers, seconds) for phase, seconds in best.items())
        where = "in a thread of this process" if args.in_process else "in its own process"
        print(f"{args.images} images of 64x48 px, {ds.num_annotations} boxes; emulator {where} on 127.0.0.1 "
              f"({os.cpu_count()} CPUs); fastest of {args.repeat}")
        print(f"{'phase':<20} {'workers':>7} {'seconds':>9} {'images/s':>9}")
        for phase, workers, seconds in rows:
            print(f"{phase:<20} {workers:>7} {seconds:>9.2f} {args.images / seconds:>9.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
