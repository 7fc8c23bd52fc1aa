"""Progress bars for long phases: tqdm on stderr, off when stderr is not a terminal or when quiet.

Example:
    >>> with bar(3, "uploading", quiet=True) as b:
    ...     b.update(3)
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def bar(total: int, desc: str, quiet: bool = False, unit: str = "img") -> Any:
    """A tqdm bar for `total` items; disabled (a no-op) when `quiet` or stderr is not a tty."""
    disable = quiet or not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
    return tqdm(total=total or None, desc=desc, unit=unit, file=sys.stderr, disable=disable, leave=False,
                dynamic_ncols=True)
