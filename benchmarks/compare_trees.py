"""The same CLI conversions run from two source trees, interleaved: is a change within noise?

Each job is a whole `python -m picsellia_formats convert` process (start-up, read, write, exit), run
with ``PYTHONPATH`` pointing at one tree then the other, `--rounds` times, alternating. Wall and CPU
seconds (user + system, from `wait4`) and peak RSS are the medians over the rounds; the last columns
are the ratio of the second tree to the first (CPU is the steadier figure on a busy machine).

    python benchmarks/compare_trees.py BEFORE_TREE AFTER_TREE --images 100000 --rounds 3

A tree is a checkout of this repository (e.g. ``git worktree add /tmp/before <rev>``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DATA, table
from synth_coco import ensure

#: (job name, source kind, target format, extra arguments)
JOBS = (
    ("coco -> coco", "coco", "coco", ()),
    ("coco -> yolo", "coco", "yolo", ("--yolo-task", "detect")),
    ("coco -> voc", "coco", "voc", ()),
    ("yolo -> coco", "yolo", "coco", ()),
)


def run(tree: Path, args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one CLI process run from `tree`."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "picsellia_formats", *args], env=env, cwd=tree,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args)} failed in {tree} ({proc.returncode}):\n{err[-1500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    src = ensure(args.images, DATA)
    work = Path(tempfile.mkdtemp(prefix="pf-trees-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    try:
        yolo_src = work / "yolo-src"
        run(args.before, ["convert", str(src), str(yolo_src), "--to", "yolo", "--yolo-task", "detect", "-q"])
        sources = {"coco": src, "yolo": yolo_src}
        times: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
        for _ in range(args.rounds):
            for name, kind, target, extra in JOBS:
                for i, tree in enumerate((args.before, args.after)):
                    out = work / f"out-{i}"
                    times.setdefault((name, i), []).append(
                        run(tree, ["convert", str(sources[kind]), str(out), "--to", target, "--overwrite", "-q",
                                   *extra]))
                    if out.is_dir():
                        shutil.rmtree(out)
                    out.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = []
    for name, *_ in JOBS:
        med = [[statistics.median(v[k] for v in times[(name, i)]) for k in range(3)] for i in (0, 1)]
        rows.append([name, *(f"{med[0][k]:.2f}" for k in range(2)), f"{med[0][2]:.0f}",
                     *(f"{med[1][k]:.2f}" for k in range(2)), f"{med[1][2]:.0f}",
                     f"{med[1][0] / med[0][0]:.2f}", f"{med[1][1] / med[0][1]:.2f}"])
    print(f"{args.images:,} synthetic images, median of {args.rounds} interleaved rounds, load "
          f"{os.getloadavg()[0]:.1f}")
    print(table(rows, ["job", "before wall s", "before CPU s", "before MiB", "after wall s", "after CPU s",
                       "after MiB", "wall ratio", "CPU ratio"]))


if __name__ == "__main__":
    main()
