"""Issue 19 items 14 and 17: what reaches stderr is one line per problem or warning, naming its file.

- a Python warning (Pillow's EXIF complaints, numpy, a deprecation) used to print as the raw
  ``path:line: UserWarning: ...`` plus a source line; it is now ``warning: <text> (UserWarning)``, once;
- a full disk (an OSError without a file name) printed ``OSError: [Errno 28] ...`` naming nothing;
  it now names the output, which is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import logging
import warnings
from pathlib import Path

import pytest

from picsellia_formats import cli
from picsellia_formats.commands import convert, stats

ROOT = Path(__file__).resolve().parents[1]
COCO = ROOT / "fixtures/picsellia_coco_det/annotations.json"


def run(argv: list[str]) -> tuple[int, str]:
    """cli.main in-process; root logging handlers (pytest's) set aside, as in a user's shell."""
    root = logging.getLogger()
    held, root.handlers = root.handlers, []
    try:
        return _run(argv)
    finally:
        root.handlers = held


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    return code, err.getvalue()


def test_python_warnings_are_one_report_line_each_once(monkeypatch: pytest.MonkeyPatch) -> None:
    real = stats.run

    def noisy(args: object) -> int:
        for _ in range(3):
            warnings.warn("Possibly corrupt EXIF data.\n  Expecting 4 bytes", UserWarning, stacklevel=1)
        warnings.warn("old call", DeprecationWarning, stacklevel=1)
        return real(args)

    monkeypatch.setattr(stats, "run", noisy)
    code, err = run(["stats", str(COCO)])
    assert code == 0
    assert err.splitlines() == ["warning: Possibly corrupt EXIF data. Expecting 4 bytes (UserWarning)",
                                "warning: old call (DeprecationWarning)"]


def test_quiet_keeps_warnings_out(monkeypatch: pytest.MonkeyPatch) -> None:
    real = stats.run

    def noisy(args: object) -> int:
        warnings.warn("x", UserWarning, stacklevel=1)
        return real(args)

    monkeypatch.setattr(stats, "run", noisy)
    code, err = run(["stats", str(COCO), "--quiet"])
    assert code == 0 and err == ""


def test_a_full_disk_names_the_output_and_leaves_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.json"
    out.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    before = out.read_bytes()
    real = convert.run

    def full(args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(convert, "run", full)
    code, err = run(["convert", str(COCO), str(out), "--to", "coco", "--overwrite"])
    assert code == 2
    assert err.splitlines() == [f"error: {out}: No space left on device while writing the output; "
                                "it was left as it was"]
    assert out.read_bytes() == before
    assert real is not None
