"""Every finding of a run written to a JSON-lines file as it is found (``validate --findings FILE.jsonl``).

A bounded `ValidationReport` holds the first examples of each code; this file gets all of them, one
``Finding.to_dict()`` object per line in the order found, so a million findings cost no memory. The file is
written beside its target and renamed at the end: a run that fails leaves no half-written file.

Example:
    >>> import tempfile, os
    >>> from picsellia_formats.validation.findings import Finding, ValidationReport
    >>> path = os.path.join(tempfile.mkdtemp(), "findings.jsonl")
    >>> with FindingsFile(path) as sink:
    ...     report = ValidationReport(keep=1, sink=sink)
    ...     for i in range(3):
    ...         report.add(Finding("area-mismatch", "info", f"area {i}", asset="a.jpg", object_index=i))
    >>> len(report.findings), sink.written, len(open(path).readlines())
    (1, 3, 3)
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..io_utils import atomic_file
from .findings import Finding

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


class FindingsFile:
    """A `FindingSink` writing JSON lines to `path` (atomically: the file appears when the block ends)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.written = 0
        self._stack: contextlib.ExitStack | None = None
        self._file: BinaryIO | None = None

    def __enter__(self) -> FindingsFile:
        stack = contextlib.ExitStack()
        self._file = stack.enter_context(atomic_file(self.path))
        self._stack = stack
        return self

    def __exit__(self, *exc: Any) -> None:
        stack, self._stack, self._file = self._stack, None, None
        if stack is not None:
            stack.__exit__(*exc)

    def write(self, finding: Finding) -> None:
        if self._file is None:
            raise RuntimeError("FindingsFile.write outside its with block")
        self._file.write(orjson.dumps(finding.to_dict(), option=_OPTIONS, default=str))
        self.written += 1
