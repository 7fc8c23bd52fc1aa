"""Where per-image work runs: the local process pool (default) or a Dask distributed cluster.

Per-image work (validate's image checks, TFRecord encoding, rasterising) is a pure function of a shard
of assets plus read-only options (`validation.imagefiles.probe_shard`); it is submitted to a
`concurrent.futures.Executor`. The local engine is a `ProcessPoolExecutor`; the ``dask`` engine is
`distributed.Client.get_executor()`, the same interface, so the same shard function runs unchanged on
both and gives the same results.
`map_shards` runs ``fn(shard, context)`` over a lazy sequence of shards, in order, with a bounded number
in flight, the read-only `context` sent once per worker (the TFRecord writer and rasterise use it).
The image transfers of push and pull use `executor` through `sync.transfers.Transfers` (one cluster per push
or pull, shards submitted as their batches come; the token stays in the driver).

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
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, TypeVar

from .errors import OptionError

ENGINES = ("local", "dask")
R = TypeVar("R")


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


def check_engine(engine: str | None) -> str:
    """`engine`, ``local`` for None; OptionError when it is not one of `ENGINES`."""
    engine = engine or "local"
    if engine not in ENGINES:
        raise OptionError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    return engine


#: the read-only context of the shard function in a pool worker, set once when the worker starts
#: (`_set_context`): sent once per worker, not once per shard (a process-local cache, never shared)
_CONTEXT: list[Any] = []


def _set_context(context: Any) -> None:
    _CONTEXT[:] = [context]


def _call_in_pool(fn: Callable[[Any, Any], Any], shard: Any) -> Any:
    return fn(shard, _CONTEXT[0])


def map_shards(fn: Callable[[Any, Any], R], shards: Iterable[Any], context: Any, *, engine: str | None = "local",
               workers: int | None = None, scheduler: str | None = None, window: int | None = None,
               mp_context: Any = None) -> Iterator[R]:
    """``fn(shard, context)`` for each shard, in the shards' order, on `engine`; at most `window` shards in
    flight (default 4 per worker), so memory stays bounded however many shards `shards` yields lazily.

    `fn` is the same function on every engine (module-level, picklable); `context` is its read-only
    second argument, sent once per worker: the pool's initializer, or Dask's ``scatter(broadcast=True)``.
    `workers` 0 runs in this process (local engine only); None: one per CPU. A shard's exception is raised
    here, at its turn; the engine is shut down when the iterator is closed or exhausted.

    Example:
        >>> list(map_shards(pow, [2, 3], 2, workers=0))
        [4, 9]
    """
    engine = check_engine(engine)
    if engine == "local" and workers == 0:
        for shard in shards:
            yield fn(shard, context)
        return
    n = workers if workers else (os.cpu_count() or 1)
    pending: deque[Any] = deque()
    if engine == "local":
        pool = ProcessPoolExecutor(max_workers=n, mp_context=mp_context, initializer=_set_context,
                                   initargs=(context,))
        try:
            limit = window or 4 * n
            for shard in shards:
                pending.append(pool.submit(_call_in_pool, fn, shard))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            pool.shutdown(cancel_futures=True)
        return
    with _dask_client(n, scheduler or os.environ.get("PF_DASK_SCHEDULER")) as client:
        limit = window or 4 * max(1, sum(client.nthreads().values()) or n)
        shared = client.scatter(context, broadcast=True, hash=False)
        try:
            for shard in shards:
                pending.append(client.submit(fn, shard, shared, pure=False))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:
                fut.cancel()
