"""Progress bars for long phases: tqdm on stderr, off when stderr is not a terminal or when quiet.

Example:
    >>> with bar(3, "reading", quiet=True) as b:
    ...     b.update(3)
    >>> list(track([1, 2], "items", quiet=True))
    [1, 2]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def enabled(quiet: bool = False) -> bool:
    """Whether bars are shown: not quiet, and stderr is a terminal."""
    return not quiet and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def bar(total: int | None, desc: str, quiet: bool = False, unit: str = "it") -> Any:
    """A tqdm bar for `total` items; a no-op when `quiet` or stderr is not a terminal."""
    return tqdm(total=total or None, desc=desc, unit=unit, file=sys.stderr, disable=not enabled(quiet), leave=False,
                dynamic_ncols=True)


def track(items: Iterable[T], desc: str, total: int | None = None, quiet: bool = False,
          unit: str = "it") -> Iterator[T]:
    """Iterate over `items` with a bar (see `bar`)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with bar(total, desc, quiet, unit) as b:
        for item in items:
            yield item
            b.update(1)
