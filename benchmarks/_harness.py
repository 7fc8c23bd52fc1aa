"""Benchmark plumbing: run a snippet in a fresh interpreter, time it, read its peak memory.

The child times its own work (interpreter start-up excluded, imports of the library included) and
prints the wall and CPU seconds (CPU time is the steadier figure on a busy machine); peak RSS is the
child's maximum resident set as the kernel reports it (`wait4`), so it includes the interpreter and
imported libraries on both sides of a comparison.

Example:
    >>> r = measure("x = list(range(10))")
    >>> r.seconds >= 0 and r.peak_mib > 0
    True
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PF_BENCH_DATA", "/tmp/pf-bench"))


@dataclass
class Result:
    name: str
    seconds: float
    peak_mib: float
    cpu_seconds: float = float("nan")


def measure(code: str, name: str = "", setup: str = "", env: dict[str, str] | None = None) -> Result:
    """Run `setup` then time `code` in a child interpreter; returns wall seconds of `code` and peak RSS."""
    script = (
        "import time as _t, sys as _s\n"
        + textwrap.dedent(setup)
        + "\n_t0 = _t.perf_counter(); _c0 = _t.process_time()\n"
        + textwrap.dedent(code)
        + "\n_s.stdout.write('\\n__SECONDS__=%r %r\\n' % (_t.perf_counter() - _t0, _t.process_time() - _c0))\n"
    )
    child_env = dict(os.environ, **(env or {}))
    child_env["PYTHONPATH"] = str(REPO) + os.pathsep + child_env.get("PYTHONPATH", "")
    proc = _Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=REPO, env=child_env, text=True)
    out, _ = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"benchmark {name!r} failed with exit code {proc.returncode}:\n{out[-2000:]}")
    seconds, cpu = map(float, out.rsplit("__SECONDS__=", 1)[1].split())
    usage = getattr(proc, "_pf_rusage", None)
    peak = usage.ru_maxrss / 1024.0 if usage is not None else float("nan")
    return Result(name, seconds, peak, cpu)


class _Popen(subprocess.Popen):
    """Popen that keeps the child's rusage from wait4 (Linux reports ru_maxrss in KiB)."""

    def _try_wait(self, wait_flags):  # type: ignore[override]
        try:
            pid, sts, ru = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            pid, sts, ru = self.pid, 0, None
        if pid == self.pid:
            self._pf_rusage = ru
        return pid, sts



def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain-text table with aligned columns."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
            for r in rows]
    return "\n".join([line, sep, *body])
