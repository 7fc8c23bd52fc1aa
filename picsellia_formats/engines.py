"""Where per-image work runs: the local process pool (default) or a Dask distributed cluster.

Per-image work (validate's image checks, ...) is a pure function of a shard of assets plus read-only
options (`validation.imagefiles.probe_shard`); it is submitted to a `concurrent.futures.Executor`. The
local engine is a `ProcessPoolExecutor`; the ``dask`` engine is `distributed.Client.get_executor()`, the
same interface, so the same shard function runs unchanged on both and gives the same results.

``dask`` needs the ``dask`` extra (``pip install 'picsellia-formats[dask]'``); it is imported only here,
only when asked for. Without a scheduler address it starts a local cluster (processes, one thread each);
with one (``scheduler=`` / ``--scheduler``, else the ``PF_DASK_SCHEDULER`` environment variable) it
connects to that cluster, whose workers must see the image paths (see docs/scale.md).

Example:
    >>> with executor("local", workers=1) as ex:
    ...     ex.submit(sum, [1, 2]).result()
    3
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from .errors import OptionError

ENGINES = ("local", "dask")


@contextlib.contextmanager
def executor(engine: str | None = "local", workers: int | None = None,
             scheduler: str | None = None) -> Iterator[Executor]:
    """An executor for shards of per-image work on `engine`, shut down (cluster closed) on exit.

    `workers`: processes of the local pool, or of the local Dask cluster (None: one per CPU); ignored
    when `scheduler` names a running cluster. Raises OptionError for an unknown engine, or ``dask``
    without the extra installed.
    """
    engine = engine or "local"
    if engine not in ENGINES:
        raise OptionError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    n = workers if workers else (os.cpu_count() or 1)
    if engine == "local":
        pool = ProcessPoolExecutor(max_workers=n)
        try:
            yield pool
        finally:
            pool.shutdown()
        return
    with _dask_client(n, scheduler or os.environ.get("PF_DASK_SCHEDULER")) as client:
        yield client.get_executor()


@contextlib.contextmanager
def _dask_client(workers: int, address: str | None) -> Iterator[Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise OptionError("engine 'dask' needs Dask distributed: pip install 'picsellia-formats[dask]'") from None
    if address:
        with Client(address) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client
