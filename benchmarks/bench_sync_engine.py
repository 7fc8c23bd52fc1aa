"""Push and pull transfers on this process's threads against the Dask engine, small images, the emulator.

    python benchmarks/bench_sync_engine.py --images 1000 10000 --workers 2 [--repeat 1]

Per image count, each row is a fresh emulator in its own process (``python -m picsellia_formats emulator``)
and one push then one pull as COCO with the images (``bench_sync.make_images``: seeded 64x48 JPEGs, ~2 KB,
1-3 boxes each). Rows: ``threads`` (the default: transfers on `--workers` threads of this process), ``dask
(new cluster)`` (``engine="dask"``: a local cluster of `--workers` processes started and closed by each
push and each pull, what ``--engine dask`` without ``--scheduler`` costs) and ``dask (running cluster)``
(``scheduler=`` a cluster started before the clock: the cost per image alone). The API calls (object
names, presigned URLs, registration, annotations) are made by this process in every row; only the bytes
move on the engine. ``vs threads`` is the difference in wall time. Fastest of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_sync import EmulatorProcess, make_images  # noqa: E402

import picsellia_formats as pf  # noqa: E402
from picsellia_formats.sync import Client, RetryPolicy, pull, push  # noqa: E402


def run(ds: pf.Dataset, images: Path, workers: int, work: Path, engine: dict[str, str]) -> dict[str, float]:
    state = Path(tempfile.mkdtemp(prefix="state-", dir=work))
    emu = EmulatorProcess(state)
    try:
        with Client(emu.url, emu.token, workers=workers, env_file=None,
                    retry=RetryPolicy(poll_interval=0.02)) as client:
            t0 = time.perf_counter()
            pushed = push(ds, images, "bench", "v1", client=client, workers=workers, quiet=True, **engine)
            out = {"push": time.perf_counter() - t0}
            assert pushed.uploaded == len(ds), pushed.summary()
            dest = Path(tempfile.mkdtemp(prefix="pulled-", dir=work))
            t0 = time.perf_counter()
            pulled = pull("bench", "v1", dest, "coco", client=client, workers=workers, quiet=True, **engine)
            out["pull"] = time.perf_counter() - t0
            assert pulled.downloaded == len(ds), pulled.summary()
            shutil.rmtree(dest)
        return out
    finally:
        emu.stop()
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, nargs="+", default=[1000])
    parser.add_argument("--workers", type=int, default=2, help="threads, and Dask worker processes")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; the fastest is kept")
    args = parser.parse_args()
    from distributed import LocalCluster

    work = Path(tempfile.mkdtemp(prefix="pf-bench-sync-engine-"))
    rows = []
    try:
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            engines = [("threads", {}), ("dask (new cluster)", {"engine": "dask"}),
                       ("dask (running cluster)", {"engine": "dask", "scheduler": cluster.scheduler_address})]
            for n in args.images:
                images = work / f"images-{n}"
                ds = make_images(images, n)
                base: dict[str, float] = {}
                for name, engine in engines:
                    best: dict[str, float] = {}
                    for _ in range(args.repeat):
                        for phase, seconds in run(ds, images, args.workers, work, engine).items():
                            best[phase] = min(seconds, best.get(phase, seconds))
                    for phase, seconds in best.items():
                        base.setdefault(phase, seconds)
                        rows.append((n, name, phase, seconds, seconds - base[phase]))
                shutil.rmtree(images)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"64x48 px JPEGs, emulator in its own process on 127.0.0.1, {args.workers} workers "
          f"({os.cpu_count()} CPUs, load average {load:.1f}); fastest of {args.repeat}")
    print(f"{'images':>7} {'engine':<24} {'phase':<5} {'seconds':>8} {'images/s':>9} {'vs threads':>11} "
          f"{'ms/image':>9}")
    for n, name, phase, seconds, delta in rows:
        print(f"{n:>7} {name:<24} {phase:<5} {seconds:>8.2f} {n / seconds:>9.0f} {delta:>+10.2f}s "
              f"{1000 * delta / n:>+9.2f}")


if __name__ == "__main__":
    main()
