"""The check of format options given to a reader or a writer (shared by `api` and `streaming.api`).

Example:
    >>> from picsellia_formats import formats
    >>> check_options("coco", formats.get("coco").write_options, {"segmentation": "rle"}, "write")
"""

from __future__ import annotations

from typing import Any

from . import formats
from .errors import OptionError


def check_options(fmt: str, allowed: tuple[formats.Option, ...], given: dict[str, Any], what: str) -> None:
    """OptionError for an option `fmt` does not take, or a value outside the option's choices."""
    by_name = {o.name: o for o in allowed}
    unknown = [k for k in given if k not in by_name]
    if unknown:
        raise OptionError(
            f"{fmt} {what} takes no option {', '.join(map(repr, unknown))}"
            + (f"; it takes {', '.join(sorted(by_name))}" if by_name else "")
        )
    for name, value in given.items():
        choices = by_name[name].choices
        if choices and value is not None and value not in choices:
            raise OptionError(f"{fmt} {what} option {name} must be one of {', '.join(choices)}, got {value!r}")
