"""Per-image work on a distributed engine: Ray and Dask against the local process pool, same shard function.

The job: 10k small generated JPEGs in shards of 500; each task reads its files' headers (size after EXIF
orientation, `picsellia_formats.images.image_size`) and their sha256. Each engine runs in a fresh process:
start-up (pool or 2-worker local cluster ready), the first run (workers import the code), then warm runs
(median), then shut-down. CPU time counts the driver and every worker process (psutil, whole tree).
Results are checked identical across engines. Install size: the engine's distributions plus every
dependency they pull in that the package does not already need.

    python benchmarks/bench_engines.py --images 10000 --shard 500 --rounds 3

``--job tfrecord``: the package's own per-image work instead, TFRecord encoding (`write_tfrecords` of a
dataset of the same JPEGs, one box each, 4 shards) with ``workers=0`` (this process), the local pool
(``engine="local"``) and a local Dask cluster (``engine="dask"``), 2 workers; wall time from the call to
the committed files (engine start-up and shut-down included), CPU of the whole process tree, and the
sha256 of every shard (identical across engines):

    python benchmarks/bench_engines.py --job tfrecord --images 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, table

ENGINES = ("serial", "pool", "dask", "ray")


def shard_task(paths: list[str]) -> list[tuple[str, int, int, str]]:
    """The per-shard work: (name, width, height, sha256) for each image. Pure: same input, same output."""
    from picsellia_formats.images import image_size

    out = []
    for p in paths:
        with open(p, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        w, h = image_size(p)
        out.append((os.path.basename(p), w, h, digest))
    return out


def make_images(folder: Path, n: int) -> list[str]:
    """`n` small seeded JPEGs (64x48 noise, ~2 KiB each), generated once."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [str(folder / f"img_{i:06d}.jpg") for i in range(n)]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        import numpy as np
        from PIL import Image

        rng = np.random.default_rng(0)
        for p in missing:
            Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(p, quality=80)
    return paths


CHILD = r"""
import json, os, statistics, sys, time
sys.path.insert(0, {bench!r})
import psutil
from bench_engines import shard_task
engine, shards, runs = {engine!r}, json.loads(open({shards!r}).read()), {runs}
me = psutil.Process()
def tree_cpu():
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total
t0 = time.perf_counter()
if engine == "serial":
    run = lambda: [shard_task(s) for s in shards]
    close = lambda: None
elif engine == "pool":
    from concurrent.futures import ProcessPoolExecutor
    ex = ProcessPoolExecutor(2)
    list(ex.map(int, range(2)))  # workers up
    run = lambda: list(ex.map(shard_task, shards))
    close = ex.shutdown
elif engine == "dask":
    from dask.distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.wait_for_workers(2)
    run = lambda: client.gather(client.map(shard_task, shards, pure=False))
    close = lambda: (client.close(), cluster.close())
elif engine == "ray":
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    task = ray.remote(shard_task)
    ray.get([ray.remote(lambda: 0).remote() for _ in range(2)])
    run = lambda: ray.get([task.remote(s) for s in shards])
    close = ray.shutdown
t1 = time.perf_counter()
c0 = tree_cpu()
first = time.perf_counter(); result = run(); first = time.perf_counter() - first
warm = []
for _ in range(runs):
    t = time.perf_counter(); result = run(); warm.append(time.perf_counter() - t)
cpu = tree_cpu() - c0
t2 = time.perf_counter(); close(); t3 = time.perf_counter()
import hashlib
digest = hashlib.sha256(json.dumps(result).encode()).hexdigest()
print("__RESULT__" + json.dumps({{"startup": t1 - t0, "first": first, "warm": statistics.median(warm),
      "cpu_per_run": cpu / (runs + 1), "shutdown": t3 - t2, "digest": digest}}))
"""


