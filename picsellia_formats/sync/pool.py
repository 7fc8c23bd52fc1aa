"""A bounded thread pool mapping one function over items, in order (uploads, downloads, loads).

Example:
    >>> pool_map(lambda x: x * 2, [1, 2, 3], workers=2)
    [2, 4, 6]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


def pool_map(fn: Callable[[_T], _R], items: Sequence[_T], workers: int, progress: Any = None) -> list[_R]:
    """`fn` over `items` on a bounded pool, results in order; the first error cancels the rest."""
    if workers <= 1 or len(items) <= 1:
        out = []
        for item in items:
            out.append(fn(item))
            if progress is not None:
                progress.update(1)
        return out
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pf-sync") as pool:
        futures = [pool.submit(fn, item) for item in items]
        try:
            results = []
            for fut in futures:
                results.append(fut.result())
                if progress is not None:
                    progress.update(1)
            return results
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
