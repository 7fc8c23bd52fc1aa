"""Side outputs (images extracted while reading, say) that must not outlive a failed conversion.

`transaction` groups the outputs of one operation: a side output opened inside it with
`side_output_dir` is staged, and put in place only when the whole transaction succeeds; on a
failure its staging folder is removed and its target is untouched. Outside a transaction a side
output is committed as soon as its own block ends.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> try:
    ...     with transaction():
    ...         with side_output_dir(root / "extracted", "extracted images") as tmp:
    ...             _ = (tmp / "a.jpg").write_bytes(b"x")
    ...         raise ValueError("the conversion failed")
    ... except ValueError:
    ...     pass
    >>> list(root.iterdir())
    []
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .policy import output_dir


class _Transaction:
    def __init__(self, overwrite: bool) -> None:
        self.overwrite = overwrite
        self.pending: list[contextlib.AbstractContextManager[Any]] = []


_current: contextvars.ContextVar[_Transaction | None] = contextvars.ContextVar("pf_outputs", default=None)


class _Aborted(Exception):
    pass


def _abort(cm: contextlib.AbstractContextManager[Any], exc: BaseException) -> None:
    with contextlib.suppress(BaseException):
        cm.__exit__(type(exc), exc, exc.__traceback__)


@contextlib.contextmanager
def transaction(overwrite: bool = False) -> Iterator[None]:
    """Commit the side outputs opened inside only if the block succeeds (nested: joins the outer)."""
    if _current.get() is not None:
        yield
        return
    t = _Transaction(overwrite)
    token = _current.set(t)
    try:
        yield
    except BaseException as exc:
        for cm in t.pending:
            _abort(cm, exc)
        raise
    finally:
        _current.reset(token)
    for i, cm in enumerate(t.pending):
        try:
            cm.__exit__(None, None, None)
        except BaseException as exc:
            for rest in t.pending[i + 1:]:
                _abort(rest, _Aborted())
            raise exc


@contextlib.contextmanager
def side_output_dir(path: str | os.PathLike[str], kind: str) -> Iterator[Path]:
    """A folder output (policy of `output_dir`; ``overwrite`` from the transaction) committed with
    the transaction that encloses it, or at the end of the block outside one."""
    t = _current.get()
    cm = output_dir(path, kind, overwrite=t.overwrite if t is not None else False)
    stage = cm.__enter__()
    try:
        yield stage
    except BaseException as exc:
        _abort(cm, exc)
        raise
    if t is None:
        cm.__exit__(None, None, None)
    else:
        t.pending.append(cm)
