"""`validate --stream`, `stats --stream` (and the in-memory ones, `--memory`) on a big COCO file: CPU, wall, peak.

Each job is the CLI in a fresh interpreter (`_harness.measure`: CPU seconds of the child, wall, peak RSS from
wait4), outputs under a temporary folder. The 1M file comes from `synth_coco_big.py` (~2.4 GB; never commit it):

    python benchmarks/synth_coco_big.py --out /tmp/pf-bench/synth_coco_1000000.json
    python benchmarks/bench_stream_ops.py /tmp/pf-bench/synth_coco_1000000.json
    python benchmarks/bench_stream_ops.py /tmp/pf-bench/synth_coco_100000_s0.json --memory --findings

Prints one table row per job, with the load average (the machine is shared: quote CPU seconds).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="a COCO instances file")
    parser.add_argument("--memory", action="store_true", help="also run the in-memory jobs (--no-stream)")
    parser.add_argument("--findings", action="store_true", help="also validate --stream with --findings FILE.jsonl")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pf-bench-ops-") as tmp:
        jobs = [("validate --stream", ["validate", str(args.src), "--stream", "-q", "--json", f"{tmp}/v.json"]),
                ("stats --stream", ["stats", str(args.src), "--stream", "-q", "--json", f"{tmp}/s.json"])]
        if args.findings:
            jobs.append(("validate --stream --findings", ["validate", str(args.src), "--stream", "-q",
                                                          "--findings", f"{tmp}/f.jsonl"]))
        if args.memory:
            jobs += [("validate --no-stream", ["validate", str(args.src), "--no-stream", "-q"]),
                     ("stats --no-stream", ["stats", str(args.src), "--no-stream", "-q", "--json", f"{tmp}/m.json"])]
        size = args.src.stat().st_size / 2**20
        print(f"{args.src.name} ({size:,.0f} MiB), load average {os.getloadavg()[0]:.1f} at start")
        print(f"{'job':<32} {'CPU s':>8} {'wall s':>8} {'peak MiB':>9}")
        for name, argv in jobs:
            code = ("from picsellia_formats.cli import main\n"
                    f"rc = main({argv!r})\n"
                    "assert rc in (0, 1), rc\n")
            r = measure(code, name)
            print(f"{name:<32} {r.cpu_seconds:>8.1f} {r.seconds:>8.1f} {r.peak_mib:>9,.0f}", flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