TFRECORD_CHILD = r"""
import hashlib, json, os, sys, tempfile, time
from pathlib import Path
import psutil
from picsellia_formats.formats.tfrecord.write import write_tfrecords
from picsellia_formats.model import Annotation, Asset, Dataset, Label
engine, paths = {engine!r}, json.loads(open({shards!r}).read())
me = psutil.Process()
def tree_cpu():
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total
ds = Dataset([Label("noise")], [Asset(os.path.basename(p), 64, 48, [Annotation("noise", box=(8.0, 6.0, 32.0, 24.0))],
                                      id=i) for i, p in enumerate(paths)])
out = Path(tempfile.mkdtemp(dir="/dev/shm")) / "data.record"
workers, eng = (0, "local") if engine == "inline" else (2, "local" if engine == "pool" else "dask")
c0 = tree_cpu(); t0 = time.perf_counter()
files = write_tfrecords(ds, out, images=os.path.dirname(paths[0]), shards=4, workers=workers, engine=eng,
                        progress=False)
wall = time.perf_counter() - t0; cpu = tree_cpu() - c0
digest = hashlib.sha256(b"".join(hashlib.sha256(f.read_bytes()).digest() for f in files)).hexdigest()
for f in files:
    f.unlink()
print("__RESULT__" + json.dumps({{"wall": wall, "cpu": cpu, "digest": digest, "peak_mib":
      __import__("resource").getrusage(__import__("resource").RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run_tfrecord(engine: str, paths_file: Path) -> dict:
    code = TFRECORD_CHILD.format(engine=engine, shards=str(paths_file))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env)
    if "__RESULT__" not in out.stdout:
        raise RuntimeError(f"{engine} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.rsplit("__RESULT__", 1)[1])


def tfrecord_main(args: argparse.Namespace, paths: list[str]) -> None:
    paths_file = args.folder / "paths.json"
    paths_file.write_text(json.dumps(paths))
    chosen = [] if args.engines == list(ENGINES) else args.engines
    engines = [e for e in chosen if e in ("inline", "pool", "dask")] or ["inline", "pool", "dask"]
    results: dict[str, list[dict]] = {e: [] for e in engines}
    for _ in range(args.rounds):
        for engine in engines:
            results[engine].append(run_tfrecord(engine, paths_file))
    digests = {r["digest"] for rs in results.values() for r in rs}
    pool = statistics.median(r["wall"] for r in results.get("pool", [{"wall": float("nan")}]))
    pool_cpu = statistics.median(r["cpu"] for r in results.get("pool", [{"cpu": float("nan")}]))
    rows = []
    for engine, rs in results.items():
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        peak = statistics.median(r["peak_mib"] for r in rs)
        rows.append([engine, f"{wall:.2f}", f"{wall - pool:+.2f}", f"{cpu:.2f}",
                     f"{(cpu - pool_cpu) / len(paths) * 1e3:+.3f}", f"{peak:.0f}"])
    print(f"TFRecord encoding of {len(paths)} generated JPEGs (4 shards), 2 workers, median of {args.rounds} fresh "
          f"processes; load average {os.getloadavg()[0]:.1f}; shards identical across engines: {len(digests) == 1}")
    print(table(rows, ["engine", "wall s", "vs pool s", "CPU s (tree)", "CPU vs pool ms/img", "driver peak MiB"]))


def run_engine(engine: str, shards_file: Path, runs: int) -> dict:
    code = CHILD.format(bench=str(Path(__file__).resolve().parent), engine=engine, shards=str(shards_file), runs=runs)
    paths = [str(REPO), str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths),  # the workers import the shard function
               RAY_USAGE_STATS_ENABLED="0")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env)
    if "__RESULT__" not in out.stdout:
        raise RuntimeError(f"{engine} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.rsplit("__RESULT__", 1)[1])


def _closure(names: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = re.split(r"[\s\[<>=!~;(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if not name or name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen.add(name)
        for req in dist.requires or []:
            if "extra ==" in req and not re.search(r'extra == "(distributed|default)"', req):
                continue
            todo.append(req)
    return seen


def install_mib(top: list[str]) -> tuple[float, int]:
    """Size on disk of `top` and the dependencies it adds to the package's own (MiB, count)."""
    ours = _closure([r for r in md.requires("picsellia_formats") or [] if "extra ==" not in r])
    extra = _closure(top) - ours
    size = 0
    for name in extra:
        for f in md.distribution(name).files or []:
            try:
                size += os.path.getsize(f.locate())
            except OSError:
                pass
    return size / 2**20, len(extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--shard", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="warm runs per engine start")
    parser.add_argument("--folder", type=Path, default=Path("/dev/shm/pf-bench-engines"))
    parser.add_argument("--engines", nargs="*", default=list(ENGINES))
    parser.add_argument("--job", choices=("headers", "tfrecord"), default="headers",
                        help="headers: the shard function above on each engine; tfrecord: write_tfrecords(engine=)")
    args = parser.parse_args()
    paths = make_images(args.folder, args.images)
    if args.job == "tfrecord":
        tfrecord_main(args, paths)
        return
    shards = [paths[i:i + args.shard] for i in range(0, len(paths), args.shard)]
    shards_file = args.folder / "shards.json"
    shards_file.write_text(json.dumps(shards))
    results: dict[str, list[dict]] = {e: [] for e in args.engines}
    for _ in range(args.rounds):
        for engine in args.engines:
            results[engine].append(run_engine(engine, shards_file, args.runs))
    digests = {r["digest"] for rs in results.values() for r in rs}
    rows = []
    for engine, rs in results.items():
        def med(key: str, rs: list[dict] = rs) -> float:
            return statistics.median(r[key] for r in rs)
        size = {"dask": install_mib(["dask[distributed]"]), "ray": install_mib(["ray"])}.get(engine, (0.0, 0))
        rows.append([engine, f"{med('startup'):.2f}", f"{med('first'):.2f}", f"{med('warm'):.2f}",
                     f"{med('cpu_per_run'):.2f}", f"{med('shutdown'):.2f}",
                     f"{size[0]:.0f} MiB / {size[1]} dists" if size[1] else "-"])
    print(f"{args.images} JPEGs in {len(shards)} shards of {args.shard}, 2 workers, median of {args.rounds} "
          f"starts ({args.runs} warm runs each); results identical across engines: {len(digests) == 1}")
    print(table(rows, ["engine", "start-up s", "first run s", "warm run s", "CPU s / run (all procs)",
                       "shut-down s", "install (beyond core)"]))


if __name__ == "__main__":
    main()
